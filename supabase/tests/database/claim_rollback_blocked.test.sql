-- rollback_blocked is claimable once due, like rolling_back: claim_campaign_creation_job,
-- next_creation_job_due_at, recover_stalled_creation_jobs and the partial index
-- campaign_creation_jobs_claimable_idx all use the same five statuses, and the account throttle
-- (rate_limited_until) holds for it too.
-- The claim is not per account: every job this file did not create is parked (next_run_at =
-- infinity) inside this transaction, which is rolled back at the end.
begin;
select plan(14);

select tests.create_supabase_user('crb_owner') as owner_id \gset
select tests.create_ad_account('crb_owner', 'act_91000601') as acct \gset

update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';

-- ---------------------------------------------------------------------------------------------
-- The table: a job can be stored in rollback_blocked (the status check knows it).
-- ---------------------------------------------------------------------------------------------
create temp table crb_job (status text, path text[], job_id bigint) on commit drop;
insert into crb_job (status, path) values
  ('pending', '{}'), ('verifying', '{verifying}'), ('in_progress', '{verifying,in_progress}'),
  ('awaiting_confirmation', '{verifying,in_progress,awaiting_confirmation}'),
  ('rolling_back', '{verifying,in_progress,rolling_back}'),
  ('rollback_blocked', '{verifying,in_progress,rolling_back,rollback_blocked}'),
  ('completed', '{verifying,in_progress,completed}'), ('failed', '{failed}'),
  ('rolled_back', '{verifying,in_progress,rolling_back,rolled_back}');
update crb_job c
set job_id = (public.create_campaign_creation_job(:'owner_id', :'acct', 'crb ' || c.status, 1, 0, '{}', 'h')).id;
select lives_ok(
  $$ select tests.advance_job(c.job_id, variadic c.path) from crb_job c where c.path <> '{}' $$,
  'a job is moved to each of the 9 statuses, rollback_blocked included (the status check allows it)');
update public.campaign_creation_jobs j set next_run_at = now() - interval '1 minute'
from crb_job c where c.job_id = j.id;

-- ---------------------------------------------------------------------------------------------
-- A worker claims: every due job once, then nothing.
-- ---------------------------------------------------------------------------------------------
create temp table crb_claimed (status text) on commit drop;
do $$
declare
  claimed public.campaign_creation_jobs;
begin
  for i in 1..20 loop
    select * into claimed from public.claim_campaign_creation_job('crb-w' || i);
    exit when not found;
    insert into crb_claimed values (claimed.status);
  end loop;
end;
$$;
select set_eq(
  $$ select status from crb_claimed $$,
  $$ values ('pending'), ('verifying'), ('in_progress'), ('rolling_back'), ('rollback_blocked') $$,
  'the claim hands out exactly the due jobs in pending, verifying, in_progress, rolling_back and rollback_blocked');
select is((select count(*)::int from crb_claimed), 5, 'each of them once');
select results_eq(
  $$ select j.locked_by like 'crb-w%', j.claims_without_progress from public.campaign_creation_jobs j
     join crb_job c on c.job_id = j.id where c.status = 'rollback_blocked' $$,
  $$ values (true, 1) $$,
  'the rollback_blocked job is leased like any other claim');

-- ---------------------------------------------------------------------------------------------
-- A blocked rollback waits for its next_run_at and for the account's throttle.
-- ---------------------------------------------------------------------------------------------
select job_id as blocked from crb_job where status = 'rollback_blocked' \gset
update public.campaign_creation_jobs set next_run_at = 'infinity', locked_by = null, locked_until = null
where id in (select job_id from crb_job);
update public.campaign_creation_jobs set next_run_at = now() + interval '10 minutes' where id = :blocked;

select is(public.next_creation_job_due_at(), now() + interval '10 minutes',
  'next_creation_job_due_at: a blocked rollback released for 10 minutes is the next job due');
select is_empty($$ select * from public.claim_campaign_creation_job('crb-early') $$,
  'the blocked rollback is not claimed before its next_run_at');

update public.campaign_creation_jobs set next_run_at = now() - interval '1 second' where id = :blocked;
select public.record_ad_account_rate_limit(:'acct', now() + interval '30 minutes') as throttled_until \gset
select is(public.next_creation_job_due_at(), now() + interval '30 minutes',
  'next_creation_job_due_at: a due blocked rollback of a throttled account waits for the throttle');
select is_empty($$ select * from public.claim_campaign_creation_job('crb-throttled') $$,
  'a due blocked rollback of a rate-limited account is not claimed');

update public.ad_accounts set rate_limited_until = now() - interval '1 second' where id = :'acct';
select results_eq(
  $$ select id, status, locked_by from public.claim_campaign_creation_job('crb-due') $$,
  format($$ values (%s::bigint, 'rollback_blocked'::text, 'crb-due'::text) $$, :blocked),
  'once due and the throttle over, the blocked rollback is claimed');
select is_empty($$ select * from public.claim_campaign_creation_job('crb-again') $$,
  'a leased blocked rollback is not claimed twice');

-- ---------------------------------------------------------------------------------------------
-- The safety net: recover_stalled_creation_jobs frees a blocked rollback whose worker died.
-- ---------------------------------------------------------------------------------------------
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :blocked;
select is(public.recover_stalled_creation_jobs() >= 1, true,
  'recover_stalled_creation_jobs counts the blocked rollback whose lease expired');
select results_eq(
  format($$ select status, locked_by, locked_until from public.campaign_creation_jobs where id = %s $$, :blocked),
  $$ values ('rollback_blocked'::text, null::text, null::timestamptz) $$,
  'its lease is freed, its status kept');

-- ---------------------------------------------------------------------------------------------
-- The index serves the claim: same status list.
-- ---------------------------------------------------------------------------------------------
select is(
  (select pg_get_expr(i.indpred, i.indrelid) from pg_index i
   where i.indexrelid = 'public.campaign_creation_jobs_claimable_idx'::regclass),
  $$(status = ANY (ARRAY['pending'::text, 'verifying'::text, 'in_progress'::text, 'rolling_back'::text, 'rollback_blocked'::text]))$$,
  'campaign_creation_jobs_claimable_idx covers the five claimable statuses');
select is(
  (select count(*)::int from crb_job c join public.campaign_creation_jobs j on j.id = c.job_id where j.status <> c.status),
  0, 'no claim changed a job''s status');

select * from finish();
rollback;
