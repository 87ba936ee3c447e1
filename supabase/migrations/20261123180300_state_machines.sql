-- One canonical state machine per stateful table, held as data and enforced by one trigger.
-- An illegal transition raises ADR01 whoever attempts it (a worker, a function, the SQL editor).

create table if not exists private.state_transitions (
  machine text not null,
  from_status text,
  to_status text not null,
  constraint state_transitions_unique unique nulls not distinct (machine, from_status, to_status)
);
comment on table private.state_transitions is
  'Legal status transitions per state machine; from_status null = the status a new row must start in.';
grant select on private.state_transitions to authenticated, service_role;

delete from private.state_transitions
where machine in ('campaign_creation_job', 'entity_creation_slot');

insert into private.state_transitions (machine, from_status, to_status) values
  -- Jobs: pending -> verifying -> in_progress -> completed | failed | rolled_back.
  ('campaign_creation_job', null, 'pending'),
  ('campaign_creation_job', 'pending', 'verifying'),
  ('campaign_creation_job', 'pending', 'failed'),
  ('campaign_creation_job', 'verifying', 'in_progress'),
  ('campaign_creation_job', 'verifying', 'completed'),          -- dry run: verification only
  ('campaign_creation_job', 'verifying', 'failed'),             -- pre-creation verification failed
  ('campaign_creation_job', 'in_progress', 'completed'),
  ('campaign_creation_job', 'in_progress', 'failed'),
  ('campaign_creation_job', 'in_progress', 'rolling_back'),     -- rollback policy auto
  ('campaign_creation_job', 'in_progress', 'awaiting_confirmation'), -- rollback policy confirm
  ('campaign_creation_job', 'awaiting_confirmation', 'rolling_back'),
  ('campaign_creation_job', 'awaiting_confirmation', 'failed'), -- declined: partial state kept
  ('campaign_creation_job', 'rolling_back', 'rolled_back'),
  ('campaign_creation_job', 'rolling_back', 'failed'),          -- rollback itself failed for good
  ('campaign_creation_job', 'completed', 'in_progress'),        -- verify found damage: repair
  -- Slots: pending -> creating -> created | failed | rolled_back.
  ('entity_creation_slot', null, 'pending'),
  ('entity_creation_slot', 'pending', 'creating'),
  ('entity_creation_slot', 'pending', 'rolled_back'),
  ('entity_creation_slot', 'creating', 'created'),
  ('entity_creation_slot', 'creating', 'failed'),
  ('entity_creation_slot', 'creating', 'rolled_back'),
  ('entity_creation_slot', 'created', 'failed'),                -- read-back found it missing
  ('entity_creation_slot', 'created', 'rolled_back'),
  ('entity_creation_slot', 'failed', 'creating'),
  ('entity_creation_slot', 'failed', 'rolled_back');

create or replace function private.enforce_state_transition() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  machine_name text := tg_argv[0];
  previous text := case when tg_op = 'INSERT' then null else old.status end;
begin
  if tg_op = 'UPDATE' and old.status = new.status then
    return new;
  end if;
  if not exists (
    select 1 from private.state_transitions t
    where t.machine = machine_name
      and t.from_status is not distinct from previous
      and t.to_status = new.status
  ) then
    raise exception 'illegal % transition: % -> %',
      machine_name, coalesce(previous, '(new)'), new.status
      using errcode = 'ADR01';
  end if;
  return new;
end;
$$;
comment on function private.enforce_state_transition() is
  'Trigger: rejects (ADR01) any status change, or initial status, not listed in private.state_transitions for tg_argv[0].';
