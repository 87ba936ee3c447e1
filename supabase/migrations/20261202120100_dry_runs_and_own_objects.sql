-- A dry run creates nothing, ever; and a job removes only what it made itself.
--
-- Dry runs: a dry-run job never goes in_progress, none of its slots ever goes creating (the intent
-- every creation batch commits before it is sent), and dry_run never changes after the job is
-- created. A verify request leaves a dry run as it is. Each refusal is ADR01, an illegal
-- transition, whoever attempts it.
--
-- Copies: an object in the job's campaign that carries a slot's deterministic name but not its id
-- is the job's own copy only while a create of that slot may have been applied without adrail
-- learning the id (its answer was lost, or the worker stopped mid-call): the slot's
-- may_have_copies. Once a read-back has seen the job whole (the job completes), no create of it is
-- in doubt any more: a same-named object found later was made by someone else (duplicated in Ads
-- Manager, say), and is reported in unowned_objects, never removed.
--
-- Verify: a completed job reopened by a verify request gets its retry budget back, so the repair
-- is not rolled back (deleting the live campaign) for retries spent by the launch.

create or replace function private.dry_run_job_creates_nothing() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.dry_run is distinct from old.dry_run then
    raise exception 'illegal campaign_creation_job change: dry_run stays what the launch asked for (job %)',
      new.id using errcode = 'ADR01';
  end if;
  if new.dry_run and new.status = 'in_progress' then
    raise exception 'illegal campaign_creation_job transition: % -> in_progress (job % is a dry run)',
      old.status, new.id using errcode = 'ADR01';
  end if;
  return new;
end;
$$;
comment on function private.dry_run_job_creates_nothing() is
  'Trigger: a dry-run job never goes in_progress (where jobs create), and dry_run never changes (ADR01).';

drop trigger if exists campaign_creation_jobs_dry_run_creates_nothing on public.campaign_creation_jobs;
create trigger campaign_creation_jobs_dry_run_creates_nothing
  before update of status, dry_run on public.campaign_creation_jobs
  for each row execute function private.dry_run_job_creates_nothing();

create or replace function private.dry_run_slot_creates_nothing() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from public.campaign_creation_jobs j where j.id = new.job_id and j.dry_run) then
    raise exception 'illegal entity_creation_slot transition: % -> creating (job % is a dry run)',
      old.status, new.job_id using errcode = 'ADR01';
  end if;
  return new;
end;
$$;
comment on function private.dry_run_slot_creates_nothing() is
  'Trigger: no slot of a dry-run job goes creating, the intent committed before every creation batch (ADR01), so no create is ever sent for it.';

drop trigger if exists entity_creation_slots_dry_run_creates_nothing on public.entity_creation_slots;
create trigger entity_creation_slots_dry_run_creates_nothing
  before update of status on public.entity_creation_slots
  for each row when (new.status = 'creating')
  execute function private.dry_run_slot_creates_nothing();

create or replace function public.request_job_verification(job_id bigint)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.lock_job(job_id);
begin
  if job.dry_run then
    return job;
  end if;
  if job.status = 'completed' then
    update public.campaign_creation_jobs j
    set status = 'in_progress', completed_at = null, next_run_at = now(), retry_count = 0
    where j.id = request_job_verification.job_id
    returning j.* into job;
  elsif job.status in ('pending', 'verifying', 'in_progress') then
    update public.campaign_creation_jobs j set next_run_at = now()
    where j.id = request_job_verification.job_id
    returning j.* into job;
  end if;
  return job;
end;
$$;
comment on function public.request_job_verification(bigint) is
  'POST /jobs/:id/verify: a completed job goes back to in_progress with its retry budget renewed (retry_count 0), so the worker re-reads Meta and repairs; a running one is made due now; a dry run, a finished failure or a rollback is left as it is.';

alter table public.entity_creation_slots
  add column if not exists may_have_copies boolean not null default false;
comment on column public.entity_creation_slots.may_have_copies is
  'A create of this slot may have been applied without adrail learning the id (answer lost, worker stopped mid-call): objects in the campaign under its name but not its id are the job''s own copies, and are removed. Set when such an outcome is resolved; cleared when the job completes (its read-back removed them), after which a same-named object is someone else''s: reported, never removed.';

create or replace function public.record_slot_outcomes(
  job_id bigint,
  worker text,
  outcomes jsonb
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.entity_creation_slots s
  set status = o.status,
      facebook_id = case when o.status = 'created' then o.facebook_id else s.facebook_id end,
      creation_completed_at = case when o.status = 'created' then now() else s.creation_completed_at end,
      error_message = o.error,
      may_have_copies = s.may_have_copies or coalesce(o.unknown_outcome, false)
  from jsonb_to_recordset(outcomes)
    as o(slot_id bigint, status text, facebook_id text, error text, unknown_outcome boolean)
  where s.job_id = record_slot_outcomes.job_id and s.id = o.slot_id
    and o.status in ('created', 'failed', 'creating');
  return private.refresh_job_counts(job_id);
end;
$$;
comment on function public.record_slot_outcomes(bigint, text, jsonb) is
  'After the call: one batch''s outcomes (jsonb array of {slot_id, status created|failed|creating, facebook_id, error, unknown_outcome}); creating = still unknown, with the reason; unknown_outcome = this resolves a create whose answer never came (sets may_have_copies). Recomputes the job''s counts.';

create or replace function private.settle_copies_on_completion() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.entity_creation_slots s set may_have_copies = false
  where s.job_id = new.id and s.may_have_copies;
  return null;
end;
$$;
comment on function private.settle_copies_on_completion() is
  'Trigger: a job that completes had every object read back and its copies removed, so no slot may have copies any more.';

drop trigger if exists campaign_creation_jobs_settle_copies on public.campaign_creation_jobs;
create trigger campaign_creation_jobs_settle_copies
  after update of status on public.campaign_creation_jobs
  for each row when (new.status = 'completed' and old.status is distinct from 'completed')
  execute function private.settle_copies_on_completion();
