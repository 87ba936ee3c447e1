-- One round trip between two creation batches of a job: the outcomes of the batch just answered,
-- the lease's heartbeat and the next batch's intent (its slots to creating), in one transaction.
-- The intent is still committed before the next batch is sent: the worker sends it only once
-- this call has returned.
create or replace function public.record_slot_outcomes_and_begin_next(
  job_id bigint,
  worker text,
  outcomes jsonb,
  next_slot_ids bigint[],
  lease_seconds integer
) returns setof public.entity_creation_slots
language plpgsql
set search_path = ''
as $$
begin
  perform public.record_slot_outcomes(job_id, worker, outcomes);
  perform public.extend_campaign_creation_job_lease(job_id, worker, lease_seconds);
  return query
  select s.* from public.entity_creation_slots s
  where s.job_id = record_slot_outcomes_and_begin_next.job_id
    and s.id in (select (o ->> 'slot_id')::bigint from jsonb_array_elements(outcomes) o);
  return query select * from public.begin_slot_creations(job_id, worker, next_slot_ids);
end;
$$;
comment on function public.record_slot_outcomes_and_begin_next(bigint, text, jsonb, bigint[], integer) is
  'Between two batches of a job, in one transaction: record_slot_outcomes for the batch answered, the lease extended by lease_seconds, begin_slot_creations for the next batch (intent, committed before that batch is sent). Returns the slots it wrote, as they now are. ADR02 if not the claimant.';
revoke execute on function public.record_slot_outcomes_and_begin_next(bigint, text, jsonb, bigint[], integer) from public, anon, authenticated;
grant execute on function public.record_slot_outcomes_and_begin_next(bigint, text, jsonb, bigint[], integer) to service_role;
