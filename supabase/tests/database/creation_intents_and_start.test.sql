-- A claimed job starts in one call (start_campaign_creation_job: pending -> verifying ->
-- in_progress, or completed for a dry run), and an intent committed for a batch that was never
-- sent is withdrawn (withdraw_slot_creations: first tries only, back to pending). Both are fenced
-- on the lease like every worker write, and are the service role's alone.
begin;
select plan(12);

select tests.create_supabase_user('ci_owner') as owner_id \gset
select tests.create_ad_account('ci_owner', 'act_91000951') as acct \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as job from public.create_campaign_creation_job(:'owner_id', :'acct', 'Intents', 2, 1, '{}', 'i') \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :job;
select is((select id from public.claim_campaign_creation_job('w1', 60)), :job::bigint, 'the job is claimed by w1');

-- Starting.
select throws_ok(
  format($$ select public.start_campaign_creation_job(%s, 'w2') $$, :job),
  'ADR02', format('campaign creation job %s is not leased by w2', :job),
  'only the claimant may start the job');
select is((select status from public.start_campaign_creation_job(:job, 'w1')), 'in_progress',
  'a pending job starts: in_progress');
select ok(
  (select started_at is not null from public.campaign_creation_jobs where id = :job),
  'its start is stamped (on the way through verifying)');
select is((select status from public.start_campaign_creation_job(:job, 'w1')), 'in_progress',
  'a started job is returned as it is');

select id as dry from public.create_campaign_creation_job(:'owner_id', :'acct', 'Dry', 1, 1, '{}', 'd',
  null, 'auto', 5, true) \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :dry;
select is((select id from public.claim_campaign_creation_job('w3', 60)), :dry::bigint, 'the dry run is claimed by w3');
select is((select status from public.start_campaign_creation_job(:dry, 'w3')), 'completed',
  'a dry run completes on start: its verification ran before the job existed');

-- Withdrawing.
select id as s1 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 1 \gset
select id as a1 from public.entity_creation_slots where job_id = :job and entity_type = 'ad' and slot_number = 1 \gset
select id as s2 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 2 \gset
select public.begin_slot_creations(:job, 'w1', array[:s1, :a1]::bigint[]);
select public.record_slot_outcomes(:job, 'w1', format('[{"slot_id": %s, "status": "failed", "error": "e"}]', :s1)::jsonb);
select public.begin_slot_creations(:job, 'w1', array[:s1, :s2]::bigint[]);

select throws_ok(
  format($$ select public.withdraw_slot_creations(%s, 'w2', array[%s]::bigint[]) $$, :job, :s2),
  'ADR02', format('campaign creation job %s is not leased by w2', :job),
  'only the claimant may withdraw an intent');
select results_eq(
  format($$ select id from public.withdraw_slot_creations(%s, 'w1', array[%s, %s, %s]::bigint[]) order by id $$,
    :job, :s1, :a1, :s2),
  format($$ select * from (values (%s::bigint), (%s)) v order by 1 $$, :a1, :s2),
  'first tries are withdrawn; a retried slot (ad set 1) stays in doubt');
select results_eq(
  format($$ select id, status, creation_started_at is null from public.entity_creation_slots
    where id in (%s, %s, %s) order by id $$, :s1, :a1, :s2),
  format($$ select * from (values (%s::bigint, 'creating'::text, false), (%s, 'pending', true),
    (%s, 'pending', true)) v order by 1 $$, :s1, :a1, :s2),
  'withdrawn slots are pending again, as if never begun');

select ok(tests.service_role_only('public.withdraw_slot_creations(bigint, text, bigint[])'),
  'withdraw_slot_creations is the service role''s alone');
select ok(tests.service_role_only('public.start_campaign_creation_job(bigint, text)'),
  'start_campaign_creation_job is the service role''s alone');

select * from finish();
rollback;
