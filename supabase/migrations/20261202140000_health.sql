-- Health for the health function (issue #10 item 8): one call answers whether the platform keeps
-- up, in counts and ages only (no ids, names, accounts or errors), so it may be shown to anyone.

create or replace function public.adrail_health() returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  last_tick timestamptz;
  cron_installed boolean := to_regclass('cron.job_run_details') is not null;
  due_jobs integer;
  oldest_due timestamptz;
  per_state jsonb;
  pending_final_syncs integer;
  open_breakers integer;
begin
  if cron_installed then
    execute $q$
      select max(d.start_time)
      from cron.job_run_details d
      join cron.job j on j.jobid = d.jobid
      where j.jobname = 'adrail-creation-worker'
    $q$ into last_tick;
  end if;

  -- Due as the claim sees it: a runnable status, its time come, no live lease, its account not
  -- waiting out a rate limit; due since its run time or since its lease expired, the later.
  select count(*), min(greatest(j.next_run_at, coalesce(j.locked_until, j.next_run_at)))
  into due_jobs, oldest_due
  from public.campaign_creation_jobs j
  where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
    and j.next_run_at <= now()
    and (j.locked_until is null or j.locked_until < now())
    and not exists (
      select 1 from public.ad_accounts a
      where a.id = j.ad_account_id and a.rate_limited_until > now()
    );

  select coalesce(jsonb_object_agg(s.status, s.jobs), '{}'::jsonb)
  into per_state
  from (
    select j.status, count(*) as jobs
    from public.campaign_creation_jobs j
    group by j.status
  ) s;

  select count(*) into pending_final_syncs
  from public.ad_status_change_log l
  where l.requires_final_sync and not l.final_sync_completed;

  select count(*) into open_breakers
  from public.ad_accounts a
  where a.meta_outage_until > now();

  return jsonb_build_object(
    'cronInstalled', cron_installed,
    'lastCronTickAgeSeconds',
      case when last_tick is null then null
           else floor(extract(epoch from now() - last_tick))::bigint end,
    'dueJobs', due_jobs,
    'oldestDueJobAgeSeconds',
      case when oldest_due is null then null
           else floor(extract(epoch from now() - oldest_due))::bigint end,
    'jobsByStatus', per_state,
    'pendingFinalSyncs', pending_final_syncs,
    'openCircuitBreakers', open_breakers
  );
end;
$$;
comment on function public.adrail_health() is
  'Counts and ages only, for the health function: age of the creation worker''s last pg_cron run (null without pg_cron or before its first run), creation jobs due and the age of the oldest (as the claim sees them), jobs per status, final syncs owed, ad accounts whose outage breaker is open.';
revoke execute on function public.adrail_health() from public, anon, authenticated;
grant execute on function public.adrail_health() to service_role;
