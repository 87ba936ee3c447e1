-- The crash-loop cap of claim_campaign_creation_job. A worker that dies (or throws) before writing
-- anything leaves its lease to expire; the next claim takes the job again. Each claim counts one
-- more claim without progress (claims_without_progress); any fenced write of the claimant resets
-- it, a heartbeat does not. The claim that would hand a job out for the crash_claim_limit-th time
-- without progress (5 by default) hands it out no more: in the same call, through the state
-- machine, a creating job goes to rolling_back (policy auto) or awaiting_confirmation (policy
-- confirm), a job rolling back goes to rollback_blocked for an hour (never failed), with the
-- reason "worker crashed K times" (K = claims handed out without progress).
-- A worker "crashes" here by its lease running out: locked_until is set in the past. The claim is
-- not per account: every job this file did not create is parked (next_run_at = infinity), and
-- each scenario makes due only its own job.
begin;
select plan(39);

select tests.create_supabase_user('ccc_owner') as owner_id \gset
select tests.create_ad_account('ccc_owner', 'act_91000701') as acct \gset

update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';

select id as jp from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc P', 1, 1, '{}', 'h') \gset
select id as jc from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc C', 1, 1, '{}', 'h', null, 'confirm') \gset
select id as jg from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc G', 1, 1, '{}', 'h') \gset
select id as jr from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc R', 1, 1, '{}', 'h') \gset
select id as jo from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc O', 1, 1, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where id in (:jc, :jg, :jr, :jo);

select col_default_is('public', 'campaign_creation_jobs', 'crash_claim_limit', '5',
  'by default the 5th claim without progress is not handed out');

-- ---------------------------------------------------------------------------------------------
-- Workers claim P (policy auto, pending, default limit 5) and crash, four times.
-- ---------------------------------------------------------------------------------------------
create temp table ccc_claims (attempt int, job_id bigint, status text, claims_without_progress int) on commit drop;
insert into ccc_claims select 1, id, status, claims_without_progress from public.claim_campaign_creation_job('wp1');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jp;
insert into ccc_claims select 2, id, status, claims_without_progress from public.claim_campaign_creation_job('wp2');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jp;
insert into ccc_claims select 3, id, status, claims_without_progress from public.claim_campaign_creation_job('wp3');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jp;
insert into ccc_claims select 4, id, status, claims_without_progress from public.claim_campaign_creation_job('wp4');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jp;

select results_eq(
  $$ select attempt, job_id, status, claims_without_progress from ccc_claims order by attempt $$,
  format($$ values (1, %1$s::bigint, 'pending'::text, 1), (2, %1$s, 'pending', 2), (3, %1$s, 'pending', 3), (4, %1$s, 'pending', 4) $$, :jp),
  'claims 1 to 4 without progress (limit - 1) are still handed out, each counted');
select is_empty(
  $$ select * from public.claim_campaign_creation_job('wp5') $$,
  'the 5th claim without progress hands nothing out');
select results_eq(
  format($$ select status, last_error, rollback_triggered, rollback_reason, locked_by, locked_until,
                   claims_without_progress, claim_count, next_run_at = now(), completed_at
            from public.campaign_creation_jobs where id = %s $$, :jp),
  $$ values ('rolling_back'::text, 'worker crashed 4 times'::text, true, 'worker crashed 4 times'::text, null::text,
             null::timestamptz, 0, 4, true, null::timestamptz) $$,
  'instead the job starts its rollback (policy auto), pending -> rolling_back: reason in last_error and rollback_reason, lease cleared, count reset, due now');
select results_eq(
  format($$ select jsonb_array_length(error_history), error_history -> -1 ->> 'status', error_history -> -1 ->> 'error',
                   (error_history -> -1 ->> 'crashes')::int, (error_history -> -1 ->> 'at')::timestamptz = now()
            from public.campaign_creation_jobs where id = %s $$, :jp),
  $$ values (1, 'rolling_back'::text, 'worker crashed 4 times'::text, 4, true) $$,
  'the reason is in error_history too');
select results_eq(
  $$ select id, status, locked_by, claims_without_progress from public.claim_campaign_creation_job('wp6') $$,
  format($$ values (%s::bigint, 'rolling_back'::text, 'wp6'::text, 1) $$, :jp),
  'the next claim hands the rollback out, with a count of its own');
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'wp4', 'in_progress') $$, :jp),
  'ADR02', format('campaign creation job %s is not leased by wp4', :jp),
  'the last crashed worker, were it alive, cannot write (ADR02)');
update public.campaign_creation_jobs set next_run_at = 'infinity', locked_by = null, locked_until = null where id = :jp;

-- ---------------------------------------------------------------------------------------------
-- Workers claim C (policy confirm, in_progress, limit 2) and crash once.
-- ---------------------------------------------------------------------------------------------
select tests.advance_job(:jc, 'verifying', 'in_progress');
update public.campaign_creation_jobs set crash_claim_limit = 2, next_run_at = now() where id = :jc;
select results_eq(
  $$ select id, claims_without_progress from public.claim_campaign_creation_job('wc1') $$,
  format($$ values (%s::bigint, 1) $$, :jc),
  'with a limit of 2, the first claim is handed out');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jc;
select is_empty(
  $$ select * from public.claim_campaign_creation_job('wc2') $$,
  'the second claim without progress hands nothing out');
select results_eq(
  format($$ select status, last_error, rollback_triggered, rollback_reason, locked_by, claims_without_progress,
                   error_history -> -1 ->> 'status'
            from public.campaign_creation_jobs where id = %s $$, :jc),
  $$ values ('awaiting_confirmation'::text, 'worker crashed 1 time'::text, true, 'worker crashed 1 time'::text, null::text, 0,
             'awaiting_confirmation'::text) $$,
  'policy confirm: in_progress -> awaiting_confirmation, with the reason');
select is_empty(
  $$ select * from public.claim_campaign_creation_job('wc3') $$,
  'a job awaiting the decision is not claimed');
select results_eq(
  format($$ select job_id, reason from public.stuck_creation_jobs where job_id = %s $$, :jc),
  format($$ values (%s::bigint, 'waiting for a rollback decision'::text) $$, :jc),
  'a person sees it in stuck_creation_jobs');

-- A person confirms the rollback: the job is claimable again.
select public.decide_job_rollback(:jc, (select user_id from public.campaign_creation_jobs where id = :jc), true) is not null as decided \gset
select results_eq(
  $$ select id, status, claims_without_progress from public.claim_campaign_creation_job('wc4') $$,
  format($$ values (%s::bigint, 'rolling_back'::text, 1) $$, :jc),
  'after a person confirms, the rollback is handed out');
update public.campaign_creation_jobs set next_run_at = 'infinity', locked_by = null, locked_until = null where id = :jc;

-- ---------------------------------------------------------------------------------------------
-- Workers claim V (policy confirm, verifying, limit 2) and crash once. The move goes through the
-- state machine's trigger: without the transition in private.state_transitions, the claim fails.
-- ---------------------------------------------------------------------------------------------
select id as jv from public.create_campaign_creation_job(:'owner_id', :'acct', 'ccc V', 1, 1, '{}', 'h', null, 'confirm') \gset
select tests.advance_job(:jv, 'verifying');
update public.campaign_creation_jobs set crash_claim_limit = 2, next_run_at = now() where id = :jv;
select is((select claims_without_progress from public.claim_campaign_creation_job('wv1')), 1, 'V: claimed once');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jv;
delete from private.state_transitions
where machine = 'campaign_creation_job' and from_status = 'verifying' and to_status = 'awaiting_confirmation';
select throws_ok(
  $$ select * from public.claim_campaign_creation_job('wv2') $$,
  'ADR01', 'illegal campaign_creation_job transition: verifying -> awaiting_confirmation',
  'the crash cap''s move is checked by the state machine trigger like any other (ADR01 when not listed)');
insert into private.state_transitions (machine, from_status, to_status)
values ('campaign_creation_job', 'verifying', 'awaiting_confirmation');
select is_empty($$ select * from public.claim_campaign_creation_job('wv3') $$,
  'V: with the transition listed, the 2nd claim without progress hands nothing out');
select results_eq(
  format($$ select status, last_error, rollback_reason, claims_without_progress from public.campaign_creation_jobs where id = %s $$, :jv),
  $$ values ('awaiting_confirmation'::text, 'worker crashed 1 time'::text, 'worker crashed 1 time'::text, 0) $$,
  'V: verifying -> awaiting_confirmation (policy confirm)');

-- ---------------------------------------------------------------------------------------------
-- The claimant of G (in_progress, limit 3) records progress: each fenced step resets the count.
-- ---------------------------------------------------------------------------------------------
select tests.advance_job(:jg, 'verifying', 'in_progress');
update public.campaign_creation_jobs set crash_claim_limit = 3, next_run_at = now() where id = :jg;
select id as g_campaign from public.entity_creation_slots where job_id = :jg and entity_type = 'campaign' \gset
select id as g_ad_set from public.entity_creation_slots where job_id = :jg and entity_type = 'ad_set' \gset
create temp table ccc_progress (n int, step text, before_step int, after_step int) on commit drop;

select is((select claims_without_progress from public.claim_campaign_creation_job('wg1')), 1, 'G: claimed once');
select public.extend_campaign_creation_job_lease(:jg, 'wg1') is not null as extended \gset
select is((select claims_without_progress from public.campaign_creation_jobs where id = :jg), 1,
  'a heartbeat is not progress: the count is kept');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select is((select claims_without_progress from public.claim_campaign_creation_job('wg2')), 2, 'G: claimed twice without progress');

select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'wg2', 'pending') $$, :jg),
  'ADR01', 'illegal campaign_creation_job transition: in_progress -> pending',
  'a refused step (ADR01)...');
select is((select claims_without_progress from public.campaign_creation_jobs where id = :jg), 2,
  '...is no progress: the count is kept');
select throws_ok(
  format($$ select public.begin_slot_creations(%s, 'wg1', array[%s]::bigint[]) $$, :jg, :g_campaign),
  'ADR02', format('campaign creation job %s is not leased by wg1', :jg),
  'the crashed worker''s write is refused (ADR02)...');
select is((select claims_without_progress from public.campaign_creation_jobs where id = :jg), 2,
  '...and is no progress either');

-- Each step: claimed again (count > 0), then the claimant's step, then the count.
select count(*) as begun from public.begin_slot_creations(:jg, 'wg2', array[:g_campaign, :g_ad_set]::bigint[]) \gset
insert into ccc_progress select 1, 'begin_slot_creations', 2, claims_without_progress from public.campaign_creation_jobs where id = :jg;

update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select claims_without_progress as before_step from public.claim_campaign_creation_job('wg3') \gset
select public.record_slot_outcomes(:jg, 'wg3', format(
  '[{"slot_id": %s, "status": "created", "facebook_id": "ccc-fb-c"}, {"slot_id": %s, "status": "created", "facebook_id": "ccc-fb-as"}]',
  :g_campaign, :g_ad_set)::jsonb) is not null as done \gset
insert into ccc_progress select 2, 'record_slot_outcomes', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;

update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select claims_without_progress as before_step from public.claim_campaign_creation_job('wg4') \gset
select public.record_slot_verification(:jg, 'wg4', array[:g_campaign, :g_ad_set]::bigint[], '{}') is not null as done \gset
insert into ccc_progress select 3, 'record_slot_verification', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;

update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select claims_without_progress as before_step from public.claim_campaign_creation_job('wg5') \gset
select public.consume_campaign_creation_job_retry(:jg, 'wg5', 'transient') is not null as done \gset
insert into ccc_progress select 4, 'consume_campaign_creation_job_retry', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;

update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select claims_without_progress as before_step from public.claim_campaign_creation_job('wg6') \gset
select public.release_campaign_creation_job(:jg, 'wg6', now()) is not null as done \gset
insert into ccc_progress select 5, 'release_campaign_creation_job', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;

select claims_without_progress as before_step from public.claim_campaign_creation_job('wg7') \gset
select public.transition_campaign_creation_job(:jg, 'wg7', 'rolling_back', 'Meta refused: test') is not null as done \gset
insert into ccc_progress select 6, 'transition_campaign_creation_job', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;

update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select claims_without_progress as before_step from public.claim_campaign_creation_job('wg8') \gset
select public.mark_slots_rolled_back(:jg, 'wg8', array[:g_ad_set]::bigint[]) is not null as done \gset
insert into ccc_progress select 7, 'mark_slots_rolled_back', :before_step, claims_without_progress from public.campaign_creation_jobs where id = :jg;
select results_eq(
  $$ select n, step, before_step, after_step from ccc_progress order by n $$,
  $$ values (1, 'begin_slot_creations'::text, 2, 0), (2, 'record_slot_outcomes', 1, 0), (3, 'record_slot_verification', 1, 0),
            (4, 'consume_campaign_creation_job_retry', 1, 0), (5, 'release_campaign_creation_job', 1, 0),
            (6, 'transition_campaign_creation_job', 1, 0), (7, 'mark_slots_rolled_back', 1, 0) $$,
  'every fenced step of the claimant (slot outcomes, verification, retry, release, transition, rollback step) resets the count');

-- Progress restarts the count: with limit 3, two more crashes are allowed after it.
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select is((select claims_without_progress from public.claim_campaign_creation_job('wg9')), 1,
  'after progress, the next claim counts 1');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select is((select claims_without_progress from public.claim_campaign_creation_job('wg10')), 2,
  'and the one after 2 (limit - 1): still handed out');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jg;
select is_empty($$ select * from public.claim_campaign_creation_job('wg11') $$,
  'the 3rd claim since the last progress is not handed out');
select results_eq(
  format($$ select status, last_error, rollback_reason, next_run_at = now() + interval '1 hour', claims_without_progress
            from public.campaign_creation_jobs where id = %s $$, :jg),
  $$ values ('rollback_blocked'::text, 'worker crashed 2 times'::text, 'Meta refused: test'::text, true, 0) $$,
  'G was rolling back: rollback_blocked for an hour, with the reason; the rollback''s own reason kept');
update public.campaign_creation_jobs set next_run_at = 'infinity' where id = :jg;

-- ---------------------------------------------------------------------------------------------
-- Workers crash while R (limit 3) rolls back with a live object: never failed.
-- ---------------------------------------------------------------------------------------------
select tests.advance_job(:jr, 'verifying', 'in_progress', 'rolling_back');
select id as r_campaign from public.entity_creation_slots where job_id = :jr and entity_type = 'campaign' \gset
update public.entity_creation_slots set facebook_id = 'ccc-fb-r' where id = :r_campaign;
select tests.advance_slot(:r_campaign, 'creating', 'created');
update public.campaign_creation_jobs
set crash_claim_limit = 3, next_run_at = now() - interval '2 minutes', rollback_reason = 'Meta refused: budget',
    rollback_triggered = true
where id = :jr;

select is((select claims_without_progress from public.claim_campaign_creation_job('wr1')), 1, 'R: claimed once');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jr;
select is((select claims_without_progress from public.claim_campaign_creation_job('wr2')), 2, 'R: claimed twice');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jr;
select is_empty($$ select * from public.claim_campaign_creation_job('wr3') $$,
  'R: the 3rd claim without progress hands nothing out');
select results_eq(
  format($$ select status, last_error, rollback_reason, next_run_at = now() + interval '1 hour', locked_by, completed_at,
                   error_history -> -1 ->> 'status'
            from public.campaign_creation_jobs where id = %s $$, :jr),
  $$ values ('rollback_blocked'::text, 'worker crashed 2 times'::text, 'Meta refused: budget'::text, true, null::text,
             null::timestamptz, 'rollback_blocked'::text) $$,
  'a job crashing while rolling back ends rollback_blocked, next attempt in an hour, not failed');
select results_eq(
  format($$ select s.reason, l.live_entities, l.live_entity_ids
            from public.stuck_creation_jobs s join public.creation_jobs_with_live_entities l using (job_id)
            where s.job_id = %s $$, :jr),
  $$ values ('rollback blocked: worker crashed 2 times'::text, 1::bigint, array['ccc-fb-r']) $$,
  'a person sees it, with what it still owns on Meta');
select is_empty($$ select * from public.claim_campaign_creation_job('wr4') $$,
  'the blocked rollback is not claimed before its hour is over');

-- An hour later it is claimed again, crashes again: blocked again, never failed. Meanwhile O is due
-- too, just after R: the claim that stops R hands O out instead.
update public.campaign_creation_jobs set next_run_at = now() - interval '2 minutes' where id = :jr;
select results_eq(
  $$ select id, status, claims_without_progress from public.claim_campaign_creation_job('wr5') $$,
  format($$ values (%s::bigint, 'rollback_blocked'::text, 1) $$, :jr),
  'R: claimed again once due, in rollback_blocked');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jr;
select is((select claims_without_progress from public.claim_campaign_creation_job('wr6')), 2, 'R: and again');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jr;
update public.campaign_creation_jobs set next_run_at = now() - interval '1 minute' where id = :jo;
select results_eq(
  $$ select id, status, locked_by from public.claim_campaign_creation_job('wr7') $$,
  format($$ values (%s::bigint, 'pending'::text, 'wr7'::text) $$, :jo),
  'the claim that stops R hands out the next due job, O');
select results_eq(
  format($$ select status, next_run_at = now() + interval '1 hour', jsonb_path_query_array(error_history, '$[*].status'),
                   rollback_reason
            from public.campaign_creation_jobs where id = %s $$, :jr),
  $$ values ('rollback_blocked'::text, true, '["rollback_blocked", "rollback_blocked"]'::jsonb, 'Meta refused: budget'::text) $$,
  'R: rollback_blocked -> rollback_blocked, another hour, both crash loops in its history');

select * from finish();
rollback;
