-- Dashboard views: each returns the expected rows for seeded data, all are security_invoker,
-- and the monitoring SQL users already run works unchanged. The views are read as the
-- account's owner: RLS (through security_invoker) then limits them to this file's account, so
-- rows other files or runs left behind cannot change the expected output.
begin;
select plan(19);

select tests.create_supabase_user('dv_owner') as owner_id \gset
select tests.create_ad_account('dv_owner', 'act_91000501') as acct \gset

-- ---------------------------------------------------------------------------------------------
-- Jobs of the account (created now unless said otherwise):
--   J1  completed, 2x1, every slot created and verified, 100 s          (clean)
--   J2  failed from pending, 2 of 5 retries used
--   J3  rolled back, 5 of 5 retries used, 300 s
--   J4  in_progress, lease of 'dead' expired                             (stuck: lease expired)
--   J5  in_progress, unleased, no update for 2 hours, due                (stuck: no progress)
--   J6  completed 1x1, 50 s, the ad slot created but never verified      (discrepancy)
--   J7  in_progress, validly leased, an ad-set slot silently failed twice (discrepancy)
--   J8  created 3 days ago, rollback triggered, ended failed
--   J9  created 3 days ago, completed, clean
--   J10 completed 2x0, 30 s, only one of two ad-set slots created        (discrepancy)
-- ---------------------------------------------------------------------------------------------
select id as j1 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 1', 2, 1, '{}', 'h') \gset
select id as j2 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 2', 1, 1, '{}', 'h') \gset
select id as j3 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 3', 1, 1, '{}', 'h') \gset
select id as j4 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 4', 1, 1, '{}', 'h') \gset
select id as j5 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 5', 1, 1, '{}', 'h') \gset
select id as j6 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 6', 1, 1, '{}', 'h') \gset
select id as j7 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 7', 1, 1, '{}', 'h') \gset
select id as j8 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 8', 1, 1, '{}', 'h') \gset
select id as j9 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 9', 1, 1, '{}', 'h') \gset
select id as j10 from public.create_campaign_creation_job(:'owner_id', :'acct', 'dv 10', 2, 0, '{}', 'h') \gset

-- J1: every slot created and verified.
select tests.advance_job(:j1, 'verifying', 'in_progress');
update public.entity_creation_slots set status = 'creating' where job_id = :j1;
update public.entity_creation_slots set status = 'created', facebook_id = 'dv-fb-' || id, verified_at = now() where job_id = :j1;
update public.campaign_creation_jobs set status = 'completed', started_at = now() - interval '100 seconds', completed_at = now(),
  ad_sets_created = 2, ads_created = 2 where id = :j1;
-- J2
update public.campaign_creation_jobs set status = 'failed', retry_count = 2, last_retry_at = now(), last_error = 'boom' where id = :j2;
-- J3
select tests.advance_job(:j3, 'verifying', 'in_progress', 'rolling_back', 'rolled_back');
update public.campaign_creation_jobs set rollback_triggered = true, rollback_at = now(), retry_count = 5, last_error = 'budget',
  started_at = now() - interval '300 seconds', completed_at = now() where id = :j3;
-- J4
select tests.advance_job(:j4, 'verifying', 'in_progress');
update public.campaign_creation_jobs set locked_by = 'dead', locked_until = now() - interval '1 minute' where id = :j4;
-- J5 (its updated_at is aged last, below)
select tests.advance_job(:j5, 'verifying', 'in_progress');
-- J6
select tests.advance_job(:j6, 'verifying', 'in_progress');
update public.entity_creation_slots set status = 'creating' where job_id = :j6;
update public.entity_creation_slots set status = 'created', facebook_id = 'dv-fb-' || id,
  verified_at = case when entity_type = 'ad' then null else now() end where job_id = :j6;
update public.campaign_creation_jobs set status = 'completed', started_at = now() - interval '50 seconds', completed_at = now(),
  ad_sets_created = 1, ads_created = 1 where id = :j6;
-- J7
select tests.advance_job(:j7, 'verifying', 'in_progress');
update public.campaign_creation_jobs set locked_by = 'alive', locked_until = now() + interval '5 minutes' where id = :j7;
update public.entity_creation_slots set status = 'creating' where job_id = :j7 and entity_type = 'ad_set';
update public.entity_creation_slots set status = 'created', facebook_id = 'dv-fb-' || id where job_id = :j7 and entity_type = 'ad_set';
update public.entity_creation_slots set status = 'failed', silent_failures = 2 where job_id = :j7 and entity_type = 'ad_set';
-- J8, J9: three days ago.
select tests.advance_job(:j8, 'verifying', 'in_progress', 'awaiting_confirmation', 'failed');
update public.campaign_creation_jobs set rollback_triggered = true, created_at = now() - interval '3 days' where id = :j8;
select tests.advance_job(:j9, 'verifying', 'in_progress');
update public.entity_creation_slots set status = 'creating' where job_id = :j9;
update public.entity_creation_slots set status = 'created', facebook_id = 'dv-fb-' || id, verified_at = now() where job_id = :j9;
update public.campaign_creation_jobs set status = 'completed', ad_sets_created = 1, ads_created = 1,
  created_at = now() - interval '3 days' where id = :j9;
-- J10: one of two ad sets.
select tests.advance_job(:j10, 'verifying', 'in_progress');
update public.entity_creation_slots set status = 'creating' where job_id = :j10;
update public.entity_creation_slots set status = 'created', facebook_id = 'dv-fb-' || id, verified_at = now()
  where job_id = :j10 and slot_number = 1;
update public.entity_creation_slots set status = 'failed' where job_id = :j10 and status = 'creating';
update public.campaign_creation_jobs set status = 'completed', started_at = now() - interval '30 seconds', completed_at = now(),
  ad_sets_created = 1 where id = :j10;
-- J5: no update for two hours (the touch trigger would stamp now(), so it is off for this one update;
-- a table with checks still pending cannot be altered: they run now).
set constraints enforce_active_job_limits immediate;
alter table public.campaign_creation_jobs disable trigger campaign_creation_jobs_touch_updated_at;
update public.campaign_creation_jobs set updated_at = now() - interval '2 hours', next_run_at = now() - interval '2 hours' where id = :j5;
alter table public.campaign_creation_jobs enable trigger campaign_creation_jobs_touch_updated_at;

-- Pre-creation verifications: one that passed, two that stopped a launch.
insert into public.pre_creation_verifications (user_id, ad_account_id, campaign_name, can_proceed, verification_time_ms,
  token_valid, account_accessible, account_suspended, duplicate_campaign_exists, at_account_limit, errors, warnings) values
  (:'owner_id', :'acct', 'dv ok', true, 40, true, true, false, false, false, '[]', '[]'),
  (:'owner_id', :'acct', 'dv bad token', false, 15, false, null, null, null, null, '["token invalid"]', '[]'),
  (:'owner_id', :'acct', 'dv duplicate', false, 55, true, true, false, true, false, '["campaign exists"]', '["near limit"]');

-- Status changes: two campaigns and two ads leave ACTIVE, an ad set comes back to ACTIVE;
-- one ad's final sync failed once, the other's completed.
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status) values
  (:'acct', 'dv-c1', 'c1', 'ACTIVE'), (:'acct', 'dv-c2', 'c2', 'ACTIVE');
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values (:'acct', 'dv-as', 'as', 'PAUSED');
insert into public.ads (ad_account_id, platform_ad_id, name, status) values
  (:'acct', 'dv-ad1', 'ad1', 'ACTIVE'), (:'acct', 'dv-ad2', 'ad2', 'ACTIVE');
update public.ad_campaigns set status = 'PAUSED' where platform_campaign_id in ('dv-c1', 'dv-c2');
update public.ad_sets set status = 'ACTIVE' where platform_ad_set_id = 'dv-as';
update public.ads set status = 'DELETED' where platform_ad_id in ('dv-ad1', 'dv-ad2');
update public.ad_status_change_log set created_at = now() - interval '2 hours' where ad_account_id = :'acct' and platform_entity_id = 'dv-c2';
select public.mark_final_sync_completed(id, false, 'Graph API down') is not null as marked from public.ad_status_change_log
where ad_account_id = :'acct' and platform_entity_id = 'dv-ad1' \gset
select public.mark_final_sync_completed(id, true) is not null as marked from public.ad_status_change_log
where ad_account_id = :'acct' and platform_entity_id = 'dv-ad2' \gset

-- ---------------------------------------------------------------------------------------------
-- The views are security_invoker.
-- ---------------------------------------------------------------------------------------------
select cmp_ok(
  (select count(*)::int from pg_views where schemaname = 'public'), '>=', 8,
  'the check below covers the dashboard views (at least the 8 of the base schema)');
select is_empty(
  $$ select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'v'
       and not coalesce('security_invoker=on' = any (c.reloptions), false) $$,
  'every view in public is security_invoker: RLS applies to whoever reads it');

-- ---------------------------------------------------------------------------------------------
-- Each view, read by the owner.
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('dv_owner');

select results_eq(
  $$ select status, jobs::int, requested_ad_sets::int, ad_sets_created::int, requested_ads::int, ads_created::int, avg_duration_seconds
     from public.creation_job_outcomes_24h order by status $$,
  $$ values ('completed'::text, 3, 5, 4, 3, 3, 60.0::numeric),
            ('failed', 1, 1, 0, 1, 0, null),
            ('in_progress', 3, 3, 0, 3, 0, null),
            ('rolled_back', 1, 1, 0, 1, 0, 300.0) $$,
  'creation_job_outcomes_24h: the last 24 hours by status, with requested and created counts and mean duration'
);
select results_eq(
  $$ select job_id, ad_account_id, status, retry_count, retry_budget, budget_used_pct, last_error
     from public.creation_job_retry_usage order by job_id $$,
  format($$ values (%s::bigint, %L::uuid, 'failed'::text, 2, 5, 40.0::numeric, 'boom'::text),
                   (%s, %L, 'rolled_back', 5, 5, 100.0, 'budget') $$, :j2, :'acct', :j3, :'acct'),
  'creation_job_retry_usage: the jobs that retried, with the share of their budget used'
);
select results_eq(
  $$ select job_id, status, requested_ad_sets, ad_set_slots_created::int, ad_sets_created, requested_ads, ad_slots_created::int,
            ads_created, created_not_verified::int, silent_failures_detected::int
     from public.verification_discrepancies order by job_id $$,
  format($$ values (%s::bigint, 'completed'::text, 1, 1, 1, 1, 1, 1, 1, 0),
                   (%s, 'in_progress', 1, 0, 0, 1, 0, 0, 0, 2),
                   (%s, 'completed', 2, 1, 1, 0, 0, 0, 0, 0) $$, :j6, :j7, :j10),
  'verification_discrepancies: an unverified created slot, silent failures, a completed job short of its request (not the clean one)'
);
select results_eq(
  $$ select campaign_name, user_id, ad_account_id, token_valid, account_accessible, account_suspended, duplicate_campaign_exists,
            at_account_limit, errors, warnings, verification_time_ms
     from public.pre_creation_verification_failures order by id $$,
  format($$ values ('dv bad token'::text, %1$L::uuid, %2$L::uuid, false, null::boolean, null::boolean, null::boolean, null::boolean,
                    '["token invalid"]'::jsonb, '[]'::jsonb, 15),
                   ('dv duplicate', %1$L, %2$L, true, true, false, true, false, '["campaign exists"]', '["near limit"]', 55) $$,
         :'owner_id', :'acct'),
  'pre_creation_verification_failures: only the verifications that stopped a launch, with why'
);
select results_eq(
  $$ select day, jobs::int, rollbacks::int, rolled_back::int, rollback_rate_pct from public.rollback_rate_daily order by day $$,
  $$ values ((now() - interval '3 days')::date, 2, 1, 0, 50.00::numeric),
            (now()::date, 8, 1, 1, 12.50) $$,
  'rollback_rate_daily: per day, jobs, rollbacks triggered, rolled back, and the rate'
);
select results_eq(
  $$ select job_id, ad_account_id, status, locked_by, reason from public.stuck_creation_jobs order by job_id $$,
  format($$ values (%s::bigint, %L::uuid, 'in_progress'::text, 'dead'::text, 'lease expired'::text),
                   (%s, %L, 'in_progress', null, 'no progress for an hour') $$, :j4, :'acct', :j5, :'acct'),
  'stuck_creation_jobs: the expired lease and the job without progress for an hour (not the validly leased one)'
);
select results_eq(
  $$ select ad_account_id, entity_type, pending::int, failed::int, max_attempts, oldest_change_at
     from public.final_sync_backlog order by entity_type $$,
  format($$ values (%1$L::uuid, 'ad'::text, 0, 1, 1, now()),
                   (%1$L, 'campaign', 2, 0, 0, now() - interval '2 hours') $$, :'acct'),
  'final_sync_backlog: owed final syncs per account and type, pending vs failed, attempts, oldest change'
);

-- ---------------------------------------------------------------------------------------------
-- The monitoring SQL users already run, unchanged: it runs, and (as the owner) it answers
-- about this account.
-- ---------------------------------------------------------------------------------------------
select tests.clear_authentication();
select lives_ok($$ select status, count(*) from campaign_creation_jobs group by status $$,
  'monitoring SQL runs: job status counts');
select lives_ok($$ select job_id, status, count(*) from entity_creation_slots group by job_id, status $$,
  'monitoring SQL runs: slots by status per job');
select lives_ok($$ select date_trunc('day', created_at) as day, count(*) filter (where rollback_triggered)::float / count(*) from campaign_creation_jobs group by 1 $$,
  'monitoring SQL runs: rollback rate per day');
select lives_ok($$ select id from campaign_creation_jobs where status = 'in_progress' and updated_at < now() - interval '1 hour' $$,
  'monitoring SQL runs: stuck in_progress jobs');
select lives_ok($$ select entity_type, count(*) from ad_status_change_log where requires_final_sync and not final_sync_completed group by entity_type $$,
  'monitoring SQL runs: incomplete final syncs by entity type');

select tests.authenticate_as('dv_owner');
select results_eq(
  $$ select status, count(*) from campaign_creation_jobs group by status order by status $$,
  $$ values ('completed'::text, 4::bigint), ('failed', 2), ('in_progress', 3), ('rolled_back', 1) $$,
  'job status counts answer for the account');
select results_eq(
  format($$ select * from (select job_id, status, count(*) from entity_creation_slots group by job_id, status) s
            where job_id in (%s, %s) order by job_id, status $$, :j1, :j10),
  format($$ values (%1$s::bigint, 'created'::text, 5::bigint), (%2$s, 'created', 2), (%2$s, 'failed', 1) $$, :j1, :j10),
  'slots by status per job answer per job');
select results_eq(
  $$ select date_trunc('day', created_at) as day, count(*) filter (where rollback_triggered)::float / count(*) from campaign_creation_jobs group by 1 order by 1 $$,
  $$ values (date_trunc('day', now() - interval '3 days'), 0.5::float), (date_trunc('day', now()), 0.125) $$,
  'the rollback rate answers per day');
select results_eq(
  $$ select id from campaign_creation_jobs where status = 'in_progress' and updated_at < now() - interval '1 hour' $$,
  format($$ values (%s::bigint) $$, :j5),
  'stuck in_progress jobs: the one without an update for two hours');
select results_eq(
  $$ select entity_type, count(*) from ad_status_change_log where requires_final_sync and not final_sync_completed group by entity_type order by 1 $$,
  $$ values ('ad'::text, 1::bigint), ('campaign', 2) $$,
  'incomplete final syncs by entity type');
select tests.clear_authentication();

select * from finish();
rollback;
