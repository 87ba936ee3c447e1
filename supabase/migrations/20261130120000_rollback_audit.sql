-- Rollback leaves a trail and never gives up. Before a rollback deletes an object it stores the
-- object's fields as Meta reported them, so a mistaken rollback can be recreated; a rollback that
-- cannot proceed blocks (rollback_blocked) and is tried again with a growing wait.

alter table public.campaign_creation_jobs
  add column if not exists rollback_attempts integer not null default 0
    check (rollback_attempts >= 0);
comment on column public.campaign_creation_jobs.rollback_attempts is
  'Times a rollback was blocked (account disabled, token refused, rate limit, Meta down); sets the growing wait before the next try.';

create table if not exists public.creation_job_audit (
  id bigint generated always as identity primary key,
  job_id bigint not null references public.campaign_creation_jobs (id) on delete cascade,
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  entity_type text not null check (entity_type in ('campaign', 'ad_set', 'ad')),
  facebook_id text not null,
  action text not null check (action in ('deleted_by_rollback')),
  fields jsonb not null,
  recorded_at timestamptz not null default now(),
  constraint creation_job_audit_once unique (job_id, facebook_id, action)
);
comment on table public.creation_job_audit is
  'What a job removed from Meta, with the object''s fields as Meta reported them just before: enough to recreate it after a mistaken rollback.';
create index if not exists creation_job_audit_job_idx on public.creation_job_audit (job_id);
create index if not exists creation_job_audit_account_idx on public.creation_job_audit (ad_account_id);
alter table public.creation_job_audit enable row level security;
drop policy if exists creation_job_audit_select on public.creation_job_audit;
create policy creation_job_audit_select on public.creation_job_audit
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

create or replace function public.record_rollback_audit(
  job_id bigint,
  worker text,
  entries jsonb
) returns void
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.assert_job_claimant(job_id, worker);
begin
  insert into public.creation_job_audit (job_id, ad_account_id, entity_type, facebook_id, action, fields)
  select job.id, job.ad_account_id, e->>'entity_type', e->>'facebook_id', 'deleted_by_rollback', e->'fields'
  from jsonb_array_elements(entries) e
  -- A rollback tried again after a block records the object once, with its latest fields.
  on conflict on constraint creation_job_audit_once
  do update set fields = excluded.fields, recorded_at = now();
end;
$$;
comment on function public.record_rollback_audit(bigint, text, jsonb) is
  'Stores, before a rollback deletes them, the objects'' fields as read from Meta ([{entity_type, facebook_id, fields}]). Fenced on the claimant (ADR02).';
revoke execute on function public.record_rollback_audit(bigint, text, jsonb) from public, anon, authenticated;
grant execute on function public.record_rollback_audit(bigint, text, jsonb) to service_role;

create or replace function public.block_rollback(
  job_id bigint,
  worker text,
  reason text,
  next_run_at timestamptz
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.campaign_creation_jobs j
  set status = 'rollback_blocked',
      rollback_attempts = j.rollback_attempts + 1,
      last_error = reason,
      error_history = j.error_history || jsonb_build_array(jsonb_build_object(
        'at', now(), 'status', 'rollback_blocked', 'error', reason)),
      next_run_at = block_rollback.next_run_at,
      locked_by = null,
      locked_until = null
  where j.id = block_rollback.job_id
  returning j.* into job;
  return job;
end;
$$;
comment on function public.block_rollback(bigint, text, text, timestamptz) is
  'A rollback that cannot proceed: the job waits in rollback_blocked with its reason until next_run_at, released (the state machine allows it only from rolling_back). Fenced on the claimant (ADR02).';
revoke execute on function public.block_rollback(bigint, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.block_rollback(bigint, text, text, timestamptz) to service_role;
