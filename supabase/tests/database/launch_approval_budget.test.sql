-- Launch approval and the budget guard: the owner's settings, approve and reject (one transaction,
-- replayed when repeated, conflicting decisions refused with the current state), reservations
-- against the daily budget cap and their release, the append-only ledger, and
-- public.budget_invariant_violations, empty after every scenario (and not empty when the ledger
-- is made to lie).
--
-- Account A (act_91001401): lab_owner (owner), lab_approver, lab_launcher, lab_viewer.
-- Account B (act_91001402): lab_stranger (owner). Ad set budgets: 500 a day each.
begin;
select plan(50);

select tests.create_supabase_user('lab_owner') as owner_id \gset
select tests.create_supabase_user('lab_approver') as approver_id \gset
select tests.create_supabase_user('lab_launcher') as launcher_id \gset
select tests.create_supabase_user('lab_viewer') as viewer_id \gset
select tests.create_supabase_user('lab_stranger') as stranger_id \gset
select tests.create_ad_account('lab_owner', 'act_91001401') as acct \gset
select tests.create_ad_account('lab_stranger', 'act_91001402') as acct_b \gset
select tests.add_ad_account_member('act_91001401', 'lab_approver', 'approver');
select tests.add_ad_account_member('act_91001401', 'lab_launcher', 'launcher');
select tests.add_ad_account_member('act_91001401', 'lab_viewer', 'viewer');
insert into public.adrail_limits (action, scope, user_id, ad_account_id, quota) values
  ('active_jobs', 'account', null, :'acct', 1000), ('active_jobs', 'user', :'launcher_id', null, 1000),
  ('active_jobs', 'user', :'owner_id', null, 1000);

-- A launch of n ad sets at 500 a day each, by user (a dry run when dry).
create or replace function pg_temp.launch(user_id uuid, name text, ad_sets int, dry boolean default false)
returns bigint language sql as $$
  select (public.create_campaign_creation_job(user_id, tests.get_ad_account_id('act_91001401'), name, ad_sets, 0,
    jsonb_build_object('adSets', jsonb_build_object('count', ad_sets, 'template', jsonb_build_object('daily_budget', 500))),
    'h', null, 'auto', 5, dry)).id
$$;
create or replace function pg_temp.ledger(job bigint) returns table (entry text, amount bigint, created_by uuid)
language sql as $$ select entry, amount, created_by from public.budget_ledger where job_id = job order by id $$;
create or replace function pg_temp.budget() returns table (cap bigint, reserved bigint, free bigint)
language sql as $$ select cap, reserved, free from public.ad_account_budgets where ad_account_id = tests.get_ad_account_id('act_91001401') $$;

-- ---------------------------------------------------------------------------------------------
-- Settings: the owner's alone (as the functions run it: the database owner, the direct connection)
-- ---------------------------------------------------------------------------------------------
select throws_ok(format($$ select public.set_ad_account_settings(%L, %L, true, 5000) $$, :'acct', u.id),
  'ADR06', 'your role on this ad account does not allow manage_settings', format('settings: the %s may not change them', u.role))
from (values (1, :'approver_id'::uuid, 'approver'), (2, :'launcher_id'::uuid, 'launcher'), (3, :'viewer_id'::uuid, 'viewer')) u(n, id, role)
order by u.n;
select throws_ok(format($$ select public.set_ad_account_settings(%L, %L, true, 5000) $$, :'acct', :'stranger_id'),
  'ADR04', 'ad account not found', 'settings: a non-member is told the account does not exist');
select results_eq(
  format($$ select requires_approval, daily_budget_cap, updated_by from public.set_ad_account_settings(%L, %L, true, 5000) $$, :'acct', :'owner_id'),
  format($$ values (true, 5000::bigint, %L::uuid) $$, :'owner_id'),
  'settings: the owner requires approval and caps the daily budget at 5000');
select results_eq('select * from pg_temp.budget()', $$ values (5000::bigint, 0::bigint, 5000::bigint) $$,
  'ad_account_budgets: cap 5000, nothing reserved, 5000 free');

-- ---------------------------------------------------------------------------------------------
-- A launcher's launch waits; an owner's is reserved at once
-- ---------------------------------------------------------------------------------------------
select pg_temp.launch(:'launcher_id', 'lab waits', 2) as waits \gset
select results_eq(format('select status, approval_required from public.campaign_creation_jobs where id = %s', :waits),
  $$ values ('awaiting_approval'::text, true) $$, 'the launcher''s launch waits in awaiting_approval');
select is_empty(format('select * from pg_temp.ledger(%s)', :waits), 'nothing is reserved while it waits');
select is((select count(*)::int from public.claim_campaign_creation_job('lab-w1') where id = :waits), 0,
  'no worker claims a launch awaiting approval');
select pg_temp.launch(:'owner_id', 'lab owner', 1) as owners \gset
select results_eq(format('select * from pg_temp.ledger(%s)', :owners), format($$ values ('reserve'::text, 500::bigint, %L::uuid) $$, :'owner_id'),
  'an owner''s launch (no approval needed) reserves its 500 on launch');
select is_empty('select * from public.budget_invariant_violations', 'invariants hold after the launches');

-- ---------------------------------------------------------------------------------------------
-- Approve: one transaction, once
-- ---------------------------------------------------------------------------------------------
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :waits, :'launcher_id'),
  'ADR06', 'your role on this ad account does not allow approve', 'approve: the requester (a launcher) may not');
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :waits, :'viewer_id'),
  'ADR06', 'your role on this ad account does not allow approve', 'approve: a viewer may not');
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :waits, :'stranger_id'),
  'ADR04', format('campaign creation job %s not found', :waits), 'approve: a non-member is told there is no such job');
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :owners, :'owner_id'),
  'ADR12', format('the requester cannot approve their own launch (job %s)', :owners), 'approve: never one''s own launch');
select results_eq(
  format('select (job).status, (job).next_run_at <= now(), replayed from public.approve_campaign_creation_job(%s, %L)', :waits, :'approver_id'),
  $$ values ('pending'::text, true, false) $$,
  'approve: the approver''s approval makes the job pending and due for the worker');
select results_eq(format('select * from pg_temp.ledger(%s)', :waits), format($$ values ('reserve'::text, 1000::bigint, %L::uuid) $$, :'approver_id'),
  'approve: its 1000 (2 ad sets x 500) is reserved, by the approver');
select results_eq(format('select decision, decided_by, reason, decided_at <= now() from public.campaign_creation_job_decisions where job_id = %s', :waits),
  format($$ values ('approved'::text, %L::uuid, null::text, true) $$, :'approver_id'), 'approve: who decided and when is recorded');
select results_eq(
  format('select (job).status, replayed from public.approve_campaign_creation_job(%s, %L)', :waits, :'owner_id'),
  $$ values ('pending'::text, true) $$,
  'approve again (another approver): the first approval is replayed');
select is((select count(*)::int from public.budget_ledger where job_id = :waits), 1, 'approve again: still one reservation');
select throws_ok(format($$ select public.reject_campaign_creation_job(%s, %L, 'too late') $$, :waits, :'owner_id'),
  'ADR11', format('job %s cannot be rejected: it was approved already', :waits), 'reject after approve: refused (ADR11)');
select results_eq('select * from pg_temp.budget()', $$ values (5000::bigint, 1500::bigint, 3500::bigint) $$,
  'ad_account_budgets: 1500 reserved, 3500 free');
select is_empty('select * from public.budget_invariant_violations', 'invariants hold after the approvals');

-- ---------------------------------------------------------------------------------------------
-- Reject: with a reason, once
-- ---------------------------------------------------------------------------------------------
select pg_temp.launch(:'launcher_id', 'lab rejected', 1) as rejected \gset
select results_eq(
  format($$ select (job).status, (job).completed_at is not null, replayed from public.reject_campaign_creation_job(%s, %L, 'wrong budget') $$, :rejected, :'approver_id'),
  $$ values ('rejected'::text, true, false) $$, 'reject: the job ends rejected');
select results_eq(format('select decision, decided_by, reason from public.campaign_creation_job_decisions where job_id = %s', :rejected),
  format($$ values ('rejected'::text, %L::uuid, 'wrong budget'::text) $$, :'approver_id'), 'reject: who, why');
select is_empty(format('select * from pg_temp.ledger(%s)', :rejected), 'reject: nothing was ever reserved');
select is((select replayed from public.reject_campaign_creation_job(:rejected, :'owner_id', 'again')), true, 'reject again: replayed');
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :rejected, :'approver_id'),
  'ADR11', format('job %s cannot be approved: it was rejected already', :rejected), 'approve after reject: refused (ADR11)');
select throws_ok(format($$ select public.reject_campaign_creation_job(%s, %L, 'x') $$, :owners, :'approver_id'),
  'ADR11', format('job %s cannot be rejected: it is pending, not awaiting approval', :owners),
  'reject a launch that never waited: refused (ADR11)');
select is_empty('select * from public.budget_invariant_violations', 'invariants hold after the rejection');

-- ---------------------------------------------------------------------------------------------
-- The cap: a launch or an approval that does not fit is refused, and changes nothing
-- ---------------------------------------------------------------------------------------------
select pg_temp.launch(:'launcher_id', 'lab too big', 8) as too_big \gset
select throws_ok(format('select public.approve_campaign_creation_job(%s, %L)', :too_big, :'approver_id'),
  'ADR10', format('job %s needs 4000 of the daily budget cap 5000: 1500 is reserved, 3500 free', :too_big),
  'approve over the cap: refused with the figures (ADR10)');
select results_eq(format('select status from public.campaign_creation_jobs where id = %s', :too_big), $$ values ('awaiting_approval'::text) $$,
  'approve over the cap: the job keeps waiting');
select is_empty(format('select * from public.campaign_creation_job_decisions where job_id = %s', :too_big), 'approve over the cap: no decision recorded');
select throws_like(format($$ select pg_temp.launch(%L, 'lab owner too big', 8) $$, :'owner_id'),
  'job % needs 4000 of the daily budget cap 5000: 1500 is reserved, 3500 free', 'launch over the cap: refused (ADR10)');
select is((select count(*)::int from public.campaign_creation_jobs where campaign_name = 'lab owner too big'), 0,
  'launch over the cap: no job was created');
select throws_ok(format('select public.set_ad_account_settings(%L, %L, true, 1499)', :'acct', :'owner_id'),
  'ADR14', 'the daily budget cap cannot go below the 1500 already reserved', 'the cap cannot go below what is reserved (ADR14)');
select is_empty('select * from public.budget_invariant_violations', 'invariants hold after the refusals');

-- ---------------------------------------------------------------------------------------------
-- Release: rollback, dry run completed, failure before creating anything; never a live launch
-- ---------------------------------------------------------------------------------------------
select tests.advance_job(:waits, 'verifying', 'in_progress', 'rolling_back', 'rolled_back');
select results_eq(format('select entry, amount from pg_temp.ledger(%s)', :waits),
  $$ values ('reserve'::text, 1000::bigint), ('release', -1000) $$, 'a rolled-back job releases its reservation');
select pg_temp.launch(:'owner_id', 'lab dry', 2, true) as dry \gset
select tests.advance_job(:dry, 'verifying', 'completed');
select results_eq(format('select entry, amount from pg_temp.ledger(%s)', :dry),
  $$ values ('reserve'::text, 1000::bigint), ('release', -1000) $$, 'a dry run reserves on launch and releases when it completes');
select pg_temp.launch(:'owner_id', 'lab failed', 1) as failed \gset
select tests.advance_job(:failed, 'failed');
select results_eq(format('select entry, amount from pg_temp.ledger(%s)', :failed),
  $$ values ('reserve'::text, 500::bigint), ('release', -500) $$, 'a job that failed before creating anything releases');
select tests.advance_job(:owners, 'verifying', 'in_progress');
update public.entity_creation_slots set status = 'creating' where job_id = :owners;
update public.entity_creation_slots set status = 'created', facebook_id = 'lab-' || id where job_id = :owners;
select tests.advance_job(:owners, 'completed');
select results_eq(format('select entry, amount from pg_temp.ledger(%s)', :owners),
  $$ values ('reserve'::text, 500::bigint) $$, 'a completed launch (live on Meta) keeps its reservation');
select results_eq('select * from pg_temp.budget()', $$ values (5000::bigint, 500::bigint, 4500::bigint) $$,
  'ad_account_budgets: only the live launch''s 500 stays reserved');
select is_empty('select * from public.budget_invariant_violations', 'invariants hold after the releases');

-- ---------------------------------------------------------------------------------------------
-- The ledger is append-only, for everyone
-- ---------------------------------------------------------------------------------------------
select throws_ok('update public.budget_ledger set amount = 0', 'ADR13', 'budget_ledger is append-only: update refused',
  'postgres cannot update a ledger row');
select throws_ok('delete from public.budget_ledger', 'ADR13', 'budget_ledger is append-only: delete refused',
  'postgres cannot delete a ledger row');
select throws_ok('truncate public.budget_ledger', 'ADR13', 'budget_ledger is append-only: truncate refused',
  'postgres cannot truncate the ledger');
select tests.authenticate_as_service_role();
select throws_ok('update public.budget_ledger set amount = 0', 'ADR13', 'budget_ledger is append-only: update refused',
  'the service role cannot update a ledger row');
select throws_ok('delete from public.budget_ledger', 'ADR13', 'budget_ledger is append-only: delete refused',
  'the service role cannot delete a ledger row');
select throws_ok(format($$ insert into public.budget_ledger (ad_account_id, job_id, entry, amount, balance_after) values (%L, %s, 'reserve', 1, 501) $$, :'acct', :owners),
  '23505', 'duplicate key value violates unique constraint "budget_ledger_one_entry_per_job"',
  'a second reservation of a job is refused by the unique constraint');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- The invariants are not vacuous: a ledger that lies shows up
-- ---------------------------------------------------------------------------------------------
insert into public.budget_ledger (ad_account_id, job_id, entry, amount, balance_after)
values (:'acct', -1, 'reserve', 4800, 4800);
select set_eq('select invariant from public.budget_invariant_violations',
  $$ values ('reserved balance differs from the sum of the ledger'), ('reserved over the daily budget cap') $$,
  'an entry whose balance is not the sum, taking the account over its cap, is reported');

select * from finish();
rollback;
