-- Campaign creation jobs: create_campaign_creation_job (job + every slot in one call,
-- deterministic unique names, idempotency key), the table constraints, and the lease:
-- claim_campaign_creation_job and the functions fenced on the claimant (extend, release,
-- transition, consume_retry).
-- claim_campaign_creation_job is not per account: every job this file did not create is parked
-- (next_run_at = infinity) inside this transaction, which is rolled back at the end.
begin;
select plan(65);

select tests.create_supabase_user('ccj_owner') as owner_id \gset
select tests.create_supabase_user('ccj_launcher') as launcher_id \gset
select tests.create_ad_account('ccj_owner', 'act_91000301') as acct \gset
select tests.add_ad_account_member('act_91000301', 'ccj_launcher', 'launcher');
-- This file's jobs mostly stay under way: above the default active_jobs limits (abuse_limits.sql).
insert into public.adrail_limits (action, scope, user_id, ad_account_id, quota) values
  ('active_jobs', 'user', :'owner_id', null, 1000), ('active_jobs', 'account', null, :'acct', 1000);

-- ---------------------------------------------------------------------------------------------
-- create_campaign_creation_job
-- ---------------------------------------------------------------------------------------------
select id as j1 from public.create_campaign_creation_job(
  :'owner_id', :'acct', 'Launch A', 3, 2, '{"campaign": {"name": "Launch A"}}', 'hash-1', 'key-1') \gset

select results_eq(
  format($$ select user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set, status,
                   retry_count, retry_budget, rollback_policy, dry_run, idempotency_key, request_hash, request,
                   ad_sets_created, ads_created, rollback_triggered, locked_by, next_run_at <= now()
            from public.campaign_creation_jobs where id = %s $$, :j1),
  format($$ values (%L::uuid, %L::uuid, 'Launch A'::text, 3, 6, 2, 'pending'::text, 0, 5, 'auto'::text, false,
                    'key-1'::text, 'hash-1'::text, '{"campaign": {"name": "Launch A"}}'::jsonb, 0, 0, false, null::text, true) $$,
         :'owner_id', :'acct'),
  'the job records the request: 3 ad sets x 2 ads = 6 ads, pending, default budget 5 and policy auto, due now'
);
select results_eq(
  format($$ select slot_number, entity_type, parent_slot_number, entity_name, status, facebook_id
            from public.entity_creation_slots where job_id = %s
            order by array_position(array['campaign', 'ad_set', 'ad'], entity_type), slot_number $$, :j1),
  format($$ values
    (1, 'campaign'::text, null::int, 'Launch A'::text, 'pending'::text, null::text),
    (1, 'ad_set', 1, 'Launch A [adrail j%1$s as1]', 'pending', null),
    (2, 'ad_set', 1, 'Launch A [adrail j%1$s as2]', 'pending', null),
    (3, 'ad_set', 1, 'Launch A [adrail j%1$s as3]', 'pending', null),
    (1, 'ad', 1, 'Launch A [adrail j%1$s as1 ad1]', 'pending', null),
    (2, 'ad', 1, 'Launch A [adrail j%1$s as1 ad2]', 'pending', null),
    (3, 'ad', 2, 'Launch A [adrail j%1$s as2 ad1]', 'pending', null),
    (4, 'ad', 2, 'Launch A [adrail j%1$s as2 ad2]', 'pending', null),
    (5, 'ad', 3, 'Launch A [adrail j%1$s as3 ad1]', 'pending', null),
    (6, 'ad', 3, 'Launch A [adrail j%1$s as3 ad2]', 'pending', null) $$, :j1),
  '1 campaign + 3 ad sets + 6 ads slots, numbered, parented and named deterministically'
);
select is(
  (select count(distinct entity_name)::int from public.entity_creation_slots where job_id = :j1),
  10, 'every slot name is unique inside the job');

select id as j2 from public.create_campaign_creation_job(
  :'owner_id', :'acct', 'Launch A', 3, 2, '{"campaign": {"name": "Launch A"}}', 'hash-1') \gset
select set_eq(
  format($$ select entity_type, slot_number, replace(entity_name, 'j%s ', 'jN ') from public.entity_creation_slots where job_id = %s $$, :j2, :j2),
  format($$ select entity_type, slot_number, replace(entity_name, 'j%s ', 'jN ') from public.entity_creation_slots where job_id = %s $$, :j1, :j1),
  'the same request makes the same names, up to the job id (deterministic)');
select is_empty(
  format($$ select entity_name from public.entity_creation_slots where job_id = %s and entity_type <> 'campaign'
            intersect select entity_name from public.entity_creation_slots where job_id = %s $$, :j1, :j2),
  'two jobs of the same campaign name never share an ad set or ad name');

select is(
  (public.create_campaign_creation_job(:'owner_id', :'acct', 'Launch A', 3, 2, '{"campaign": {"name": "Launch A"}}', 'hash-1', 'key-1')).id,
  :j1::bigint, 'the same idempotency key and request returns the same job');
select results_eq(
  format($$ select (select count(*)::int from public.campaign_creation_jobs where user_id = %L and idempotency_key = 'key-1'),
                   (select count(*)::int from public.entity_creation_slots where job_id = %s) $$, :'owner_id', :j1),
  $$ values (1, 10) $$,
  'the replay created no second job and no extra slot');
select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'Launch A', 5, 1, '{"campaign": {"name": "Launch A"}}', 'hash-2', 'key-1') $$,
         :'owner_id', :'acct'),
  'ADR03', 'idempotency key key-1 was already used with a different request',
  'the same idempotency key with a different request_hash raises ADR03');
select isnt(
  (public.create_campaign_creation_job(:'launcher_id', :'acct', 'Launch A', 1, 1, '{}', 'hash-2', 'key-1')).id,
  :j1::bigint, 'idempotency keys are per user: another user''s key-1 is a new job');

select id as jb from public.create_campaign_creation_job(:'owner_id', :'acct', 'Launch B', 1, 0, '{}', 'hash-b', null, 'confirm', 2, true) \gset
select results_eq(
  format($$ select requested_ad_sets, requested_ads, ads_per_ad_set, rollback_policy, retry_budget, dry_run,
                   (select count(*)::int from public.entity_creation_slots s where s.job_id = j.id)
            from public.campaign_creation_jobs j where j.id = %s $$, :jb),
  $$ values (1, 0, 0, 'confirm'::text, 2, true, 2) $$,
  'options are stored; 1 ad set with no ads makes 2 slots');

select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'Launch C', 0, 1, '{}', 'hash-c', 'key-c') $$, :'owner_id', :'acct'),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_requested_ad_sets_check"',
  'a job must request at least one ad set');
select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'Launch C', 1, 1, '{}', 'hash-c', 'key-c', 'auto', 51) $$, :'owner_id', :'acct'),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_retry_budget_check"',
  'the retry budget is bounded');
select is_empty(
  format($$ select 1 from public.campaign_creation_jobs where user_id = %L and idempotency_key = 'key-c' $$, :'owner_id'),
  'refused jobs left no row behind');

-- ---------------------------------------------------------------------------------------------
-- Constraints
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name)
            values (%s, 1, 'ad_set', 1, 'another name') $$, :j1),
  '23505', 'duplicate key value violates unique constraint "entity_creation_slots_unique"',
  'a (job_id, slot_number, entity_type) exists once');
select lives_ok(
  format($$ insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name)
            values (%s, 4, 'ad_set', 1, 'fourth ad set') $$, :j2),
  'the same slot number is free for another entity type (ad slot 4 exists, ad set slot 4 does not)');
select throws_ok(
  format($$ insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name)
            values (%s, 50, 'ad_set', 1, 'Launch A [adrail j%s as1]') $$, :j1, :j1),
  '23505', 'duplicate key value violates unique constraint "entity_creation_slots_name_unique"',
  'a slot name exists once per job and entity type');

select id as j1_as1 from public.entity_creation_slots where job_id = :j1 and entity_type = 'ad_set' and slot_number = 1 \gset
select id as j1_as2 from public.entity_creation_slots where job_id = :j1 and entity_type = 'ad_set' and slot_number = 2 \gset
select tests.advance_slot(:j1_as1, 'creating');
select tests.advance_slot(:j1_as2, 'creating');
select throws_ok(
  format($$ update public.entity_creation_slots set status = 'created' where id = %s $$, :j1_as1),
  '23514', 'new row for relation "entity_creation_slots" violates check constraint "entity_creation_slots_created_has_id"',
  'a slot cannot be created without the facebook_id of what it created');
select lives_ok(
  format($$ update public.entity_creation_slots set status = 'created', facebook_id = 'ccj-fb-as-1' where id = %s $$, :j1_as1),
  'with its facebook_id the slot is created');
select throws_ok(
  format($$ update public.entity_creation_slots set status = 'created', facebook_id = 'ccj-fb-as-1' where id = %s $$, :j1_as2),
  '23505', 'duplicate key value violates unique constraint "entity_creation_slots_facebook_id_unique"',
  'two slots can never claim the same Meta object');

select throws_ok(
  format($$ update public.campaign_creation_jobs set retry_count = 6 where id = %s $$, :j1),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_retry_budget_enforced"',
  'retry_count can never exceed the retry budget');
select throws_ok(
  format($$ update public.campaign_creation_jobs set ad_sets_created = 4 where id = %s $$, :j1),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_never_more_than_requested"',
  'never more ad sets created than requested');
select throws_ok(
  format($$ update public.campaign_creation_jobs set ads_created = 7 where id = %s $$, :j1),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_never_more_than_requested"',
  'never more ads created than requested');
select lives_ok(
  format($$ update public.campaign_creation_jobs set retry_count = 5, ad_sets_created = 3, ads_created = 6 where id = %s $$, :j1),
  'exactly the budget and exactly the request are allowed');
select throws_ok(
  format($$ update public.campaign_creation_jobs set requested_ads = 7 where id = %s $$, :j1),
  '23514', 'new row for relation "campaign_creation_jobs" violates check constraint "campaign_creation_jobs_requested_ads_total"',
  'requested_ads is always ad sets x ads per ad set');

-- ---------------------------------------------------------------------------------------------
-- claim_campaign_creation_job. Park every existing job, then set up:
--   L leased by 'busy' (earliest next_run_at), E expired lease of 'zombie', D due,
--   F due in an hour, A awaiting_confirmation and C completed (not claimable) with old next_run_at.
-- ---------------------------------------------------------------------------------------------
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';

select id as jl from public.create_campaign_creation_job(:'owner_id', :'acct', 'L', 1, 1, '{}', 'h') \gset
select id as je from public.create_campaign_creation_job(:'owner_id', :'acct', 'E', 1, 1, '{}', 'h') \gset
select id as jd from public.create_campaign_creation_job(:'owner_id', :'acct', 'D', 1, 1, '{}', 'h') \gset
select id as jf from public.create_campaign_creation_job(:'owner_id', :'acct', 'F', 1, 1, '{}', 'h') \gset
select id as ja from public.create_campaign_creation_job(:'owner_id', :'acct', 'A', 1, 1, '{}', 'h') \gset
select id as jc from public.create_campaign_creation_job(:'owner_id', :'acct', 'C', 1, 1, '{}', 'h') \gset
select tests.advance_job(:je, 'verifying', 'in_progress');
select tests.advance_job(:ja, 'verifying', 'in_progress', 'awaiting_confirmation');
select tests.advance_job(:jc, 'verifying', 'in_progress', 'completed');
update public.campaign_creation_jobs set next_run_at = now() - interval '5 minutes', locked_by = 'busy', locked_until = now() + interval '1 minute' where id = :jl;
update public.campaign_creation_jobs set next_run_at = now() - interval '2 minutes', locked_by = 'zombie', locked_until = now() - interval '1 second' where id = :je;
update public.campaign_creation_jobs set next_run_at = now() - interval '1 minute' where id = :jd;
update public.campaign_creation_jobs set next_run_at = now() + interval '1 hour' where id = :jf;
update public.campaign_creation_jobs set next_run_at = now() - interval '10 minutes' where id in (:ja, :jc);

select results_eq(
  $$ select campaign_name, status, locked_by, locked_until = now() + interval '90 seconds', heartbeat_at = now(), claim_count
     from public.claim_campaign_creation_job('w1', 90) $$,
  $$ values ('E'::text, 'in_progress'::text, 'w1'::text, true, true, 1) $$,
  'the first claim takes over the expired lease (oldest due job not validly leased), with the new token and lease'
);
select results_eq(
  $$ select campaign_name, locked_by, locked_until = now() + interval '60 seconds' from public.claim_campaign_creation_job('w2') $$,
  $$ values ('D'::text, 'w2'::text, true) $$,
  'the next claim gets the due job, default lease 60 s'
);
select is_empty(
  $$ select * from public.claim_campaign_creation_job('w3') $$,
  'nothing else is claimable: a leased job, a job not yet due, a job awaiting confirmation and a completed job are skipped');
select results_eq(
  format($$ select locked_by, locked_until = now() + interval '1 minute', claim_count from public.campaign_creation_jobs where id = %s $$, :jl),
  $$ values ('busy'::text, true, 0) $$,
  'the leased job kept its lease');
update public.campaign_creation_jobs set next_run_at = now() where id = :jf;
select is(
  public.record_ad_account_rate_limit(:'acct', now() + interval '27 hours'),
  now() + interval '27 hours',
  'Meta throttles the account for 27 hours: recorded as is, however long');
select is(
  public.record_ad_account_rate_limit(:'acct', now() + interval '1 minute'),
  now() + interval '27 hours',
  'a shorter wait reported later does not shorten it');
select is_empty(
  $$ select * from public.claim_campaign_creation_job('w4') $$,
  'a due job of a rate-limited account is not claimed');
update public.ad_accounts set rate_limited_until = now() - interval '1 second' where id = :'acct';
select results_eq(
  $$ select campaign_name, locked_by from public.claim_campaign_creation_job('w4') $$,
  $$ values ('F'::text, 'w4'::text) $$,
  'once its next_run_at arrives and the account is no longer throttled, the job is claimable');

-- ---------------------------------------------------------------------------------------------
-- extend_campaign_creation_job_lease
-- ---------------------------------------------------------------------------------------------
select is(
  public.extend_campaign_creation_job_lease(:je, 'w1', 120),
  now() + interval '120 seconds',
  'the claimant extends its lease');
select results_eq(
  format($$ select locked_by, locked_until = now() + interval '120 seconds', heartbeat_at = now() from public.campaign_creation_jobs where id = %s $$, :je),
  $$ values ('w1'::text, true, true) $$,
  'the extended lease is stored with a heartbeat');
-- A heartbeat writes locked_until, heartbeat_at and (through touch_updated_at) updated_at: with
-- none of them in an index it can be a HOT update, adding no entry to any of the jobs' indexes.
select is_empty(
  $$ select indexrelid::regclass from pg_index where indrelid = 'public.campaign_creation_jobs'::regclass
     and pg_get_indexdef(indexrelid) ~ '\m(updated_at|heartbeat_at|locked_until|locked_by)\M' $$,
  'no index of campaign_creation_jobs covers a column a lease heartbeat writes');
select throws_ok(
  format($$ select public.extend_campaign_creation_job_lease(%s, 'zombie') $$, :je),
  'ADR02', format('campaign creation job %s is not leased by zombie', :je),
  'the worker whose lease was taken over cannot extend it (ADR02)');
select throws_ok(
  format($$ select public.extend_campaign_creation_job_lease(%s, 'w1') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by w1', :jd),
  'a worker cannot extend another worker''s lease (ADR02)');
select throws_ok(
  $$ select public.extend_campaign_creation_job_lease(-1, 'w1') $$,
  'ADR04', 'campaign creation job -1 not found',
  'extending the lease of a job that does not exist raises ADR04');

-- The lease of w2 on D expires.
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jd;
select throws_ok(
  format($$ select public.extend_campaign_creation_job_lease(%s, 'w2') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by w2', :jd),
  'a lease that expired cannot be extended, even by its holder (ADR02)');
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w2', 'verifying') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by w2', :jd),
  'a worker whose lease expired cannot transition the job (ADR02)');
select throws_ok(
  format($$ select public.release_campaign_creation_job(%s, 'w2') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by w2', :jd),
  'a worker whose lease expired cannot release the job (ADR02)');

-- ---------------------------------------------------------------------------------------------
-- transition_campaign_creation_job (E: in_progress, held by w1)
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'zombie', 'completed') $$, :je),
  'ADR02', format('campaign creation job %s is not leased by zombie', :je),
  'the worker whose lease was taken over cannot transition the job (ADR02)');
select results_eq(
  format($$ select status, rollback_triggered, rollback_reason, last_error, jsonb_array_length(error_history),
                   error_history -> 0 ->> 'status', locked_by, completed_at, rollback_at
            from public.transition_campaign_creation_job(%s, 'w1', 'rolling_back', 'permanent: invalid parameter') $$, :je),
  $$ values ('rolling_back'::text, true, 'permanent: invalid parameter'::text, 'permanent: invalid parameter'::text, 1,
             'rolling_back'::text, 'w1'::text, null::timestamptz, null::timestamptz) $$,
  'the claimant moves the job to rolling_back: rollback and error recorded, lease kept'
);
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w1', 'completed') $$, :je),
  'ADR01', 'illegal campaign_creation_job transition: rolling_back -> completed',
  'the claimant is still held to the state machine (ADR01)');
select results_eq(
  format($$ select status, rollback_at = now(), completed_at = now(), locked_by, locked_until
            from public.transition_campaign_creation_job(%s, 'w1', 'rolled_back') $$, :je),
  $$ values ('rolled_back'::text, true, true, null::text, null::timestamptz) $$,
  'a terminal status stamps completed_at (and rollback_at) and releases the lease'
);
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w1', 'failed') $$, :je),
  'ADR02', format('campaign creation job %s is not leased by w1', :je),
  'after the terminal transition released the lease, the former claimant cannot write (ADR02)');
select results_eq(
  format($$ select status, started_at = now(), completed_at from public.transition_campaign_creation_job(%s, 'w4', 'verifying') $$, :jf),
  $$ values ('verifying'::text, true, null::timestamptz) $$,
  'pending -> verifying stamps started_at');
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, null, 'failed') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by <NULL>', :jd),
  'a job whose lease expired cannot be written without a worker token (ADR02)');

-- ---------------------------------------------------------------------------------------------
-- release_campaign_creation_job (F: verifying, held by w4)
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.release_campaign_creation_job(%s, 'w-other') $$, :jf),
  'ADR02', format('campaign creation job %s is not leased by w-other', :jf),
  'another worker cannot release the job (ADR02)');
select results_eq(
  format($$ select status, locked_by, locked_until, next_run_at = now() + interval '10 minutes'
            from public.release_campaign_creation_job(%s, 'w4', now() + interval '10 minutes') $$, :jf),
  $$ values ('verifying'::text, null::text, null::timestamptz, true) $$,
  'the claimant releases the job with the time it may next run; its status is kept'
);
select results_eq(
  $$ select campaign_name, locked_by, claim_count from public.claim_campaign_creation_job('w6') $$,
  $$ values ('D'::text, 'w6'::text, 2) $$,
  'the next claim skips the released job (not due for 10 minutes) and takes over D''s expired lease'
);
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, 'w2', 'verifying') $$, :jd),
  'ADR02', format('campaign creation job %s is not leased by w2', :jd),
  'once its lease was taken over, the old worker still cannot write (ADR02)');
select results_eq(
  format($$ select status, locked_by from public.transition_campaign_creation_job(%s, 'w6', 'verifying') $$, :jd),
  $$ values ('verifying'::text, 'w6'::text) $$,
  'the new claimant can');
select throws_ok(
  format($$ select public.transition_campaign_creation_job(-1, 'w6', 'verifying') $$),
  'ADR04', 'campaign creation job -1 not found',
  'transitioning a job that does not exist raises ADR04');

-- An unclaimed job cannot be written through the fenced functions, not even with a null worker.
select id as jn from public.create_campaign_creation_job(:'owner_id', :'acct', 'N', 1, 1, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where id = :jn;
select throws_ok(
  format($$ select public.transition_campaign_creation_job(%s, null, 'verifying') $$, :jn),
  'ADR02', format('campaign creation job %s is not leased by <NULL>', :jn),
  'an unclaimed job cannot be transitioned with a null worker token (ADR02)');
select throws_ok(
  format($$ select public.consume_campaign_creation_job_retry(%s, null, 'x') $$, :jn),
  'ADR02', format('campaign creation job %s is not leased by <NULL>', :jn),
  'an unclaimed job cannot spend a retry with a null worker token (ADR02)');
select is(
  (select status from public.campaign_creation_jobs where id = :jn),
  'pending', 'the unclaimed job was not touched');

-- ---------------------------------------------------------------------------------------------
-- consume_campaign_creation_job_retry (R: budget 1; Z: budget 0)
-- ---------------------------------------------------------------------------------------------
select id as jr from public.create_campaign_creation_job(:'owner_id', :'acct', 'R', 1, 1, '{}', 'h', null, 'auto', 1) \gset
select is((select id from public.claim_campaign_creation_job('wr')), :jr::bigint, 'R is claimed by wr');
select results_eq(
  format($$ select retry_count, last_retry_at = now(), last_error, error_history -> -1 ->> 'error', (error_history -> -1 ->> 'retry')::int
            from public.consume_campaign_creation_job_retry(%s, 'wr', 'rate limited') $$, :jr),
  $$ values (1, true, 'rate limited'::text, 'rate limited'::text, 1) $$,
  'the claimant spends a retry: counted, timed, recorded'
);
select throws_ok(
  format($$ select public.consume_campaign_creation_job_retry(%s, 'wr', 'again') $$, :jr),
  'ADR05', format('campaign creation job %s has used its retry budget of 1', :jr),
  'once the budget is used up, consume raises ADR05');
select throws_ok(
  format($$ select public.consume_campaign_creation_job_retry(%s, 'intruder', 'x') $$, :jr),
  'ADR02', format('campaign creation job %s is not leased by intruder', :jr),
  'another worker cannot spend the job''s retries (ADR02)');
update public.campaign_creation_jobs set locked_until = now() - interval '1 second' where id = :jr;
select throws_ok(
  format($$ select public.consume_campaign_creation_job_retry(%s, 'wr', 'late') $$, :jr),
  'ADR02', format('campaign creation job %s is not leased by wr', :jr),
  'a worker whose lease expired cannot spend a retry (ADR02)');
select results_eq(
  format($$ select retry_count, last_error, jsonb_array_length(error_history) from public.campaign_creation_jobs where id = %s $$, :jr),
  $$ values (1, 'rate limited'::text, 1) $$,
  'the refused calls changed nothing');

update public.campaign_creation_jobs set next_run_at = 'infinity' where id = :jr;
select id as jz from public.create_campaign_creation_job(:'owner_id', :'acct', 'Z', 1, 1, '{}', 'h', null, 'auto', 0) \gset
select is((select id from public.claim_campaign_creation_job('wz')), :jz::bigint, 'Z is claimed by wz');
select throws_ok(
  format($$ select public.consume_campaign_creation_job_retry(%s, 'wz', 'first') $$, :jz),
  'ADR05', format('campaign creation job %s has used its retry budget of 0', :jz),
  'a job with a budget of 0 may not retry at all (ADR05)');

select * from finish();
rollback;
