-- The rate-limit dashboard: account_rate_limits's columns, one row per account with its last Meta
-- usage, rate limit, outage breaker and waiting jobs; security_invoker, so a member sees only their
-- accounts (and anon nothing); record_meta_usage is the service role's alone and keeps the last
-- reading of a header an answer lacked.
begin;
select plan(19);

select has_view('public', 'account_rate_limits', 'the rate-limit dashboard view exists');
select columns_are('public', 'account_rate_limits', array[
  'ad_account_id', 'platform', 'platform_account_id', 'app_usage_pct', 'account_usage_pct',
  'business_usage_pct', 'usage_recorded_at', 'rate_limited_until', 'rate_limited',
  'circuit_breaker', 'meta_outage_failures', 'meta_outage_until', 'jobs_due_later',
  'jobs_rollback_blocked', 'jobs_due_now'
], 'account_rate_limits has the dashboard columns');
select ok(
  (select 'security_invoker=on' = any (c.reloptions) from pg_class c
   where c.oid = 'public.account_rate_limits'::regclass),
  'account_rate_limits is security_invoker');

select tests.create_supabase_user('rl_owner') as owner_id \gset
select tests.create_supabase_user('rl_stranger') as stranger_id \gset
select tests.create_ad_account('rl_owner', 'act_91000701') as acct \gset
select tests.create_ad_account('rl_stranger', 'act_91000702') as other \gset

-- The owner's account: rate limited for 2 more minutes, breaker open, usage recorded twice (the
-- second answer without X-App-Usage keeps the first's figure); jobs: one due later, one
-- rollback_blocked, one due now, one completed (not waiting).
update public.ad_accounts
set rate_limited_until = now() + interval '2 minutes', meta_outage_failures = 3,
    meta_outage_until = now() + interval '20 seconds'
where id = :'acct';
select public.record_meta_usage(:'acct', 40, 55, 60);
select public.record_meta_usage(:'acct', null, 91, 97);
-- The stranger's account: breaker failures counted, its wait over.
update public.ad_accounts
set meta_outage_failures = 1, meta_outage_until = now() - interval '1 second'
where id = :'other';

select id as later from public.create_campaign_creation_job(:'owner_id', :'acct', 'rl later', 1, 1, '{}', 'h') \gset
select id as blocked from public.create_campaign_creation_job(:'owner_id', :'acct', 'rl blocked', 1, 1, '{}', 'h') \gset
select id as now_due from public.create_campaign_creation_job(:'owner_id', :'acct', 'rl due', 1, 1, '{}', 'h') \gset
select id as done from public.create_campaign_creation_job(:'owner_id', :'acct', 'rl done', 1, 0, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = now() + interval '5 minutes' where id = :later;
select tests.advance_job(:blocked, 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked');
update public.campaign_creation_jobs set next_run_at = now() + interval '1 hour' where id = :blocked;
update public.campaign_creation_jobs set next_run_at = now() - interval '1 second' where id = :now_due;
update public.campaign_creation_jobs set status = 'failed' where id = :done;

-- record_meta_usage: the service role's alone.
select function_privs_are('public', 'record_meta_usage', array['uuid', 'numeric', 'numeric', 'numeric'],
  'authenticated', '{}'::text[], 'authenticated cannot execute record_meta_usage');
select function_privs_are('public', 'record_meta_usage', array['uuid', 'numeric', 'numeric', 'numeric'],
  'anon', '{}'::text[], 'anon cannot execute record_meta_usage');
select function_privs_are('public', 'record_meta_usage', array['uuid', 'numeric', 'numeric', 'numeric'],
  'service_role', '{EXECUTE}'::text[], 'service_role can execute record_meta_usage');
select lives_ok(
  format($$ select public.record_meta_usage(%L, 1, 1, 1) $$, gen_random_uuid()),
  'recording for an account that is gone is a no-op');

select tests.authenticate_as('rl_owner');
select results_eq(
  $$ select platform_account_id from public.account_rate_limits order by 1 $$,
  $$ values ('act_91000701') $$,
  'the owner sees their account only');
select results_eq(
  $$ select app_usage_pct, account_usage_pct, business_usage_pct, usage_recorded_at is not null
     from public.account_rate_limits $$,
  $$ values (40::numeric, 91::numeric, 97::numeric, true) $$,
  'the last usage percentages, a header missing from the last answer keeping its figure');
select results_eq(
  $$ select rate_limited, rate_limited_until > now(), circuit_breaker, meta_outage_failures
     from public.account_rate_limits $$,
  $$ values (true, true, 'open', 3) $$,
  'rate limited, breaker open');
select results_eq(
  $$ select jobs_due_later, jobs_rollback_blocked, jobs_due_now from public.account_rate_limits $$,
  $$ values (2::bigint, 1::bigint, 1::bigint) $$,
  'jobs waiting: due later (the rollback_blocked one too), rollback_blocked, due now');
select throws_ok(
  $$ select public.record_meta_usage(gen_random_uuid(), 1, 1, 1) $$, '42501', null,
  'a member cannot record usage');
select throws_ok(
  $$ insert into public.ad_account_meta_usage (ad_account_id) values (gen_random_uuid()) $$,
  '42501', null, 'a member cannot write usage rows');
select is((select count(*)::int from public.ad_account_meta_usage), 1,
  'the usage table shows the owner their account''s row only');

select tests.authenticate_as('rl_stranger');
select results_eq(
  $$ select platform_account_id, circuit_breaker, rate_limited, app_usage_pct is null,
            jobs_due_later + jobs_rollback_blocked + jobs_due_now
     from public.account_rate_limits $$,
  $$ values ('act_91000702', 'half_open', false, true, 0::bigint) $$,
  'another member sees only their own account: breaker half open, nothing recorded, no jobs');
select is((select count(*)::int from public.ad_account_meta_usage), 0,
  'nor any other account''s usage');

select tests.authenticate_as_anon();
select is((select count(*)::int from public.account_rate_limits), 0, 'anon sees no account');

select tests.clear_authentication();
select is(
  (select count(*)::int from public.account_rate_limits where ad_account_id in (:'acct', :'other')),
  2, 'the service side sees both accounts');
select is(
  (select count(*)::int from public.account_rate_limits),
  (select count(*)::int from public.ad_accounts),
  'one row per account');

select * from finish();
rollback;
