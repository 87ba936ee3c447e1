-- pg_cron calls the worker every minute, the safety net weekly, the due syncs and the webhook
-- deliverer every minute, over pg_net, with the URL and secret from Vault, and the housekeeping daily. Plain Postgres has neither pg_net nor Vault: the local bootstrap's stand-ins
-- (dev/supabase-bootstrap.sql) have their interface, so the real schedule and the real call are
-- exercised. Everything here is rolled back: a queued request is never sent.
begin;
select plan(6);

-- Where pg_net is not enabled (its schema hidden for the length of this transaction).
alter schema net rename to net_hidden;
select is(public.schedule_adrail_jobs(), '{}'::text[], 'without pg_net nothing is scheduled (and the migration still applied)');
alter schema net_hidden rename to net;

-- The URL and the secret as the operator stores them (README), in place of any already stored.
do $$
begin
  delete from vault.secrets where name in ('adrail_functions_url', 'adrail_cron_secret');
  perform vault.create_secret('https://ref.supabase.co/functions/v1', 'adrail_functions_url');
  perform vault.create_secret('cron-secret', 'adrail_cron_secret');
end;
$$;

select is(
  public.schedule_adrail_jobs(),
  case when to_regnamespace('cron') is null then '{}'::text[]
       else array['adrail-creation-worker', 'adrail-safety-net', 'adrail-ads-sync',
                  'adrail-webhook-deliverer', 'adrail-housekeeping'] end,
  'with pg_cron and pg_net, the worker, the safety net, the syncs and the deliverer are scheduled');
select is(
  tests.cron_command('adrail-creation-worker'),
  case when to_regnamespace('cron') is null then null
       else $$ select private.call_function('creation-worker') $$ end,
  'the worker job calls the creation-worker function');
select is(
  tests.cron_command('adrail-ads-sync'),
  case when to_regnamespace('cron') is null then null
       else $$ select private.start_due_ads_syncs() $$ end,
  'the sync job starts the due accounts'' syncs (they call facebook-ads-sync)');

select private.call_function('safety-net') as request_id \gset
select results_eq(
  'select method, url, convert_from(body, ''UTF8'')::jsonb, headers ->> ''x-cron-secret''
   from net.http_request_queue where id = ' || :'request_id',
  $$ values ('POST'::text, 'https://ref.supabase.co/functions/v1/safety-net'::text, '{}'::jsonb, 'cron-secret'::text) $$,
  'a call POSTs {} to the function with the cron secret from Vault');
select lives_ok(
  $$ select public.schedule_adrail_jobs() $$,
  'scheduling again is harmless (cron.schedule upserts by name)');

select * from finish();
rollback;
