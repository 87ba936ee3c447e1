-- A job that crashes its worker (the worker dies or throws before writing anything) is no longer
-- claimed forever. Each claim counts one more claim without progress; any write of the claimant
-- through a fenced step function (slot outcomes, verification, rollback steps, status
-- transitions, release, retry, audit...) is progress and resets the count; a heartbeat is not.
-- The claim that would hand a job out for the crash_claim_limit-th time without progress (5 by
-- default) hands out nothing and, under the same row lock, moves the job to failure handling:
--   pending, verifying, in_progress -> rolling_back (policy auto) or awaiting_confirmation
--                                      (policy confirm), rollback_reason set;
--   rolling_back, rollback_blocked  -> rollback_blocked, next attempt an hour later (never
--                                      failed: it may own live objects; stuck_creation_jobs shows it).
-- The reason, "worker crashed K times" (K = claims handed out without progress, crash_claim_limit
-- - 1), goes to last_error and error_history.

alter table public.campaign_creation_jobs
  add column if not exists claims_without_progress integer not null default 0
    check (claims_without_progress >= 0),
  add column if not exists crash_claim_limit integer not null default 5
    check (crash_claim_limit >= 2);
comment on column public.campaign_creation_jobs.claims_without_progress is
  'Claims handed out since the claimant last recorded progress (any fenced write but a heartbeat); reset to 0 by private.assert_job_claimant.';
comment on column public.campaign_creation_jobs.crash_claim_limit is
  'The claim that would hand the job out for this many times without progress does not: the job goes to failure handling instead ("worker crashed K times").';

-- A crash-looping job that never got past pending or verifying starts its rollback (or waits
-- for the decision) from there, like one in progress.
insert into private.state_transitions (machine, from_status, to_status) values
  ('campaign_creation_job', 'pending', 'rolling_back'),
  ('campaign_creation_job', 'pending', 'awaiting_confirmation'),
  ('campaign_creation_job', 'verifying', 'rolling_back'),
  ('campaign_creation_job', 'verifying', 'awaiting_confirmation')
on conflict do nothing;

create or replace function private.assert_job_lease(job_id bigint, worker text)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.lock_job(job_id);
begin
  -- A null token or a missing lease never passes (null compared with null would let anyone in).
  if worker is null or job.locked_by is distinct from worker
     or job.locked_until is null or job.locked_until < now() then
    raise exception 'campaign creation job % is not leased by %', job_id, worker using errcode = 'ADR02';
  end if;
  return job;
end;
$$;
comment on function private.assert_job_lease(bigint, text) is
  'Locks the job row and raises ADR02 unless worker holds an unexpired lease on it. Records no progress (the heartbeat uses it); step functions use private.assert_job_claimant.';
revoke execute on function private.assert_job_lease(bigint, text) from public, anon, authenticated;
grant execute on function private.assert_job_lease(bigint, text) to service_role;

create or replace function private.assert_job_claimant(job_id bigint, worker text)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.assert_job_lease(job_id, worker);
begin
  -- The claimant is writing: that is progress. Undone with the step if the step then fails.
  if job.claims_without_progress <> 0 then
    update public.campaign_creation_jobs j set claims_without_progress = 0
    where j.id = assert_job_claimant.job_id
    returning j.* into job;
  end if;
  return job;
end;
$$;
comment on function private.assert_job_claimant(bigint, text) is
  'The fence in front of every worker write: locks the job row, raises ADR02 unless worker holds an unexpired lease on it, and records progress (claims_without_progress = 0).';
revoke execute on function private.assert_job_claimant(bigint, text) from public, anon, authenticated;
grant execute on function private.assert_job_claimant(bigint, text) to service_role;

create or replace function public.extend_campaign_creation_job_lease(
  job_id bigint,
  worker text,
  lease_seconds integer default 60
) returns timestamptz
language plpgsql
set search_path = ''
as $$
declare
  until timestamptz;
begin
  -- A heartbeat is not progress: a worker that heartbeats and then dies still counts as a crash.
  perform private.assert_job_lease(job_id, worker);
  update public.campaign_creation_jobs j
  set locked_until = now() + make_interval(secs => lease_seconds), heartbeat_at = now()
  where j.id = extend_campaign_creation_job_lease.job_id
  returning j.locked_until into until;
  return until;
end;
$$;
comment on function public.extend_campaign_creation_job_lease(bigint, text, integer) is
  'Heartbeat: pushes the lease forward; ADR02 if the worker lost it (a zombie must stop). Not progress: the crash count is kept.';
revoke execute on function public.extend_campaign_creation_job_lease(bigint, text, integer) from public, anon, authenticated;
grant execute on function public.extend_campaign_creation_job_lease(bigint, text, integer) to service_role;

create or replace function public.claim_campaign_creation_job(
  worker text,
  lease_seconds integer default 60
) returns setof public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
  stopped bigint[] := '{}';
  crashes integer;
  reason text;
  blocked boolean;
  to_status text;
begin
  loop
    select j.* into job
    from public.campaign_creation_jobs j
    where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
      and j.next_run_at <= now()
      and (j.locked_until is null or j.locked_until < now())
      and not exists (
        select 1 from public.ad_accounts a
        where a.id = j.ad_account_id and a.rate_limited_until > now()
      )
      and j.id <> all (stopped)
    order by j.next_run_at, j.id
    limit 1
    for update skip locked;
    if not found then
      return;
    end if;

    if job.claims_without_progress + 1 < job.crash_claim_limit then
      return query
      update public.campaign_creation_jobs j
      set locked_by = claim_campaign_creation_job.worker,
          locked_until = now() + make_interval(secs => claim_campaign_creation_job.lease_seconds),
          heartbeat_at = now(),
          claim_count = j.claim_count + 1,
          claims_without_progress = j.claims_without_progress + 1
      where j.id = job.id
      returning j.*;
      return;
    end if;

    -- The crash_claim_limit-th claim without progress: hand nothing out, stop the loop here.
    -- The row stays locked until this transaction ends, so no other claimer sees it meanwhile.
    crashes := job.claims_without_progress;
    reason := format('worker crashed %s %s', crashes, case when crashes = 1 then 'time' else 'times' end);
    blocked := job.status in ('rolling_back', 'rollback_blocked');
    to_status := case when blocked then 'rollback_blocked'
                      when job.rollback_policy = 'confirm' then 'awaiting_confirmation'
                      else 'rolling_back' end;
    update public.campaign_creation_jobs j
    set status = to_status,
        last_error = reason,
        error_history = j.error_history || jsonb_build_array(jsonb_build_object(
          'at', now(), 'status', to_status, 'error', reason, 'crashes', crashes)),
        rollback_triggered = true,
        rollback_reason = case when blocked then j.rollback_reason else reason end,
        next_run_at = case when blocked then now() + interval '1 hour' else now() end,
        locked_by = null,
        locked_until = null,
        claims_without_progress = 0
    where j.id = job.id;
    stopped := stopped || job.id;
  end loop;
end;
$$;
comment on function public.claim_campaign_creation_job(text, integer) is
  'Claims the next due job (pending, verifying, in_progress, rolling_back, rollback_blocked; skip locked), or none. worker must be a token unique to this claim: every later write is fenced on it. An expired lease is taken over; jobs of a rate-limited account wait. A job whose claim would be its crash_claim_limit-th without progress is not handed out: in the same transaction it goes to rolling_back / awaiting_confirmation (rollback_blocked, an hour later, if it was rolling back) with "worker crashed K times", and the next due job is claimed instead.';
revoke execute on function public.claim_campaign_creation_job(text, integer) from public, anon, authenticated;
grant execute on function public.claim_campaign_creation_job(text, integer) to service_role;
