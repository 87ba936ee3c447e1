-- How many creation-worker runs work at once is the database's to say: a run takes one of the
-- creation_worker_slots or ends. Holds expire (a killed run), extensions and releases are fenced
-- on the run, and clients have no way in.
begin;
select plan(15);

select public.set_creation_worker_slots(2);
update public.creation_worker_slots set run_id = null, held_until = null, claimed_at = null;

-- ---------------------------------------------------------------------------------------------
-- Runs claim: as many as there are slots, then none.
-- ---------------------------------------------------------------------------------------------
select is(public.claim_creation_worker_slot('run-a', 30), 1::smallint, 'the first run takes slot 1');
select is(public.claim_creation_worker_slot('run-b', 30), 2::smallint, 'the second run takes slot 2');
select is(public.claim_creation_worker_slot('run-c', 30), null::smallint,
  'a third run finds every slot held and gets none');

-- ---------------------------------------------------------------------------------------------
-- A run extends and releases only its own slot.
-- ---------------------------------------------------------------------------------------------
select lives_ok($$ select public.extend_creation_worker_slot(1::smallint, 'run-a', 60) $$,
  'the holder extends its hold');
select throws_ok($$ select public.extend_creation_worker_slot(1::smallint, 'run-b', 60) $$,
  'ADR02', 'creation worker slot 1 is not held by run-b',
  'another run cannot extend it (ADR02)');
select public.release_creation_worker_slot(1::smallint, 'run-b');
select is((select run_id from public.creation_worker_slots where slot = 1), 'run-a',
  'another run''s release leaves the hold alone');
select public.release_creation_worker_slot(1::smallint, 'run-a');
select is(public.claim_creation_worker_slot('run-c', 30), 1::smallint,
  'once released, the slot goes to the next run');

-- ---------------------------------------------------------------------------------------------
-- A killed run's slot is free once its hold expires; the old holder learns it lost the slot.
-- ---------------------------------------------------------------------------------------------
update public.creation_worker_slots set held_until = now() - interval '1 second' where slot = 2;
select is(public.claim_creation_worker_slot('run-d', 30), 2::smallint,
  'an expired hold is taken over');
select throws_ok($$ select public.extend_creation_worker_slot(2::smallint, 'run-b', 30) $$,
  'ADR02', 'creation worker slot 2 is not held by run-b',
  'the run whose hold expired is told it no longer holds the slot');

-- ---------------------------------------------------------------------------------------------
-- Capacity.
-- ---------------------------------------------------------------------------------------------
select public.set_creation_worker_slots(3);
select is(public.claim_creation_worker_slot('run-e', 30), 3::smallint,
  'raising the capacity to 3 makes room for a third run');
select public.set_creation_worker_slots(1);
select throws_ok($$ select public.extend_creation_worker_slot(2::smallint, 'run-d', 30) $$,
  'ADR02', 'creation worker slot 2 is not held by run-d',
  'lowering the capacity removes the slots above it: their runs stop at their next extension');
select throws_ok($$ select public.set_creation_worker_slots(0) $$,
  '22023', 'creation worker slots must be between 1 and 100, got 0',
  'a capacity below one is refused');

-- ---------------------------------------------------------------------------------------------
-- Clients (anon, authenticated) can neither read the slots nor take one.
-- ---------------------------------------------------------------------------------------------
select ok(not has_table_privilege('authenticated', 'public.creation_worker_slots', 'select'),
  'authenticated cannot read the slots');
select ok(not has_function_privilege('authenticated',
  'public.claim_creation_worker_slot(text, integer)', 'execute'),
  'authenticated cannot take a slot');
select ok(not has_function_privilege('anon', 'public.set_creation_worker_slots(integer)', 'execute'),
  'anon cannot change the capacity');

select * from finish();
rollback;
