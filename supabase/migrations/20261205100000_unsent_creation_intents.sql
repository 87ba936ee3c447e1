-- A worker commits a batch's intent while the batch before it is on the wire, so that batches
-- leave back to back. When that earlier batch fails, the next one is never sent: its slots go
-- back to pending. Only the claimant can say a batch was never sent, and only a first intent
-- (a slot never tried before) can be withdrawn: a retried slot stays in doubt.

insert into private.state_transitions (machine, from_status, to_status)
values ('entity_creation_slot', 'creating', 'pending')
on conflict do nothing;

create or replace function public.withdraw_slot_creations(
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
  set status = 'pending',
      creation_started_at = null
  where s.job_id = withdraw_slot_creations.job_id and s.id = any(slot_ids)
    and s.status = 'creating' and s.retry_count = 0 and s.facebook_id is null
  returning s.*;
end;
$$;
comment on function public.withdraw_slot_creations(bigint, text, bigint[]) is
  'The claimant''s word that a batch whose intent it committed was never sent: its first-try slots (retry_count 0) go from creating back to pending. Returns the slots withdrawn. ADR02 if not the claimant.';
revoke execute on function public.withdraw_slot_creations(bigint, text, bigint[]) from public, anon, authenticated;
grant execute on function public.withdraw_slot_creations(bigint, text, bigint[]) to service_role;
