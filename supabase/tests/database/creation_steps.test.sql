-- The creation worker's steps, fenced on the lease: intent (begin_slot_creations), outcomes
-- (record_slot_outcomes) with the job's counts derived from its slots, read-back
-- (record_slot_verification), rollback (mark_slots_rolled_back); and the user's side:
-- decide_job_rollback, request_job_verification.
begin;
select plan(21);

select tests.create_supabase_user('cs_owner') as owner_id \gset
select tests.create_ad_account('cs_owner', 'act_91000601') as acct \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as job from public.create_campaign_creation_job(:'owner_id', :'acct', 'Steps', 2, 1, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :job;
select is((select id from public.claim_campaign_creation_job('w1')), :job::bigint, 'the job is claimed by w1');
select tests.advance_job(:job, 'verifying', 'in_progress');

create temp table cs_slot on commit drop as
  select id, entity_type, slot_number from public.entity_creation_slots where job_id = :job;
grant select on cs_slot to public;
select id as c from cs_slot where entity_type = 'campaign' \gset
select id as s1 from cs_slot where entity_type = 'ad_set' and slot_number = 1 \gset
select id as s2 from cs_slot where entity_type = 'ad_set' and slot_number = 2 \gset
select id as a1 from cs_slot where entity_type = 'ad' and slot_number = 1 \gset
select id as a2 from cs_slot where entity_type = 'ad' and slot_number = 2 \gset

-- Intent before the call
select throws_ok(
  format($$ select public.begin_slot_creations(%s, 'w2', array[%s]) $$, :job, :c),
  'ADR02', format('campaign creation job %s is not leased by w2', :job),
  'only the claimant may write intent');
select is(
  (select count(*)::int from public.begin_slot_creations(:job, 'w1', array[:c, :s1, :a1]::bigint[])),
  3, 'pending slots go to creating');
select results_eq(
  format($$ select status, creation_started_at is not null, retry_count from public.entity_creation_slots where id in (%s, %s) order by id $$, :c, :s2),
  $$ values ('creating'::text, true, 0), ('pending', false, 0) $$,
  'creating is stamped with its start; other slots are untouched');

-- Outcomes
select results_eq(
  format($$ select ad_sets_created, ads_created, facebook_campaign_id from public.record_slot_outcomes(%s, 'w1',
    '[{"slot_id": %s, "status": "created", "facebook_id": "cs-c"},
      {"slot_id": %s, "status": "created", "facebook_id": "cs-s1"},
      {"slot_id": %s, "status": "creating", "error": "no answer"}]') $$, :job, :c, :s1, :a1),
  $$ values (1, 0, 'cs-c'::text) $$,
  'outcomes are written in one call and the job''s counts follow the slots');
select results_eq(
  format($$ select status, error_message from public.entity_creation_slots where id = %s $$, :a1),
  $$ values ('creating'::text, 'no answer'::text) $$,
  'an unknown outcome stays creating, with its reason');
select throws_ok(
  format($$ select public.record_slot_outcomes(%s, 'w1', '[{"slot_id": %s, "status": "created"}]') $$, :job, :a1),
  '23514', null, 'created without a Meta id is refused by the table');
select lives_ok(
  format($$ select public.record_slot_outcomes(%s, 'w1', '[{"slot_id": %s, "status": "failed", "error": "not on Meta"}]') $$, :job, :a1),
  'an unknown outcome resolved as absent becomes failed');
select is(
  (select count(*)::int from public.begin_slot_creations(:job, 'w1', array[:a1]::bigint[])),
  1, 'a failed slot is tried again');
select is((select retry_count from public.entity_creation_slots where id = :a1), 1, 'and its attempt is counted');
select lives_ok(
  format($$ select public.record_slot_outcomes(%s, 'w1', '[{"slot_id": %s, "status": "created", "facebook_id": "cs-a1"}]') $$, :job, :a1),
  'the retry succeeds');
select public.begin_slot_creations(:job, 'w1', array[:a2]::bigint[]);
select throws_ok(
  format($$ select public.record_slot_outcomes(%s, 'w1', '[{"slot_id": %s, "status": "created", "facebook_id": "cs-a1"}]') $$, :job, :a2),
  '23505', null, 'one Meta object can belong to one slot only');

-- Read-back
select results_eq(
  format($$ select ad_sets_created, ads_created from public.record_slot_verification(%s, 'w1', array[%s, %s]::bigint[], array[%s]::bigint[]) $$, :job, :c, :a1, :s1),
  $$ values (0, 1) $$,
  'a slot Meta does not have is no longer counted as created');
select results_eq(
  format($$ select status, silent_failures, facebook_id, verified_at is not null from public.entity_creation_slots where id in (%s, %s) order by id $$, :c, :s1),
  $$ values ('created'::text, 0, 'cs-c'::text, true), ('failed', 1, null, false) $$,
  'present slots are stamped verified; the missing one is a silent failure, failed again');

-- Rollback
select results_eq(
  format($$ select ad_sets_created, ads_created from public.mark_slots_rolled_back(%s, 'w1', array[%s, %s, %s, %s, %s]::bigint[]) $$, :job, :c, :s1, :s2, :a1, :a2),
  $$ values (0, 0) $$,
  'rolled-back slots count as nothing');
select is(
  (select array_agg(distinct status) from public.entity_creation_slots where job_id = :job),
  array['rolled_back'], 'every slot is rolled back');

-- The user's side
select throws_ok(
  format($$ select public.decide_job_rollback(%s, %L, true) $$, :job, :'owner_id'),
  'ADR01', 'illegal campaign_creation_job transition: in_progress -> rolling_back',
  'a rollback decision is only taken by a job waiting for one');
select public.transition_campaign_creation_job(:job, 'w1', 'awaiting_confirmation', 'refused');
select results_eq(
  format($$ select status, completed_at is not null, next_run_at <= now() from public.decide_job_rollback(%s, %L, false) $$, :job, :'owner_id'),
  $$ values ('failed'::text, true, true) $$,
  'declining ends the job as failed, the partial state kept');
select throws_ok(
  format($$ select public.decide_job_rollback(-1, %L, true) $$, :'owner_id'), 'ADR04', 'campaign creation job -1 not found', 'an unknown job is ADR04');

select id as done from public.create_campaign_creation_job(:'owner_id', :'acct', 'Done', 1, 1, '{}', 'h') \gset
select tests.advance_job(:done, 'verifying', 'in_progress', 'completed');
select results_eq(
  format($$ select status, completed_at, next_run_at <= now() from public.request_job_verification(%s, %L) $$, :done, :'owner_id'),
  $$ values ('in_progress'::text, null::timestamptz, true) $$,
  'verify: a completed job goes back to in_progress, due now');
select is(
  (public.request_job_verification(:job, :'owner_id')).status, 'failed', 'verify leaves a failed job as it is');

select * from finish();
rollback;
