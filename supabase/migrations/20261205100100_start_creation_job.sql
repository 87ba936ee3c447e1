-- A claimed job's start in one round trip: pending -> verifying -> in_progress (or completed for
-- a dry run). Pre-creation verification ran in the launch request, before the job existed, so
-- the worker passes verifying at once; each step is still a transition the state machine checks.

create or replace function public.start_campaign_creation_job(job_id bigint, worker text)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  job := private.assert_job_claimant(job_id, worker);
  if job.status = 'pending' then
    job := public.transition_campaign_creation_job(job_id, worker, 'verifying');
  end if;
  if job.status = 'verifying' then
    job := public.transition_campaign_creation_job(job_id, worker,
      case when job.dry_run then 'completed' else 'in_progress' end);
  end if;
  return job;
end;
$$;
comment on function public.start_campaign_creation_job(bigint, text) is
  'Starts a claimed job: pending or verifying goes on to in_progress (completed for a dry run: its verification ran before the job existed), through verifying, in one transaction; any other status is returned as it is. ADR02 if not the claimant.';
revoke execute on function public.start_campaign_creation_job(bigint, text) from public, anon, authenticated;
grant execute on function public.start_campaign_creation_job(bigint, text) to service_role;
