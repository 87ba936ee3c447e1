-- adrail_health(): the service role's alone; counts and ages only; a job due for 10 minutes shows
-- as due with its age, one held by a live lease or a rate-limited account does not.
begin;
select plan(8);

select function_privs_are('public', 'adrail_health', array[]::text[], 'anon', '{}'::text[],
  'anon cannot execute adrail_health');
select function_privs_are('public', 'adrail_health', array[]::text[], 'authenticated', '{}'::text[],
  'authenticated cannot execute adrail_health');
select function_privs_are('public', 'adrail_health', array[]::text[], 'service_role', '{EXECUTE}'::text[],
  'service_role can execute adrail_health');

select is(
  (select array_agg(k order by k) from jsonb_object_keys(public.adrail_health()) k),
  array['cronInstalled', 'dueJobs', 'jobsByStatus', 'lastCronTickAgeSeconds',
        'oldestDueJobAgeSeconds', 'openCircuitBreakers', 'pendingFinalSyncs'],
  'adrail_health answers its fields only');

-- Only this transaction's jobs count: the others are out of the way for the checks below.
update public.campaign_creation_jobs set next_run_at = now() + interval '1 day'
where status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked');

select tests.create_supabase_user('hl_owner') as owner_id \gset
select tests.create_ad_account('hl_owner', 'act_91000801') as acct \gset
select tests.create_ad_account('hl_owner', 'act_91000802') as limited \gset
select id as overdue from public.create_campaign_creation_job(:'owner_id', :'acct', 'hl overdue', 1, 1, '{}', 'h') \gset
select id as leased from public.create_campaign_creation_job(:'owner_id', :'acct', 'hl leased', 1, 1, '{}', 'h') \gset
select id as waits from public.create_campaign_creation_job(:'owner_id', :'limited', 'hl waits', 1, 1, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = now() - interval '10 minutes'
where id in (:overdue, :leased, :waits);
update public.campaign_creation_jobs set locked_by = 'w', locked_until = now() + interval '1 minute'
where id = :leased;
update public.ad_accounts set rate_limited_until = now() + interval '1 minute', meta_outage_until = now() + interval '1 minute'
where id = :'limited';

select is((public.adrail_health() ->> 'dueJobs')::int, 1,
  'due: not the leased job, not the rate-limited account''s');
select ok((public.adrail_health() ->> 'oldestDueJobAgeSeconds')::int between 599 and 605,
  'the oldest due job''s age in seconds');
select ok((public.adrail_health() ->> 'openCircuitBreakers')::int >= 1, 'open breakers counted');
select unalike(public.adrail_health()::text, '%' || :'acct' || '%',
  'no account id in the answer');

select * from finish();
rollback;
