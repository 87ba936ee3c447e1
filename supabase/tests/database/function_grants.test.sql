-- Function privileges and hardening: the worker functions are the service role's alone (not
-- anon, authenticated or PUBLIC); get_entities_needing_final_sync is for members (RLS applies);
-- every function in public and private pins search_path to ''.
begin;
select plan(198);

create temp table fg_service_only (n int, fn text, args text[], call_sql text) on commit drop;
insert into fg_service_only values
  (1, 'mark_final_sync_completed', '{bigint,boolean,text}', 'select public.mark_final_sync_completed(-1, true)'),
  (2, 'claim_final_syncs', '{text,uuid,integer,integer}', $$ select public.claim_final_syncs('client') $$),
  (3, 'complete_final_sync', '{bigint,jsonb,text}', $$ select public.complete_final_sync(-1, '[]') $$),
  (4, 'create_campaign_creation_job', '{uuid,uuid,text,integer,integer,jsonb,text,text,text,integer,boolean}',
      $$ select public.create_campaign_creation_job(gen_random_uuid(), gen_random_uuid(), 'x', 1, 1, '{}', 'h') $$),
  (5, 'claim_campaign_creation_job', '{text,integer}', $$ select public.claim_campaign_creation_job('client') $$),
  (6, 'extend_campaign_creation_job_lease', '{bigint,text,integer}', $$ select public.extend_campaign_creation_job_lease(-1, 'client') $$),
  (7, 'release_campaign_creation_job', '{bigint,text,"timestamp with time zone"}', $$ select public.release_campaign_creation_job(-1, 'client') $$),
  (8, 'transition_campaign_creation_job', '{bigint,text,text,text}', $$ select public.transition_campaign_creation_job(-1, 'client', 'failed') $$),
  (9, 'consume_campaign_creation_job_retry', '{bigint,text,text}', $$ select public.consume_campaign_creation_job_retry(-1, 'client', 'x') $$),
  (10, 'record_ad_account_rate_limit', '{uuid,"timestamp with time zone"}', $$ select public.record_ad_account_rate_limit(gen_random_uuid(), now()) $$),
  (11, 'upsert_daily_metrics', '{uuid,jsonb}', $$ select public.upsert_daily_metrics(gen_random_uuid(), '[]') $$),
  (12, 'sync_ad_entities', '{uuid,jsonb,jsonb,jsonb}', $$ select public.sync_ad_entities(gen_random_uuid(), '[]', '[]', '[]') $$),
  (13, 'recover_stalled_creation_jobs', '{}', $$ select public.recover_stalled_creation_jobs() $$),
  (14, 'begin_slot_creations', '{bigint,text,bigint[]}', $$ select public.begin_slot_creations(-1, 'client', '{}') $$),
  (15, 'record_slot_outcomes', '{bigint,text,jsonb}', $$ select public.record_slot_outcomes(-1, 'client', '[]') $$),
  (16, 'record_slot_verification', '{bigint,text,bigint[],bigint[]}', $$ select public.record_slot_verification(-1, 'client', '{}', '{}') $$),
  (17, 'mark_slots_rolled_back', '{bigint,text,bigint[]}', $$ select public.mark_slots_rolled_back(-1, 'client', '{}') $$),
  (18, 'decide_job_rollback', '{bigint,uuid,boolean}', $$ select public.decide_job_rollback(-1, gen_random_uuid(), true) $$),
  (19, 'request_job_verification', '{bigint,uuid}', $$ select public.request_job_verification(-1, gen_random_uuid()) $$),
  (20, 'set_ad_account_settings', '{uuid,uuid,boolean,bigint}', $$ select public.set_ad_account_settings(gen_random_uuid(), gen_random_uuid(), true, null) $$),
  (21, 'approve_campaign_creation_job', '{bigint,uuid}', $$ select public.approve_campaign_creation_job(-1, gen_random_uuid()) $$),
  (22, 'reject_campaign_creation_job', '{bigint,uuid,text}', $$ select public.reject_campaign_creation_job(-1, gen_random_uuid(), 'no') $$),
  (23, 'claim_attribution_tails', '{text,uuid,integer,integer,integer,"timestamp with time zone"}', $$ select public.claim_attribution_tails('client') $$),
  (24, 'record_attribution_tail_read', '{bigint,jsonb,text}', $$ select public.record_attribution_tail_read(-1, '[]', 'client') $$),
  (25, 'release_attribution_tail', '{bigint,text,text}', $$ select public.release_attribution_tail(-1, null, 'client') $$),
  (26, 'record_insights_report_run', '{uuid,text,date,date,text}', $$ select public.record_insights_report_run(gen_random_uuid(), 'ad', '2026-11-01', '2026-11-02', 'x') $$),
  (27, 'pending_insights_report_run', '{uuid,text,date,date}', $$ select public.pending_insights_report_run(gen_random_uuid(), 'ad', '2026-11-01', '2026-11-02') $$),
  (28, 'forget_insights_report_run', '{uuid,text}', $$ select public.forget_insights_report_run(gen_random_uuid(), 'x') $$),
  (29, 'campaign_creation_job_progress_of', '{bigint}', $$ select public.campaign_creation_job_progress_of(-1) $$),
  (30, 'release_status_change_claims', '{text}', $$ select public.release_status_change_claims('client') $$),
  (31, 'admit_campaign_launch', '{uuid,text,text,integer}', $$ select public.admit_campaign_launch(gen_random_uuid(), 'act_1', null, 2) $$);
grant select on fg_service_only to authenticated, anon;

-- ---------------------------------------------------------------------------------------------
-- Service-role-only functions
-- ---------------------------------------------------------------------------------------------
select function_privs_are('public', f.fn, f.args, 'anon', '{}'::text[], format('anon cannot execute %s', f.fn))
from (select * from fg_service_only order by n) f;
select function_privs_are('public', f.fn, f.args, 'authenticated', '{}'::text[], format('authenticated cannot execute %s', f.fn))
from (select * from fg_service_only order by n) f;
select function_privs_are('public', f.fn, f.args, 'service_role', '{EXECUTE}'::text[], format('service_role can execute %s', f.fn))
from (select * from fg_service_only order by n) f;
select is(
  (select count(*)::int from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   where p.oid = format('public.%I(%s)', f.fn, array_to_string(f.args, ','))::regprocedure
     and a.grantee = 0 and a.privilege_type = 'EXECUTE'),
  0,
  format('PUBLIC has no EXECUTE on %s', f.fn))
from (select * from fg_service_only order by n) f;

-- And calling them as a client really fails.
select tests.create_supabase_user('fg_user') as fg_user_id \gset
select tests.authenticate_as('fg_user');
select throws_ok(f.call_sql, '42501', format('permission denied for function %s', f.fn),
  format('a signed-in client calling %s is refused', f.fn))
from (select * from fg_service_only order by n) f;
select tests.authenticate_as_anon();
select throws_ok(f.call_sql, '42501', format('permission denied for function %s', f.fn),
  format('anon calling %s is refused', f.fn))
from (select * from fg_service_only order by n) f;
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- Functions clients may call
-- ---------------------------------------------------------------------------------------------
select function_privs_are('public', 'get_entities_needing_final_sync', array['uuid', 'text'], 'authenticated', array['EXECUTE'],
  'authenticated can execute get_entities_needing_final_sync');
select function_privs_are('public', 'get_entities_needing_final_sync', array['uuid', 'text'], 'service_role', array['EXECUTE'],
  'service_role can execute get_entities_needing_final_sync');
select is(
  (select prosecdef from pg_proc where oid = 'public.get_entities_needing_final_sync(uuid, text)'::regprocedure),
  false, 'get_entities_needing_final_sync runs as the caller (not security definer), so RLS applies');
select function_privs_are('private', 'current_user_ad_account_ids', array[]::text[], 'authenticated', array['EXECUTE'],
  'authenticated can execute private.current_user_ad_account_ids (every policy uses it)');
select function_privs_are('private', 'current_user_ad_account_ids', array[]::text[], 'anon', array[]::text[],
  'anon cannot execute private.current_user_ad_account_ids');
select function_privs_are('private', 'assert_job_claimant', array['bigint', 'text'], 'authenticated', array[]::text[],
  'authenticated cannot execute private.assert_job_claimant');
select function_privs_are('private', 'assert_job_claimant', array['bigint', 'text'], 'anon', array[]::text[],
  'anon cannot execute private.assert_job_claimant');
select is_empty(
  $$ select n.nspname, p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private')
       and p.prorettype <> 'trigger'::regtype
       and has_function_privilege('anon', p.oid, 'EXECUTE')
       and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e') $$,
  'anon can execute no adrail function');

-- ---------------------------------------------------------------------------------------------
-- Hardening: pinned search_path, security definer only where needed
-- ---------------------------------------------------------------------------------------------
select cmp_ok(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'private')),
  '>=', 15, 'the search_path check below covers the schema''s functions (at least the 15 of the base schema)');
select is_empty(
  $$ select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.proconfig
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private')
       and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and not ('search_path=""' = any (coalesce(p.proconfig, '{}'))) $$,
  'every function in public and private has search_path pinned to ''''');
select is_empty(
  $$ select p.proname from pg_proc p where p.pronamespace = 'public'::regnamespace and p.prosecdef $$,
  'no function in public (reachable through the API) is security definer');
select set_eq(
  $$ select p.proname::text from pg_proc p where p.pronamespace = 'private'::regnamespace and p.prosecdef $$,
  $$ values ('current_user_ad_account_ids'), ('enforce_state_transition'), ('enforce_launch_approval') $$,
  'the only security definer functions are private.current_user_ad_account_ids (read by the policies) and the two triggers that read roles whoever writes a job');

select * from finish();
rollback;
