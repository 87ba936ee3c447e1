-- How many creation-worker runs work at once, held in the database. Every launch starts a run
-- (so that it starts at once) and pg_cron starts one a minute; each run holds a pool of up to five
-- connections and runs up to four jobs. Unbounded, a burst of launches piled up hundreds of runs
-- and exhausted Postgres's connections (the chaos soak: 395 at two launches a second). A run now
-- first takes one of a fixed number of slots; without one it ends at once, and the runs holding
-- the slots take its job up (their idle lanes look for due jobs every second).

create table public.creation_worker_slots (
  slot smallint primary key check (slot >= 1),
  run_id text,
  held_until timestamptz,
  claimed_at timestamptz,
  check ((run_id is null) = (held_until is null))
);
comment on table public.creation_worker_slots is
  'One row per creation-worker run allowed at once (capacity: set_creation_worker_slots). A run holds a slot while run_id is set and held_until is in the future; it extends the hold while it works and clears it when it ends, and a killed run''s slot is free again once held_until passes.';
comment on column public.creation_worker_slots.run_id is
  'The run holding the slot (its runId in the function logs), or null when free.';
comment on column public.creation_worker_slots.held_until is
  'The hold expires then unless the run extends it: a run killed by the runtime frees its slot within the hold.';
alter table public.creation_worker_slots enable row level security;
revoke all on table public.creation_worker_slots from anon, authenticated;

insert into public.creation_worker_slots (slot) select generate_series(1, 4);

create or replace function public.set_creation_worker_slots(slots integer) returns integer
language plpgsql
set search_path = ''
as $$
begin
  if slots is null or slots < 1 or slots > 100 then
    raise exception 'creation worker slots must be between 1 and 100, got %', slots
      using errcode = '22023';
  end if;
  -- A removed slot's run finds it gone at its next extension and stops taking jobs.
  delete from public.creation_worker_slots s where s.slot > slots;
  insert into public.creation_worker_slots (slot)
  select generate_series(1, slots) on conflict (slot) do nothing;
  return slots;
end;
$$;
comment on function public.set_creation_worker_slots(integer) is
  'Sets how many creation-worker runs may work at once (4 by default; each run works up to four jobs on up to five connections). Returns the new capacity.';
revoke execute on function public.set_creation_worker_slots(integer) from public, anon, authenticated;

create or replace function public.claim_creation_worker_slot(run_id text, hold_seconds integer)
returns smallint
language sql
set search_path = ''
as $$
  update public.creation_worker_slots s
  set run_id = claim_creation_worker_slot.run_id,
      held_until = now() + make_interval(secs => hold_seconds),
      claimed_at = now()
  where s.slot = (
    select f.slot from public.creation_worker_slots f
    where f.held_until is null or f.held_until < now()
    order by f.slot
    limit 1
    for update skip locked
  )
  returning s.slot
$$;
comment on function public.claim_creation_worker_slot(text, integer) is
  'Takes a free (or expired) creation-worker slot for run_id for hold_seconds; returns its number, or null when every slot is held: that run ends and the holders take its job up.';
revoke execute on function public.claim_creation_worker_slot(text, integer) from public, anon, authenticated;
grant execute on function public.claim_creation_worker_slot(text, integer) to service_role;

create or replace function public.extend_creation_worker_slot(
  slot smallint,
  run_id text,
  hold_seconds integer
) returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.creation_worker_slots s
  set held_until = now() + make_interval(secs => hold_seconds)
  where s.slot = extend_creation_worker_slot.slot and s.run_id = extend_creation_worker_slot.run_id;
  if not found then
    raise exception 'creation worker slot % is not held by %', slot, run_id using errcode = 'ADR02';
  end if;
end;
$$;
comment on function public.extend_creation_worker_slot(smallint, text, integer) is
  'Extends run_id''s hold on its slot; ADR02 when the run no longer holds it (its hold expired and another run took it, or the slot was removed): the run takes no more jobs.';
revoke execute on function public.extend_creation_worker_slot(smallint, text, integer) from public, anon, authenticated;
grant execute on function public.extend_creation_worker_slot(smallint, text, integer) to service_role;

create or replace function public.release_creation_worker_slot(slot smallint, run_id text)
returns void
language sql
set search_path = ''
as $$
  update public.creation_worker_slots s
  set run_id = null, held_until = null, claimed_at = null
  where s.slot = release_creation_worker_slot.slot and s.run_id = release_creation_worker_slot.run_id
$$;
comment on function public.release_creation_worker_slot(smallint, text) is
  'Frees run_id''s slot when the run ends; a no-op when the run no longer holds it.';
revoke execute on function public.release_creation_worker_slot(smallint, text) from public, anon, authenticated;
grant execute on function public.release_creation_worker_slot(smallint, text) to service_role;
