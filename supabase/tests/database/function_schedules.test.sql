-- pg_cron calls the worker every minute and the safety net weekly, over pg_net, with the URL and
-- secret from Vault. Plain Postgres has neither pg_net nor Vault: stand-ins with their signatures
-- are created inside this transaction, so the real schedule and the real call are exercised.
begin;
select plan(5);

select is(public.schedule_adrail_jobs(), '{}'::text[], 'without pg_net nothing is scheduled (and the migration still applied)');

create schema net;
create table net.calls (url text, body jsonb, headers jsonb);
create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
  headers jsonb default '{}', timeout_milliseconds integer default 5000) returns bigint
language sql as $$ insert into net.calls values (url, body, headers); select 1::bigint $$;
create schema vault;
create view vault.decrypted_secrets as
  select * from (values ('adrail_functions_url', 'https://ref.supabase.co/functions/v1'),
                        ('adrail_cron_secret', 'cron-secret')) s(name, decrypted_secret);

create function pg_temp.cron_command(job text) returns text language plpgsql as $$
declare
  found_command text;
begin
  if to_regclass('cron.job') is null then
    return null;
  end if;
  execute 'select command from cron.job where jobname = $1' into found_command using job;
  return found_command;
end;
$$;

select is(
  public.schedule_adrail_jobs(),
  case when to_regnamespace('cron') is null then '{}'::text[]
       else array['adrail-creation-worker', 'adrail-safety-net'] end,
  'with pg_cron and pg_net, the worker and the safety net are scheduled');
select is(
  pg_temp.cron_command('adrail-creation-worker'),
  case when to_regnamespace('cron') is null then null
       else $$ select private.call_function('campaign-create/worker') $$ end,
  'the worker job calls campaign-create/worker');

select private.call_function('safety-net');
select results_eq(
  $$ select url, body, headers ->> 'x-cron-secret' from net.calls $$,
  $$ values ('https://ref.supabase.co/functions/v1/safety-net'::text, '{}'::jsonb, 'cron-secret'::text) $$,
  'a call POSTs {} to the function with the cron secret from Vault');
select lives_ok(
  $$ select public.schedule_adrail_jobs() $$,
  'scheduling again is harmless (cron.schedule upserts by name)');

select * from finish();
rollback;
