-- Durable campaign-creation jobs: the job, one slot per wanted Meta object, and the record of
-- each pre-creation verification. A job lives here, not in a request: workers claim it with a
-- lease, every later write is fenced on the claim token, and a killed worker loses nothing.
--
-- Error codes raised here (branch on them in TypeScript, DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR01  illegal state transition (private.enforce_state_transition)
--   ADR02  the caller does not hold the job's lease
--   ADR03  idempotency key reused with a different request
--   ADR04  the row does not exist
--   ADR05  the job's retry budget is exhausted

create table if not exists public.campaign_creation_jobs (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  campaign_name text not null check (length(campaign_name) between 1 and 400),
  requested_ad_sets integer not null check (requested_ad_sets between 1 and 500),
  requested_ads integer not null check (requested_ads >= 0),
  ads_per_ad_set integer not null check (ads_per_ad_set between 0 and 50),
  status text not null default 'pending' check (status in (
    'pending', 'verifying', 'in_progress', 'awaiting_confirmation', 'rolling_back',
    'completed', 'failed', 'rolled_back'
  )),
  started_at timestamptz,
  completed_at timestamptz,
  ad_sets_created integer not null default 0 check (ad_sets_created >= 0),
  ads_created integer not null default 0 check (ads_created >= 0),
  retry_count integer not null default 0,
  retry_budget integer not null default 5 check (retry_budget between 0 and 50),
  last_retry_at timestamptz,
  last_error text,
  error_history jsonb not null default '[]'::jsonb,
  rollback_policy text not null default 'auto' check (rollback_policy in ('auto', 'confirm')),
  rollback_triggered boolean not null default false,
  rollback_reason text,
  rollback_at timestamptz,
  facebook_campaign_id text,
  dry_run boolean not null default false,
  idempotency_key text,
  request jsonb not null,
  request_hash text not null,
  next_run_at timestamptz not null default now(),
  locked_by text,
  locked_until timestamptz,
  claim_count integer not null default 0,
  heartbeat_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint campaign_creation_jobs_idempotency_unique unique (user_id, idempotency_key),
  constraint campaign_creation_jobs_requested_ads_total
    check (requested_ads = requested_ad_sets * ads_per_ad_set),
  constraint campaign_creation_jobs_never_more_than_requested
    check (ad_sets_created <= requested_ad_sets and ads_created <= requested_ads),
  constraint campaign_creation_jobs_retry_budget_enforced check (retry_count <= retry_budget)
);
comment on table public.campaign_creation_jobs is
  'One bulk launch (1 campaign, requested_ad_sets ad sets, ads_per_ad_set ads each). Claimed by workers through claim_campaign_creation_job; every worker write is fenced on locked_by.';
comment on column public.campaign_creation_jobs.requested_ads is 'Total ads requested: requested_ad_sets x ads_per_ad_set.';
comment on column public.campaign_creation_jobs.request is 'The validated request body, replayed by whichever worker claims the job.';
comment on column public.campaign_creation_jobs.request_hash is 'Hash of the request: the same idempotency key with another body is a conflict (ADR03).';
comment on column public.campaign_creation_jobs.next_run_at is 'Not claimable before this time: backoff and rate-limit waits are durable.';
comment on column public.campaign_creation_jobs.locked_by is 'Claim token of the worker holding the lease; null when unclaimed.';
create index if not exists campaign_creation_jobs_claimable_idx
  on public.campaign_creation_jobs (next_run_at, id)
  where status in ('pending', 'verifying', 'in_progress', 'rolling_back');
create index if not exists campaign_creation_jobs_account_created_idx
  on public.campaign_creation_jobs (ad_account_id, created_at);
create index if not exists campaign_creation_jobs_status_updated_idx
  on public.campaign_creation_jobs (status, updated_at);
create index if not exists campaign_creation_jobs_created_at_idx
  on public.campaign_creation_jobs (created_at);

drop trigger if exists campaign_creation_jobs_touch_updated_at on public.campaign_creation_jobs;
create trigger campaign_creation_jobs_touch_updated_at before update on public.campaign_creation_jobs
  for each row execute function private.touch_updated_at();
drop trigger if exists enforce_campaign_creation_job_transition on public.campaign_creation_jobs;
create trigger enforce_campaign_creation_job_transition
  before insert or update of status on public.campaign_creation_jobs
  for each row execute function private.enforce_state_transition('campaign_creation_job');

create table if not exists public.entity_creation_slots (
  id bigint generated always as identity primary key,
  job_id bigint not null references public.campaign_creation_jobs (id) on delete cascade,
  slot_number integer not null check (slot_number >= 1),
  entity_type text not null check (entity_type in ('campaign', 'ad_set', 'ad')),
  parent_slot_number integer,
  facebook_id text,
  entity_name text not null,
  status text not null default 'pending' check (status in (
    'pending', 'creating', 'created', 'failed', 'rolled_back'
  )),
  creation_started_at timestamptz,
  creation_completed_at timestamptz,
  verified_at timestamptz,
  silent_failures integer not null default 0 check (silent_failures >= 0),
  error_message text,
  retry_count integer not null default 0 check (retry_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint entity_creation_slots_unique unique (job_id, slot_number, entity_type),
  constraint entity_creation_slots_name_unique unique (job_id, entity_type, entity_name),
  constraint entity_creation_slots_parent
    check ((entity_type = 'campaign') = (parent_slot_number is null)),
  constraint entity_creation_slots_created_has_id
    check (status <> 'created' or facebook_id is not null)
);
comment on table public.entity_creation_slots is
  'One row per Meta object a job may create. Only a slot may create, so the count on Meta can never exceed the request; creating with no outcome means unknown, never failed.';
comment on column public.entity_creation_slots.entity_name is
  'Deterministic name, unique inside the job: an unknown outcome is resolved by looking the name up on Meta.';
comment on column public.entity_creation_slots.parent_slot_number is
  'The ad set slot of an ad, the campaign slot (1) of an ad set; null for the campaign.';
comment on column public.entity_creation_slots.silent_failures is
  'Times post-creation verification found this slot reported created but missing on Meta.';
create unique index if not exists entity_creation_slots_facebook_id_unique
  on public.entity_creation_slots (entity_type, facebook_id) where facebook_id is not null;
create index if not exists entity_creation_slots_job_status_idx
  on public.entity_creation_slots (job_id, status);

drop trigger if exists entity_creation_slots_touch_updated_at on public.entity_creation_slots;
create trigger entity_creation_slots_touch_updated_at before update on public.entity_creation_slots
  for each row execute function private.touch_updated_at();
drop trigger if exists enforce_entity_creation_slot_transition on public.entity_creation_slots;
create trigger enforce_entity_creation_slot_transition
  before insert or update of status on public.entity_creation_slots
  for each row execute function private.enforce_state_transition('entity_creation_slot');

create table if not exists public.pre_creation_verifications (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  job_id bigint references public.campaign_creation_jobs (id) on delete set null,
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  campaign_name text not null,
  can_proceed boolean not null,
  verification_time_ms integer not null check (verification_time_ms >= 0),
  account_accessible boolean,
  account_suspended boolean,
  duplicate_campaign_exists boolean,
  at_account_limit boolean,
  token_valid boolean,
  warnings jsonb not null default '[]'::jsonb,
  errors jsonb not null default '[]'::jsonb,
  current_campaign_count integer,
  account_limit integer,
  created_at timestamptz not null default now()
);
comment on table public.pre_creation_verifications is
  'Outcome of each pre-creation verification (layer 1), whether it let the job proceed or not.';
create index if not exists pre_creation_verifications_job_id_idx on public.pre_creation_verifications (job_id);
create index if not exists pre_creation_verifications_account_created_idx
  on public.pre_creation_verifications (ad_account_id, created_at);
create index if not exists pre_creation_verifications_user_id_idx on public.pre_creation_verifications (user_id);
create index if not exists campaign_creation_jobs_user_id_idx on public.campaign_creation_jobs (user_id);

create or replace function public.create_campaign_creation_job(
  user_id uuid,
  ad_account_id uuid,
  campaign_name text,
  ad_sets integer,
  ads_per_ad_set integer,
  request jsonb,
  request_hash text,
  idempotency_key text default null,
  rollback_policy text default 'auto',
  retry_budget integer default 5,
  dry_run boolean default false
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  if idempotency_key is not null then
    select * into job from public.campaign_creation_jobs j
    where j.user_id = create_campaign_creation_job.user_id
      and j.idempotency_key = create_campaign_creation_job.idempotency_key;
    if found then
      if job.request_hash <> create_campaign_creation_job.request_hash then
        raise exception 'idempotency key % was already used with a different request', idempotency_key
          using errcode = 'ADR03';
      end if;
      return job;
    end if;
  end if;

  insert into public.campaign_creation_jobs (
    user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set,
    request, request_hash, idempotency_key, rollback_policy, retry_budget, dry_run
  ) values (
    create_campaign_creation_job.user_id, create_campaign_creation_job.ad_account_id,
    create_campaign_creation_job.campaign_name, ad_sets, ad_sets * ads_per_ad_set, ads_per_ad_set,
    create_campaign_creation_job.request, create_campaign_creation_job.request_hash,
    create_campaign_creation_job.idempotency_key, create_campaign_creation_job.rollback_policy,
    create_campaign_creation_job.retry_budget, create_campaign_creation_job.dry_run
  )
  on conflict on constraint campaign_creation_jobs_idempotency_unique do nothing
  returning * into job;

  if not found then
    -- A concurrent request with the same key won the insert: answer with its job.
    return public.create_campaign_creation_job(
      user_id, ad_account_id, campaign_name, ad_sets, ads_per_ad_set, request, request_hash,
      idempotency_key, rollback_policy, retry_budget, dry_run
    );
  end if;

  insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name)
  select job.id, 1, 'campaign', null, job.campaign_name
  union all
  select job.id, s, 'ad_set', 1, format('%s [adrail j%s as%s]', job.campaign_name, job.id, s)
  from generate_series(1, ad_sets) s
  union all
  select job.id, (s - 1) * ads_per_ad_set + a, 'ad', s,
         format('%s [adrail j%s as%s ad%s]', job.campaign_name, job.id, s, a)
  from generate_series(1, ad_sets) s, generate_series(1, ads_per_ad_set) a;

  return job;
end;
$$;
comment on function public.create_campaign_creation_job(uuid, uuid, text, integer, integer, jsonb, text, text, text, integer, boolean) is
  'Layer 2 in one transaction: the job and all its slots (1 campaign, N ad sets, N x M ads, each with its deterministic name). The same idempotency key returns the same job; with another request_hash it raises ADR03.';
revoke execute on function public.create_campaign_creation_job(uuid, uuid, text, integer, integer, jsonb, text, text, text, integer, boolean) from public, anon, authenticated;
grant execute on function public.create_campaign_creation_job(uuid, uuid, text, integer, integer, jsonb, text, text, text, integer, boolean) to service_role;

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
    where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back')
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
  'Claims the next due job in one statement (skip locked), or none. worker must be a token unique to this claim: every later write is fenced on it. An expired lease is taken over; jobs of a rate-limited account wait.';
revoke execute on function public.claim_campaign_creation_job(text, integer) from public, anon, authenticated;
grant execute on function public.claim_campaign_creation_job(text, integer) to service_role;

create or replace function public.record_ad_account_rate_limit(
  ad_account_id uuid,
  until timestamptz
) returns timestamptz
language sql
set search_path = ''
as $$
  update public.ad_accounts a
  set rate_limited_until = greatest(a.rate_limited_until, record_ad_account_rate_limit.until)
  where a.id = record_ad_account_rate_limit.ad_account_id
  returning a.rate_limited_until
$$;
comment on function public.record_ad_account_rate_limit(uuid, timestamptz) is
  'Records that Meta throttles the account until the given time (never shortening a longer wait); claim_campaign_creation_job skips its jobs until then.';
revoke execute on function public.record_ad_account_rate_limit(uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.record_ad_account_rate_limit(uuid, timestamptz) to service_role;

create or replace function private.lock_job(job_id bigint)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  select * into job from public.campaign_creation_jobs j where j.id = lock_job.job_id for update;
  if not found then
    raise exception 'campaign creation job % not found', job_id using errcode = 'ADR04';
  end if;
  return job;
end;
$$;
comment on function private.lock_job(bigint) is
  'Locks a job''s row for the rest of the transaction and returns it; ADR04 when there is none.';
revoke execute on function private.lock_job(bigint) from public, anon, authenticated;

create or replace function private.assert_job_claimant(job_id bigint, worker text)
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
comment on function private.assert_job_claimant(bigint, text) is
  'Locks the job row and raises ADR02 unless worker holds an unexpired lease on it: the fence in front of every worker write.';
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
  perform private.assert_job_claimant(job_id, worker);
  update public.campaign_creation_jobs j
  set locked_until = now() + make_interval(secs => lease_seconds), heartbeat_at = now()
  where j.id = extend_campaign_creation_job_lease.job_id
  returning j.locked_until into until;
  return until;
end;
$$;
comment on function public.extend_campaign_creation_job_lease(bigint, text, integer) is
  'Heartbeat: pushes the lease forward; ADR02 if the worker lost it (a zombie must stop).';
revoke execute on function public.extend_campaign_creation_job_lease(bigint, text, integer) from public, anon, authenticated;
grant execute on function public.extend_campaign_creation_job_lease(bigint, text, integer) to service_role;

create or replace function public.release_campaign_creation_job(
  job_id bigint,
  worker text,
  next_run_at timestamptz default now()
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.campaign_creation_jobs j
  set locked_by = null, locked_until = null,
      next_run_at = release_campaign_creation_job.next_run_at
  where j.id = release_campaign_creation_job.job_id
  returning j.* into job;
  return job;
end;
$$;
comment on function public.release_campaign_creation_job(bigint, text, timestamptz) is
  'Gives the job back with the time it may next run (a backoff or a rate-limit wait, however long). ADR02 if not the claimant.';
revoke execute on function public.release_campaign_creation_job(bigint, text, timestamptz) from public, anon, authenticated;
grant execute on function public.release_campaign_creation_job(bigint, text, timestamptz) to service_role;

create or replace function public.transition_campaign_creation_job(
  job_id bigint,
  worker text,
  to_status text,
  error text default null
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
  terminal boolean := to_status in ('completed', 'failed', 'rolled_back');
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.campaign_creation_jobs j
  set status = to_status,
      started_at = case when to_status = 'verifying' then coalesce(j.started_at, now()) else j.started_at end,
      completed_at = case when terminal then now() else null end,
      last_error = coalesce(error, j.last_error),
      error_history = case when error is null then j.error_history
        else j.error_history || jsonb_build_array(jsonb_build_object(
          'at', now(), 'status', to_status, 'error', error)) end,
      rollback_triggered = j.rollback_triggered or to_status in ('rolling_back', 'awaiting_confirmation'),
      rollback_reason = case when to_status in ('rolling_back', 'awaiting_confirmation')
        then coalesce(error, j.rollback_reason) else j.rollback_reason end,
      rollback_at = case when to_status = 'rolled_back' then now() else j.rollback_at end,
      locked_by = case when terminal then null else j.locked_by end,
      locked_until = case when terminal then null else j.locked_until end
  where j.id = transition_campaign_creation_job.job_id
  returning j.* into job;
  return job;
end;
$$;
comment on function public.transition_campaign_creation_job(bigint, text, text, text) is
  'Moves a leased job to to_status (ADR01 if illegal, ADR02 if not the claimant), stamping times, error history and rollback bookkeeping; a terminal status releases the lease.';
revoke execute on function public.transition_campaign_creation_job(bigint, text, text, text) from public, anon, authenticated;
grant execute on function public.transition_campaign_creation_job(bigint, text, text, text) to service_role;

create or replace function public.consume_campaign_creation_job_retry(
  job_id bigint,
  worker text,
  error text
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  job := private.assert_job_claimant(job_id, worker);
  if job.retry_count >= job.retry_budget then
    raise exception 'campaign creation job % has used its retry budget of %', job_id, job.retry_budget
      using errcode = 'ADR05';
  end if;
  update public.campaign_creation_jobs j
  set retry_count = j.retry_count + 1,
      last_retry_at = now(),
      last_error = error,
      error_history = j.error_history || jsonb_build_array(jsonb_build_object(
        'at', now(), 'status', j.status, 'error', error, 'retry', j.retry_count + 1))
  where j.id = consume_campaign_creation_job_retry.job_id
  returning j.* into job;
  return job;
end;
$$;
comment on function public.consume_campaign_creation_job_retry(bigint, text, text) is
  'Spends one retry of the job''s budget, recording why; ADR05 once the budget is used up (the caller then rolls back).';
revoke execute on function public.consume_campaign_creation_job_retry(bigint, text, text) from public, anon, authenticated;
grant execute on function public.consume_campaign_creation_job_retry(bigint, text, text) to service_role;

create or replace function public.recover_stalled_creation_jobs()
returns integer
language sql
set search_path = ''
as $$
  with stalled as (
    update public.campaign_creation_jobs j
    set locked_by = null, locked_until = null, next_run_at = least(j.next_run_at, now())
    where j.locked_by is not null and j.locked_until < now()
      and j.status in ('pending', 'verifying', 'in_progress', 'rolling_back')
    returning 1
  )
  select count(*)::integer from stalled
$$;
comment on function public.recover_stalled_creation_jobs() is
  'Frees the leases that expired with their worker (killed, timed out) so the next claim resumes those jobs at once. Returns how many.';
revoke execute on function public.recover_stalled_creation_jobs() from public, anon, authenticated;
grant execute on function public.recover_stalled_creation_jobs() to service_role;
