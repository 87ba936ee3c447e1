-- The steps of a creation job, as the worker records them. Every function is fenced on the
-- claim token (private.assert_job_claimant: ADR02 for anyone else), writes a whole Graph batch's
-- outcome in one statement, and derives the job's counts from its slots, so the counts can
-- never disagree with what the slots say.

create or replace function private.refresh_job_counts(job_id bigint)
returns public.campaign_creation_jobs
language sql
set search_path = ''
as $$
  update public.campaign_creation_jobs j
  set ad_sets_created = counts.ad_sets,
      ads_created = counts.ads,
      facebook_campaign_id = counts.campaign_id
  from (
    select count(*) filter (where s.entity_type = 'ad_set' and s.status = 'created')::integer as ad_sets,
           count(*) filter (where s.entity_type = 'ad' and s.status = 'created')::integer as ads,
           max(s.facebook_id) filter (where s.entity_type = 'campaign' and s.status = 'created') as campaign_id
    from public.entity_creation_slots s
    where s.job_id = refresh_job_counts.job_id
  ) counts
  where j.id = refresh_job_counts.job_id
  returning j.*
$$;
comment on function private.refresh_job_counts(bigint) is
  'Recomputes ad_sets_created, ads_created and facebook_campaign_id from the job''s slots.';
revoke execute on function private.refresh_job_counts(bigint) from public, anon, authenticated;

create or replace function public.begin_slot_creations(
  job_id bigint,
  worker text,
  slot_ids bigint[]
) returns setof public.entity_creation_slots
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_job_claimant(job_id, worker);
  return query
  update public.entity_creation_slots s
  set status = 'creating',
      retry_count = s.retry_count + case when s.creation_started_at is null then 0 else 1 end,
      creation_started_at = now(),
      error_message = null
  where s.job_id = begin_slot_creations.job_id and s.id = any(slot_ids)
    and s.status in ('pending', 'failed')
  returning s.*;
end;
$$;
comment on function public.begin_slot_creations(bigint, text, bigint[]) is
  'Intent before the call: pending or failed slots go to creating (committed before the Graph batch is sent). A slot left in creating has an unknown outcome, never a failed one.';
revoke execute on function public.begin_slot_creations(bigint, text, bigint[]) from public, anon, authenticated;
grant execute on function public.begin_slot_creations(bigint, text, bigint[]) to service_role;

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
      error_message = o.error
  from jsonb_to_recordset(outcomes) as o(slot_id bigint, status text, facebook_id text, error text)
  where s.job_id = record_slot_outcomes.job_id and s.id = o.slot_id
    and o.status in ('created', 'failed', 'creating');
  return private.refresh_job_counts(job_id);
end;
$$;
comment on function public.record_slot_outcomes(bigint, text, jsonb) is
  'After the call: one batch''s outcomes (jsonb array of {slot_id, status created|failed|creating, facebook_id, error}); creating = still unknown, with the reason. Recomputes the job''s counts.';
revoke execute on function public.record_slot_outcomes(bigint, text, jsonb) from public, anon, authenticated;
grant execute on function public.record_slot_outcomes(bigint, text, jsonb) to service_role;

create or replace function public.record_slot_verification(
  job_id bigint,
  worker text,
  present bigint[],
  missing bigint[]
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.entity_creation_slots s
  set verified_at = now()
  where s.job_id = record_slot_verification.job_id and s.id = any(present) and s.status = 'created';
  update public.entity_creation_slots s
  set status = 'failed',
      silent_failures = s.silent_failures + 1,
      facebook_id = null,
      verified_at = null,
      error_message = format('reported created as %s, but Meta does not have it', s.facebook_id)
  where s.job_id = record_slot_verification.job_id and s.id = any(missing) and s.status = 'created';
  return private.refresh_job_counts(job_id);
end;
$$;
comment on function public.record_slot_verification(bigint, text, bigint[], bigint[]) is
  'Post-creation verification: present slots are stamped verified; missing ones (silent failures) go back to failed, to be created again.';
revoke execute on function public.record_slot_verification(bigint, text, bigint[], bigint[]) from public, anon, authenticated;
grant execute on function public.record_slot_verification(bigint, text, bigint[], bigint[]) to service_role;

create or replace function public.mark_slots_rolled_back(
  job_id bigint,
  worker text,
  slot_ids bigint[]
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.entity_creation_slots s
  set status = 'rolled_back'
  where s.job_id = mark_slots_rolled_back.job_id and s.id = any(slot_ids) and s.status <> 'rolled_back';
  return private.refresh_job_counts(job_id);
end;
$$;
comment on function public.mark_slots_rolled_back(bigint, text, bigint[]) is
  'Rollback: the slots whose Meta objects were deleted (or never existed) are rolled back.';
revoke execute on function public.mark_slots_rolled_back(bigint, text, bigint[]) from public, anon, authenticated;
grant execute on function public.mark_slots_rolled_back(bigint, text, bigint[]) to service_role;

create or replace function public.decide_job_rollback(
  job_id bigint,
  confirm boolean
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.lock_job(job_id);
begin
  -- Only a job waiting for this decision takes it; anything else is an illegal transition.
  if job.status <> 'awaiting_confirmation' then
    raise exception 'illegal campaign_creation_job transition: % -> %',
      job.status, case when confirm then 'rolling_back' else 'failed' end using errcode = 'ADR01';
  end if;
  update public.campaign_creation_jobs j
  set status = case when confirm then 'rolling_back' else 'failed' end,
      completed_at = case when confirm then null else now() end,
      rollback_reason = case when confirm then j.rollback_reason
        else coalesce(j.rollback_reason, '') || ' (rollback declined: partial state kept)' end,
      next_run_at = now()
  where j.id = decide_job_rollback.job_id
  returning j.* into job;
  return job;
end;
$$;
comment on function public.decide_job_rollback(bigint, boolean) is
  'The user''s answer to a job waiting for rollback confirmation (policy confirm): confirm = roll back now, decline = keep the partial state (failed). ADR01 for a job not waiting.';
revoke execute on function public.decide_job_rollback(bigint, boolean) from public, anon, authenticated;
grant execute on function public.decide_job_rollback(bigint, boolean) to service_role;

create or replace function public.request_job_verification(job_id bigint)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.lock_job(job_id);
begin
  if job.status = 'completed' then
    update public.campaign_creation_jobs j
    set status = 'in_progress', completed_at = null, next_run_at = now()
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
  'POST /jobs/:id/verify: a completed job goes back to in_progress so the worker re-reads Meta and repairs; a running one is made due now; a finished failure or rollback is left as it is.';
revoke execute on function public.request_job_verification(bigint) from public, anon, authenticated;
grant execute on function public.request_job_verification(bigint) to service_role;
