-- The two state machines (campaign_creation_job, entity_creation_slot): every legal transition
-- succeeds (made by its actor: job_transition_roles.test.sql tries every actor), every other pair
-- of statuses raises ADR01 with the exact message, and a new row starts in 'pending' (or, for a
-- launcher's job on an account that requires approval, 'awaiting_approval'). The expected
-- machines are written out here, from the spec, and the table private.state_transitions must
-- hold exactly them.
begin;
select plan(155);

select tests.create_supabase_user('smt_owner') as owner_id \gset
select tests.create_supabase_user('smt_launcher') as launcher_id \gset
select tests.create_ad_account('smt_owner', 'act_91000201') as acct \gset
select tests.add_ad_account_member('act_91000201', 'smt_launcher', 'launcher');
insert into public.ad_account_settings (ad_account_id, requires_approval) values (:'acct', true);
-- A job per transition, most under way: above the default active_jobs limits (abuse_limits.sql).
insert into public.adrail_limits (action, scope, user_id, ad_account_id, quota) values
  ('active_jobs', 'user', :'owner_id', null, 1000), ('active_jobs', 'account', null, :'acct', 1000);

create temp table smt_job_legal (n int, from_status text, to_status text) on commit drop;
insert into smt_job_legal values
  (1, 'pending', 'verifying'), (2, 'pending', 'failed'),
  (3, 'verifying', 'in_progress'), (4, 'verifying', 'completed'), (5, 'verifying', 'failed'),
  (6, 'in_progress', 'completed'), (7, 'in_progress', 'failed'), (8, 'in_progress', 'rolling_back'),
  (9, 'in_progress', 'awaiting_confirmation'),
  (10, 'awaiting_confirmation', 'rolling_back'), (11, 'awaiting_confirmation', 'failed'),
  (12, 'rolling_back', 'rolled_back'), (13, 'rolling_back', 'rollback_blocked'),
  (14, 'rollback_blocked', 'rolling_back'),
  (15, 'completed', 'in_progress'),
  -- crash-loop cap: a job stopped before it got to in_progress
  (16, 'pending', 'rolling_back'), (17, 'pending', 'awaiting_confirmation'),
  (18, 'verifying', 'rolling_back'), (19, 'verifying', 'awaiting_confirmation'),
  -- approval: a launcher's job on an account that requires approval
  (20, 'awaiting_approval', 'pending'), (21, 'awaiting_approval', 'rejected');

create temp table smt_slot_legal (n int, from_status text, to_status text) on commit drop;
insert into smt_slot_legal values
  (1, 'pending', 'creating'), (2, 'pending', 'rolled_back'),
  (3, 'creating', 'created'), (4, 'creating', 'failed'), (5, 'creating', 'rolled_back'),
  (6, 'created', 'failed'), (7, 'created', 'rolled_back'),
  (8, 'failed', 'creating'), (9, 'failed', 'rolled_back'),
  -- an intent committed for a batch that was never sent, withdrawn
  (10, 'creating', 'pending');

-- How to reach each status from 'pending' along legal steps.
create temp table smt_job_path (status text, path text[]) on commit drop;
insert into smt_job_path values
  ('pending', '{}'), ('verifying', '{verifying}'), ('in_progress', '{verifying,in_progress}'),
  ('awaiting_confirmation', '{verifying,in_progress,awaiting_confirmation}'),
  ('rolling_back', '{verifying,in_progress,rolling_back}'),
  ('rollback_blocked', '{verifying,in_progress,rolling_back,rollback_blocked}'),
  ('completed', '{verifying,in_progress,completed}'), ('failed', '{failed}'),
  ('rolled_back', '{verifying,in_progress,rolling_back,rolled_back}'),
  ('awaiting_approval', '{}'), ('rejected', '{rejected}');
create temp table smt_slot_path (status text, path text[]) on commit drop;
insert into smt_slot_path values
  ('pending', '{}'), ('creating', '{creating}'), ('created', '{creating,created}'),
  ('failed', '{creating,failed}'), ('rolled_back', '{rolled_back}');

select set_eq(
  $$ select from_status, to_status from private.state_transitions where machine = 'campaign_creation_job' $$,
  $$ select null::text as from_status, 'pending'::text as to_status
     union all select null, 'awaiting_approval'
     union all select from_status, to_status from smt_job_legal $$,
  'private.state_transitions holds exactly the documented job machine'
);
select set_eq(
  $$ select from_status, to_status from private.state_transitions where machine = 'entity_creation_slot' $$,
  $$ select null::text as from_status, 'pending'::text as to_status union all select from_status, to_status from smt_slot_legal $$,
  'private.state_transitions holds exactly the documented slot machine'
);

-- Fixtures: one job per legal transition (moved to its from_status), one job per status for
-- the illegal pairs, and the same for slots (extra ad-set slots of one job).
create temp table smt_job_case (n int, from_status text, to_status text, job_id bigint) on commit drop;
create temp table smt_job_fixture (status text, job_id bigint) on commit drop;
create temp table smt_slot_case (n int, from_status text, to_status text, slot_id bigint) on commit drop;
create temp table smt_slot_fixture (status text, slot_id bigint) on commit drop;

do $$
declare
  uid uuid := tests.get_supabase_uid('smt_owner');
  launcher uuid := tests.get_supabase_uid('smt_launcher');
  acct uuid := tests.get_ad_account_id('act_91000201');
  c record;
  j bigint;
  slot_job bigint;
  s bigint;
  k int := 0;
begin
  for c in select l.n, l.from_status, l.to_status, p.path from smt_job_legal l join smt_job_path p on p.status = l.from_status loop
    j := (public.create_campaign_creation_job(
      case when c.from_status = 'awaiting_approval' then launcher else uid end, acct, 'smt legal ' || c.n, 1, 0, '{}', 'h')).id;
    perform tests.advance_job(j, variadic c.path);
    insert into smt_job_case values (c.n, c.from_status, c.to_status, j);
  end loop;
  for c in select * from smt_job_path loop
    j := (public.create_campaign_creation_job(
      case when c.status in ('awaiting_approval', 'rejected') then launcher else uid end, acct, 'smt fixture ' || c.status, 1, 0, '{}', 'h')).id;
    perform tests.advance_job(j, variadic c.path);
    insert into smt_job_fixture values (c.status, j);
  end loop;

  slot_job := (public.create_campaign_creation_job(uid, acct, 'smt slots', 1, 0, '{}', 'h')).id;
  for c in select l.n, l.from_status, l.to_status, p.path, false as fixture from smt_slot_legal l join smt_slot_path p on p.status = l.from_status
           union all select null, p.status, null, p.path, true from smt_slot_path p loop
    k := k + 1;
    insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name, facebook_id)
    values (slot_job, 100 + k, 'ad_set', 1, 'smt slot ' || k, format('smt-fb-%s-%s', slot_job, k))
    returning id into s;
    perform tests.advance_slot(s, variadic c.path);
    if c.fixture then
      insert into smt_slot_fixture values (c.from_status, s);
    else
      insert into smt_slot_case values (c.n, c.from_status, c.to_status, s);
    end if;
  end loop;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Jobs
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  format('select tests.advance_job(%s, %L)', c.job_id, c.to_status),
  format('job: %s -> %s is legal', c.from_status, c.to_status))
from (select * from smt_job_case order by n) c;

select is_empty(
  $$ select 1 from smt_job_case c join public.campaign_creation_jobs j on j.id = c.job_id where j.status <> c.to_status $$,
  'job: every legal transition took effect');

select throws_ok(
  format('update public.campaign_creation_jobs set status = %L where id = %s', p.to_status, f.job_id),
  'ADR01',
  format('illegal campaign_creation_job transition: %s -> %s', p.from_status, p.to_status),
  format('job: %s -> %s is illegal (ADR01)', p.from_status, p.to_status))
from (
  select a.status as from_status, b.status as to_status, a.ord, b.ord as ord2
  from (select status, row_number() over () as ord from smt_job_path) a,
       (select status, row_number() over () as ord from smt_job_path) b
  where a.status <> b.status
    and not exists (select 1 from smt_job_legal l where l.from_status = a.status and l.to_status = b.status)
  order by a.ord, b.ord
) p
join smt_job_fixture f on f.status = p.from_status
order by p.ord, p.ord2;

select throws_ok(
  format('update public.campaign_creation_jobs set status = %L where id = %s', 'bogus', (select job_id from smt_job_fixture where status = 'pending')),
  'ADR01', 'illegal campaign_creation_job transition: pending -> bogus',
  'job: an unknown status is an illegal transition (ADR01)');

select is_empty(
  $$ select 1 from smt_job_fixture f join public.campaign_creation_jobs j on j.id = f.job_id where j.status <> f.status $$,
  'job: the refused transitions left every job where it was');

select lives_ok(
  format('update public.campaign_creation_jobs set status = %L, last_error = %L where id = %s',
         'rolled_back', 'touched', (select job_id from smt_job_fixture where status = 'rolled_back')),
  'job: writing the same status again is not a transition, even in a terminal status');

select job_id as pending_job from smt_job_fixture where status = 'pending' \gset
select tests.authenticate_as_service_role();
select throws_ok(
  format('update public.campaign_creation_jobs set status = %L where id = %s', 'completed', :pending_job),
  'ADR01', 'illegal campaign_creation_job transition: pending -> completed',
  'job: the service role (which bypasses RLS) is held to the machine too');
select tests.clear_authentication();

-- New jobs start in 'pending'.
select is(
  (public.create_campaign_creation_job(:'owner_id', :'acct', 'smt new', 1, 0, '{}', 'h')).status,
  'pending', 'job: a new job starts in pending');

select throws_ok(
  format($$ insert into public.campaign_creation_jobs
              (user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set, request, request_hash, status)
            values (%L, %L, 'smt direct', 1, 0, 0, '{}', 'h', %L) $$, :'owner_id', :'acct', s.status),
  'ADR01', format('illegal campaign_creation_job transition: (new) -> %s', s.status),
  format('job: a new job cannot start in %s (ADR01)', s.status))
from (select status from smt_job_path where status not in ('pending', 'awaiting_approval') order by status) s;

select throws_ok(
  format($$ insert into public.campaign_creation_jobs
              (user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set, request, request_hash, status)
            values (%L, %L, 'smt direct', 1, 0, 0, '{}', 'h', 'awaiting_approval') $$, :'owner_id', :'acct'),
  'ADR06', 'a launch by this member on this ad account does not wait for approval',
  'job: a launch that needs no approval (its requester may approve) cannot start awaiting_approval (ADR06)');

-- ---------------------------------------------------------------------------------------------
-- Slots
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  format('update public.entity_creation_slots set status = %L where id = %s', c.to_status, c.slot_id),
  format('slot: %s -> %s is legal', c.from_status, c.to_status))
from (select * from smt_slot_case order by n) c;

select is_empty(
  $$ select 1 from smt_slot_case c join public.entity_creation_slots s on s.id = c.slot_id where s.status <> c.to_status $$,
  'slot: every legal transition took effect');

select throws_ok(
  format('update public.entity_creation_slots set status = %L where id = %s', p.to_status, f.slot_id),
  'ADR01',
  format('illegal entity_creation_slot transition: %s -> %s', p.from_status, p.to_status),
  format('slot: %s -> %s is illegal (ADR01)', p.from_status, p.to_status))
from (
  select a.status as from_status, b.status as to_status, a.ord, b.ord as ord2
  from (select status, row_number() over () as ord from smt_slot_path) a,
       (select status, row_number() over () as ord from smt_slot_path) b
  where a.status <> b.status
    and not exists (select 1 from smt_slot_legal l where l.from_status = a.status and l.to_status = b.status)
  order by a.ord, b.ord
) p
join smt_slot_fixture f on f.status = p.from_status
order by p.ord, p.ord2;

select is_empty(
  $$ select 1 from smt_slot_fixture f join public.entity_creation_slots s on s.id = f.slot_id where s.status <> f.status $$,
  'slot: the refused transitions left every slot where it was');

-- New slots start in 'pending'.
select is(
  (select status from public.entity_creation_slots
   where job_id = (select id from public.campaign_creation_jobs where ad_account_id = :'acct' and campaign_name = 'smt new')
     and entity_type = 'campaign'),
  'pending', 'slot: the slots of a new job start in pending');

select throws_ok(
  format($$ insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name, facebook_id, status)
            values (%s, 900, 'ad_set', 1, 'smt direct slot', 'smt-direct-fb', %L) $$,
         (select job_id from smt_job_fixture where status = 'pending'), s.status),
  'ADR01', format('illegal entity_creation_slot transition: (new) -> %s', s.status),
  format('slot: a new slot cannot start in %s (ADR01)', s.status))
from (select status from smt_slot_path where status <> 'pending' order by status) s;

select * from finish();
rollback;
