-- Scheduled syncs: every account has a schedule (hourly by default, its minute a hash of its id),
-- pg_cron's dispatcher claims the due ones and calls facebook-ads-sync through pg_net with the
-- lease, and a sync, scheduled or a user's, holds its account alone until it finishes. Later
-- writes are fenced on the lease. Rolled back: no queued request is ever sent.
begin;
select plan(23);

select tests.create_supabase_user('sched_owner');
select tests.create_supabase_user('sched_stranger');
select public.set_ads_sync_interval(60);
select tests.create_ad_account('sched_owner', 'act_93000001') as acct \gset
select tests.create_ad_account('sched_owner', 'act_93000002') as acct2 \gset
-- Only this file's accounts are due here.
update public.ads_sync_schedules set next_run_at = null
where ad_account_id not in (:'acct', :'acct2');
do $$
begin
  delete from vault.secrets where name in ('adrail_functions_url', 'adrail_cron_secret');
  perform vault.create_secret('https://ref.supabase.co/functions/v1', 'adrail_functions_url');
  perform vault.create_secret('cron-secret', 'adrail_cron_secret');
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- The schedule: hourly by default, each account at its own minute.
-- ---------------------------------------------------------------------------------------------
select ok(
  (select next_run_at > now() and next_run_at <= now() + interval '60 minutes'
          and next_run_at = date_trunc('minute', next_run_at)
   from public.ads_sync_schedules where ad_account_id = :'acct'),
  'a connected account is scheduled within the hour, on a whole minute');
select is(
  private.ads_sync_slot_after(:'acct', 60, private.ads_sync_slot_after(:'acct', 60, now())),
  private.ads_sync_slot_after(:'acct', 60, now()) + interval '60 minutes',
  'its runs are an interval apart');
select cmp_ok(
  (select count(distinct extract(minute from private.ads_sync_slot_after(md5(i::text)::uuid, 60, now())))
   from generate_series(1, 200) i),
  '>=', 40::bigint,
  '200 accounts are spread over the hour, not all at minute 0');
select is(public.set_ads_sync_interval(1, :'acct'), 1, 'an account gets its own interval');
select is(
  (select next_run_at from public.ads_sync_schedules where ad_account_id = :'acct'),
  date_trunc('minute', now()) + interval '1 minute',
  'every minute: its next run is the next minute');
select public.set_ads_sync_interval(null);
select ok(
  (select next_run_at is null from public.ads_sync_schedules where ad_account_id = :'acct2')
  and (select next_run_at is not null from public.ads_sync_schedules where ad_account_id = :'acct'),
  'no default: only accounts with their own interval are scheduled');
select public.set_ads_sync_interval(60);
select throws_ok($$ select public.set_ads_sync_interval(0) $$,
  '22023', 'the sync interval must be between 1 and 10080 minutes, got 0',
  'an interval below a minute is refused');
select throws_ok(
  $$ select public.set_ads_sync_interval(5, '00000000-0000-0000-0000-000000000000') $$,
  'ADR04', 'ad account 00000000-0000-0000-0000-000000000000 not found',
  'an unknown account is refused');

-- ---------------------------------------------------------------------------------------------
-- pg_cron's dispatcher: due accounts are claimed and called, each once.
-- ---------------------------------------------------------------------------------------------
update public.ads_sync_schedules set next_run_at = now() - interval '1 minute'
where ad_account_id = :'acct';
select is(private.start_due_ads_syncs(), 1, 'the due account''s sync is started');
select results_eq(
  $$ select q.url, convert_from(q.body, 'UTF8')::jsonb, q.headers ->> 'x-cron-secret'
     from net.http_request_queue q order by q.id desc limit 1 $$,
  format($$ values ('https://ref.supabase.co/functions/v1/facebook-ads-sync'::text,
                    jsonb_build_object('adAccountId', 'act_93000001',
                                       'leaseId', (select lease_id from public.ads_sync_schedules where ad_account_id = %L)),
                    'cron-secret'::text) $$, :'acct'),
  'it POSTs the account and its lease to facebook-ads-sync with the cron secret');
select results_eq(
  format($$ select leased_by, next_run_at > now() from public.ads_sync_schedules where ad_account_id = %L $$, :'acct'),
  $$ values ('schedule'::text, true) $$,
  'the account is held by the schedule, its next run ahead');
select is(private.start_due_ads_syncs(), 0, 'nothing is due at once again');
update public.ads_sync_schedules set next_run_at = now() - interval '1 minute'
where ad_account_id = :'acct';
select is(private.start_due_ads_syncs(), 0, 'a due account still held waits: one sync at a time');

-- ---------------------------------------------------------------------------------------------
-- A user's sync meanwhile, and the fence on the lease.
-- ---------------------------------------------------------------------------------------------
select throws_ok(format($$ select public.claim_ads_sync(%L) $$, :'acct'),
  'ADR18', format('a sync of ad account %s is running', :'acct'),
  'a user''s sync of a held account is refused (ADR18)');
select throws_ok(
  $$ select public.extend_ads_sync_lease('00000000-0000-0000-0000-000000000001') $$,
  'ADR19', 'sync lease 00000000-0000-0000-0000-000000000001 is no longer held',
  'a lease nobody holds cannot be extended (ADR19)');
select lease_id as scheduled_lease from public.ads_sync_schedules where ad_account_id = :'acct' \gset
select is(public.extend_ads_sync_lease(:'scheduled_lease'), :'acct'::uuid,
  'the holder extends its lease and learns its account');
select public.finish_ads_sync(:'scheduled_lease', 'completed', '{"entities": {"ads": 2}}');
select results_eq(
  format($$ select lease_id, last_outcome, last_report from public.ads_sync_schedules where ad_account_id = %L $$, :'acct'),
  $$ values (null::uuid, 'completed'::text, '{"entities": {"ads": 2}}'::jsonb) $$,
  'finishing frees the account and keeps the outcome and report');
select public.claim_ads_sync(:'acct') as user_lease \gset
select public.finish_ads_sync(:'user_lease', 'failed', '{"error": "meta_unavailable", "message": "try later"}');
select is(
  (select last_error from public.ads_sync_schedules where ad_account_id = :'acct'), 'try later',
  'a failed sync keeps its error');

-- A killed sync's lease expires: the next sync takes the account, the old one is fenced out.
select public.claim_ads_sync(:'acct') as killed_lease \gset
update public.ads_sync_schedules set leased_until = now() - interval '1 second'
where ad_account_id = :'acct';
select public.claim_ads_sync(:'acct') as next_lease \gset
select throws_ok(
  format($$ select public.finish_ads_sync(%L, 'completed', '{}') $$, :'killed_lease'),
  'ADR19', format('sync lease %s is no longer held', :'killed_lease'),
  'the expired sync cannot finish over the one that took its place');
select is(
  (select lease_id from public.ads_sync_schedules where ad_account_id = :'acct'), :'next_lease'::uuid,
  'the account stays with the new sync');

-- ---------------------------------------------------------------------------------------------
-- Clients: members read their accounts' schedules, and nothing else.
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('sched_stranger');
select is((select count(*) from public.ads_sync_schedules), 0::bigint,
  'a stranger sees no schedule');
select tests.authenticate_as('sched_owner');
select is((select count(*) from public.ads_sync_schedules), 2::bigint,
  'the owner sees both of its accounts'' schedules');
select throws_ok(format($$ select public.claim_ads_sync(%L) $$, :'acct2'),
  '42501', 'permission denied for function claim_ads_sync',
  'a client cannot start a sync by hand');
select tests.clear_authentication();

select * from finish();
rollback;
