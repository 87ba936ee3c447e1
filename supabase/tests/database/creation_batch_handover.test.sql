-- Between two creation batches, one call: the outcomes of the batch answered, the lease extended
-- and the next batch's intent (record_slot_outcomes_and_begin_next), fenced on the lease like
-- every worker write; and a run out of budget hands due jobs on (start_creation_worker_run).
-- Both are the service role's alone.
begin;
select plan(9);

select tests.create_supabase_user('bh_owner') as owner_id \gset
select tests.create_ad_account('bh_owner', 'act_91000901') as acct \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as job from public.create_campaign_creation_job(:'owner_id', :'acct', 'Handover', 2, 1, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :job;
select is((select id from public.claim_campaign_creation_job('w1', 5)), :job::bigint, 'the job is claimed by w1');
select tests.advance_job(:job, 'verifying', 'in_progress');

select id as c from public.entity_creation_slots where job_id = :job and entity_type = 'campaign' \gset
select id as s1 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 1 \gset
select id as a1 from public.entity_creation_slots where job_id = :job and entity_type = 'ad' and slot_number = 1 \gset
select id as s2 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 2 \gset
select id as a2 from public.entity_creation_slots where job_id = :job and entity_type = 'ad' and slot_number = 2 \gset
select public.begin_slot_creations(:job, 'w1', array[:c, :s1, :a1]::bigint[]);

select throws_ok(
  format($$ select public.record_slot_outcomes_and_begin_next(%s, 'w2',
    '[{"slot_id": %s, "status": "created", "facebook_id": "bh-c"}]', array[%s]::bigint[], 60) $$, :job, :c, :s2),
  'ADR02', format('campaign creation job %s is not leased by w2', :job),
  'only the claimant may record and begin');
select is(
  (select count(*)::int from public.entity_creation_slots where job_id = :job and status = 'pending'),
  2, 'a refused call writes nothing');

select results_eq(
  format($$ select id, status, facebook_id from public.record_slot_outcomes_and_begin_next(%s, 'w1',
    '[{"slot_id": %s, "status": "created", "facebook_id": "bh-c"},
      {"slot_id": %s, "status": "created", "facebook_id": "bh-s1"},
      {"slot_id": %s, "status": "created", "facebook_id": "bh-a1"}]',
    array[%s, %s]::bigint[], 600) order by id $$, :job, :c, :s1, :a1, :s2, :a2),
  format($$ select * from (values (%s::bigint, 'created'::text, 'bh-c'::text), (%s, 'created', 'bh-s1'),
    (%s, 'created', 'bh-a1'), (%s, 'creating', null), (%s, 'creating', null)) v order by 1 $$,
    :c, :s1, :a1, :s2, :a2),
  'the batch''s outcomes and the next batch''s intent, returned as written');
select results_eq(
  format($$ select ad_sets_created, ads_created, facebook_campaign_id from public.campaign_creation_jobs where id = %s $$, :job),
  $$ values (1, 1, 'bh-c'::text) $$,
  'the job''s counts follow the outcomes');
select ok(
  (select locked_until > now() + interval '500 seconds' from public.campaign_creation_jobs where id = :job),
  'the lease is extended by the call');
select ok(
  (select bool_and(creation_started_at is not null) from public.entity_creation_slots where id in (:s2, :a2)),
  'the intent is stamped with its start');

select ok(tests.service_role_only('public.record_slot_outcomes_and_begin_next(bigint, text, jsonb, bigint[], integer)'),
  'record_slot_outcomes_and_begin_next is the service role''s alone');
select ok(tests.service_role_only('public.start_creation_worker_run()'),
  'start_creation_worker_run is the service role''s alone');

select * from finish();
rollback;
