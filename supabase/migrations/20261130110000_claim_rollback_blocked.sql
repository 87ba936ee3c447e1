-- A job waiting in `rollback_blocked` is claimable once due, exactly like `rolling_back`: the
-- blocked rollback is released with a next_run_at, and the worker that claims it tries again.
-- The status list of the claim, of next_creation_job_due_at, of recover_stalled_creation_jobs and
-- of the partial index campaign_creation_jobs_claimable_idx is the same everywhere:
--   pending, verifying, in_progress, rolling_back, rollback_blocked.

-- The status column's check did not know rollback_blocked yet (the state machine did): a row
-- could not be stored in it. Same list as private.state_transitions, 9 statuses.
alter table public.campaign_creation_jobs
  drop constraint if exists campaign_creation_jobs_status_check,
  add constraint campaign_creation_jobs_status_check check (status in (
    'pending', 'verifying', 'in_progress', 'awaiting_confirmation', 'rolling_back',
    'rollback_blocked', 'completed', 'failed', 'rolled_back'
  ));

drop index if exists public.campaign_creation_jobs_claimable_idx;
create index campaign_creation_jobs_claimable_idx
  on public.campaign_creation_jobs (next_run_at, id)
  where status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked');
comment on index public.campaign_creation_jobs_claimable_idx is
  'Due jobs in a claimable status, in claim order; same status list as claim_campaign_creation_job.';

create or replace function public.claim_campaign_creation_job(
  worker text,
  lease_seconds integer default 60
) returns setof public.campaign_creation_jobs
language sql
set search_path = ''
as $$
  with candidate as (
    select j.id
    from public.campaign_creation_jobs j
    where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
      and j.next_run_at <= now()
      and (j.locked_until is null or j.locked_until < now())
      and not exists (
        select 1 from public.ad_accounts a
        where a.id = j.ad_account_id and a.rate_limited_until > now()
      )
    order by j.next_run_at, j.id
    limit 1
    for update skip locked
  )
  update public.campaign_creation_jobs j
  set locked_by = claim_campaign_creation_job.worker,
      locked_until = now() + make_interval(secs => claim_campaign_creation_job.lease_seconds),
      heartbeat_at = now(),
      claim_count = j.claim_count + 1
  from candidate
  where j.id = candidate.id
  returning j.*
$$;
comment on function public.claim_campaign_creation_job(text, integer) is
  'Claims the next due job in one statement (skip locked), or none: pending, verifying, in_progress, rolling_back or rollback_blocked. worker must be a token unique to this claim: every later write is fenced on it. An expired lease is taken over; jobs of a rate-limited account wait.';
revoke execute on function public.claim_campaign_creation_job(text, integer) from public, anon, authenticated;
grant execute on function public.claim_campaign_creation_job(text, integer) to service_role;

create or replace function public.next_creation_job_due_at() returns timestamptz
language sql
stable
set search_path = ''
as $$
  select min(greatest(j.next_run_at, coalesce(a.rate_limited_until, j.next_run_at)))
  from public.campaign_creation_jobs j
  join public.ad_accounts a on a.id = j.ad_account_id
  where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
    and (j.locked_until is null or j.locked_until < now())
$$;
comment on function public.next_creation_job_due_at() is
  'When the soonest unclaimed creation job (same statuses as the claim, rollback_blocked included) becomes claimable (its backoff or its account''s rate-limit wait over); null when none waits. A worker run with nothing due waits for it when it is near.';
revoke execute on function public.next_creation_job_due_at() from public, anon, authenticated;
grant execute on function public.next_creation_job_due_at() to service_role;

create or replace function public.recover_stalled_creation_jobs()
returns integer
language sql
set search_path = ''
as $$
  with stalled as (
    update public.campaign_creation_jobs j
    set locked_by = null, locked_until = null, next_run_at = least(j.next_run_at, now())
    where j.locked_by is not null and j.locked_until < now()
      and j.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
    returning 1
  )
  select count(*)::integer from stalled
$$;
comment on function public.recover_stalled_creation_jobs() is
  'Frees the leases that expired with their worker (killed, timed out) so the next claim resumes those jobs at once (rollback_blocked included). Returns how many.';
revoke execute on function public.recover_stalled_creation_jobs() from public, anon, authenticated;
grant execute on function public.recover_stalled_creation_jobs() to service_role;
