-- A dry run creates nothing, ever: it never goes in_progress, none of its slots goes creating (the
-- intent committed before every creation batch), its dry_run never changes, and a verify request
-- leaves it as it is. And a verify request on a real completed job renews its retry budget.
begin;
select plan(12);

select tests.create_supabase_user('dr_owner') as owner_id \gset
select tests.create_ad_account('dr_owner', 'act_91001301') as acct \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as dry from public.create_campaign_creation_job(:'owner_id', :'acct', 'Dry', 2, 1, '{}', 'h', null, 'auto', 5, true) \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :dry;
select is((select id from public.claim_campaign_creation_job('w1')), :dry::bigint, 'the dry run is claimed by w1');
select lives_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w1', 'verifying') $$, :dry),
  'a dry run is verified');

-- By the worker, or by anyone with SQL: the database refuses.
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w1', 'in_progress') $$, :dry),
  'ADR01', format('illegal campaign_creation_job transition: verifying -> in_progress (job %s is a dry run)', :dry),
  'a dry run never goes in_progress, where jobs create');
select throws_ok(
  format($$ select public.begin_slot_creations(%s, 'w1', array(select id from public.entity_creation_slots where job_id = %s)) $$, :dry, :dry),
  'ADR01', format('illegal entity_creation_slot transition: pending -> creating (job %s is a dry run)', :dry),
  'no slot of a dry run takes the intent to create, which every creation batch needs first');
select throws_ok(
  format($$ update public.campaign_creation_jobs set dry_run = false where id = %s $$, :dry),
  'ADR01', format('illegal campaign_creation_job change: dry_run stays what the launch asked for (job %s)', :dry),
  'a dry run cannot be turned into a launch');
select lives_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w1', 'completed') $$, :dry),
  'a dry run completes after its verification');

select results_eq(
  format($$ select status, completed_at is not null, retry_count from public.request_job_verification(%s, %L) $$, :dry, (select user_id::text from public.campaign_creation_jobs where id = :dry)),
  $$ values ('completed'::text, true, 0) $$,
  'verify leaves a completed dry run as it is');
select throws_ok(
  format($$ update public.campaign_creation_jobs set status = 'in_progress' where id = %s $$, :dry),
  'ADR01', format('illegal campaign_creation_job transition: completed -> in_progress (job %s is a dry run)', :dry),
  'nor can it be reopened by hand');
select throws_ok(
  format($$ update public.entity_creation_slots set status = 'creating' where job_id = %s $$, :dry),
  'ADR01', format('illegal entity_creation_slot transition: pending -> creating (job %s is a dry run)', :dry),
  'nor its slots');
select results_eq(
  format($$ select status, count(*)::int from public.entity_creation_slots where job_id = %s group by status $$, :dry),
  $$ values ('pending'::text, 5) $$,
  'every slot of the dry run is still pending: nothing was ever about to be created');

-- A dry run may still roll back (the crash-loop cap sends a job that never got past verifying
-- there): a rollback only deletes, and finds nothing to delete.
select id as dry2 from public.create_campaign_creation_job(:'owner_id', :'acct', 'Dry 2', 1, 1, '{}', 'h', null, 'auto', 5, true) \gset
select lives_ok(format($$ select tests.advance_job(%s, 'verifying', 'rolling_back', 'rolled_back') $$, :dry2),
  'a dry run may roll back');

-- A real job reopened by verify gets its retry budget back: the repair is not rolled back (the
-- live campaign deleted) for the retries its launch spent.
select id as done from public.create_campaign_creation_job(:'owner_id', :'acct', 'Done', 1, 1, '{}', 'h', null, 'auto', 3) \gset
select tests.advance_job(:done, 'verifying', 'in_progress', 'completed');
update public.campaign_creation_jobs set retry_count = 3 where id = :done;
select results_eq(
  format($$ select status, retry_count, retry_budget from public.request_job_verification(%s, %L) $$, :done, (select user_id::text from public.campaign_creation_jobs where id = :done)),
  $$ values ('in_progress'::text, 0, 3) $$,
  'verify reopens a completed job with its retry budget renewed');

select * from finish();
rollback;
