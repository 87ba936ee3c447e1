-- Who may move a creation job: every transition of the job machine tried by every actor, the
-- creation worker (no acting member) and each role, and the database allows exactly what the
-- actor beside the transition in private.state_transitions says (ADR06 otherwise, ADR12 for the
-- requester approving their own launch), whoever runs the update.
--
-- Account A (act_91001301, no approval needed) and account B (act_91001302, approval required)
-- have the same members: jtr_owner (owner), jtr_approver, jtr_launcher (the requester of every
-- job here), jtr_launcher2 (another launcher), jtr_viewer. jtr_stranger is a member of neither.
begin;
select plan(139);

select tests.create_supabase_user('jtr_owner') as owner_id \gset
select tests.create_supabase_user('jtr_approver') as approver_id \gset
select tests.create_supabase_user('jtr_launcher') as launcher_id \gset
select tests.create_supabase_user('jtr_launcher2') as launcher2_id \gset
select tests.create_supabase_user('jtr_viewer') as viewer_id \gset
select tests.create_supabase_user('jtr_stranger') as stranger_id \gset
select tests.create_ad_account('jtr_owner', 'act_91001301') as acct_a \gset
select tests.create_ad_account('jtr_owner', 'act_91001302') as acct_b \gset
select tests.add_ad_account_member(a, u, r)
from unnest(array['act_91001301', 'act_91001302']) a,
     (values ('jtr_approver', 'approver'), ('jtr_launcher', 'launcher'), ('jtr_launcher2', 'launcher'),
             ('jtr_viewer', 'viewer')) m(u, r);
select public.set_ad_account_settings(:'acct_b', :'owner_id', true, null);
insert into public.adrail_limits (action, scope, user_id, ad_account_id, quota) values
  ('active_jobs', 'user', :'launcher_id', null, 1000), ('active_jobs', 'account', null, :'acct_a', 1000),
  ('active_jobs', 'account', null, :'acct_b', 1000);

-- The actors: the worker (no acting member) and the members, by role; the requester is jtr_launcher.
create temp table jtr_actor (n int, actor text, user_id uuid) on commit drop;
insert into jtr_actor values
  (1, 'worker', null), (2, 'owner', :'owner_id'), (3, 'approver', :'approver_id'),
  (4, 'requester (launcher)', :'launcher_id'), (5, 'another launcher', :'launcher2_id'),
  (6, 'viewer', :'viewer_id');

-- How to reach each status from the launch (moves made by their own actors).
create temp table jtr_path (status text, path text[]) on commit drop;
insert into jtr_path values
  ('awaiting_approval', '{}'), ('pending', '{}'), ('verifying', '{verifying}'),
  ('in_progress', '{verifying,in_progress}'),
  ('awaiting_confirmation', '{verifying,in_progress,awaiting_confirmation}'),
  ('rolling_back', '{verifying,in_progress,rolling_back}'),
  ('rollback_blocked', '{verifying,in_progress,rolling_back,rollback_blocked}'),
  ('completed', '{verifying,in_progress,completed}');

-- Every transition out of a status, tried by every actor on a job of its own.
create temp table jtr_case (
  n int, from_status text, to_status text, transition_actor text, actor text, user_id uuid,
  job_id bigint, allowed boolean, message text
) on commit drop;
grant select on jtr_case to service_role;

do $$
declare
  c record;
  j bigint;
  k int := 0;
begin
  for c in
    select t.from_status, t.to_status, t.actor as transition_actor, a.actor, a.user_id, a.n, p.path,
           case when a.user_id is null then t.actor = 'worker'
                when t.actor = 'worker' then false
                when t.actor = 'manage_own_jobs' and a.user_id <> tests.get_supabase_uid('jtr_launcher')
                  then private.account_role_allows(tests.get_ad_account_id('act_91001301'), a.user_id, 'manage_all_jobs')
                else private.account_role_allows(tests.get_ad_account_id('act_91001301'), a.user_id, t.actor) end as allowed
    from private.state_transitions t
    join jtr_path p on p.status = t.from_status
    cross join jtr_actor a
    where t.machine = 'campaign_creation_job'
    order by t.from_status, t.to_status, a.n
  loop
    k := k + 1;
    j := (public.create_campaign_creation_job(
      tests.get_supabase_uid('jtr_launcher'),
      tests.get_ad_account_id(case when c.from_status = 'awaiting_approval' then 'act_91001302' else 'act_91001301' end),
      'jtr ' || k, 1, 0, '{}', 'h')).id;
    perform tests.advance_job(j, variadic c.path);
    insert into jtr_case values (
      k, c.from_status, c.to_status, c.transition_actor, c.actor, c.user_id, j, c.allowed,
      case when c.allowed then null
           when c.user_id is null then format('campaign_creation_job %s -> %s is a member''s decision (%s): no acting member',
                                              c.from_status, c.to_status, c.transition_actor)
           when c.transition_actor = 'worker' then format('campaign_creation_job %s -> %s is the creation worker''s move, not a member''s',
                                                          c.from_status, c.to_status)
           else format('your role on this ad account does not allow %s (campaign_creation_job %s -> %s)',
                       case when c.transition_actor = 'manage_own_jobs' and c.actor <> 'requester (launcher)'
                            then 'manage_all_jobs' else c.transition_actor end,
                       c.from_status, c.to_status) end);
  end loop;
end;
$$;

create or replace function pg_temp.move_as(job_id bigint, to_status text, acting_user uuid) returns void
language plpgsql as $$
begin
  perform private.set_acting_user(acting_user);
  update public.campaign_creation_jobs set status = to_status where id = job_id;
  perform private.set_acting_user(null);
end;
$$;

select is((select count(*)::int from jtr_case), 126, 'the cases: 21 transitions out of a status, 6 actors each');

-- ---------------------------------------------------------------------------------------------
-- Every transition by every actor, as the service role (the functions' role, which bypasses RLS)
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select case when c.allowed
  then lives_ok(format('select pg_temp.move_as(%s, %L, %L)', c.job_id, c.to_status, c.user_id),
                format('%s -> %s (%s): the %s may', c.from_status, c.to_status, c.transition_actor, c.actor))
  else throws_ok(format('select pg_temp.move_as(%s, %L, %L)', c.job_id, c.to_status, c.user_id),
                 'ADR06', c.message,
                 format('%s -> %s (%s): the %s may not', c.from_status, c.to_status, c.transition_actor, c.actor)) end
from (select * from jtr_case order by n) c;
select tests.clear_authentication();

select is_empty(
  $$ select c.n, c.actor, j.status from jtr_case c join public.campaign_creation_jobs j on j.id = c.job_id
     where j.status <> case when c.allowed then c.to_status else c.from_status end $$,
  'every allowed move took effect, every refused one left its job where it was');
select set_eq(
  $$ select distinct from_status, to_status, actor from jtr_case where allowed and transition_actor <> 'worker' $$,
  $$ values ('awaiting_approval'::text, 'pending'::text, 'owner'::text), ('awaiting_approval', 'pending', 'approver'),
            ('awaiting_approval', 'rejected', 'owner'), ('awaiting_approval', 'rejected', 'approver'),
            ('awaiting_confirmation', 'rolling_back', 'owner'), ('awaiting_confirmation', 'rolling_back', 'approver'),
            ('awaiting_confirmation', 'rolling_back', 'requester (launcher)'),
            ('awaiting_confirmation', 'failed', 'owner'), ('awaiting_confirmation', 'failed', 'approver'),
            ('awaiting_confirmation', 'failed', 'requester (launcher)'),
            ('completed', 'in_progress', 'owner'), ('completed', 'in_progress', 'approver'),
            ('completed', 'in_progress', 'requester (launcher)') $$,
  'members decide approvals (owner, approver), rollbacks and reopenings (the requester, or an owner or approver)');

-- ---------------------------------------------------------------------------------------------
-- The launch: the requester's role decides the initial status
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'jtr launch ' || %L, 1, 0, '{}', 'h') $$, u.user_id, :'acct_a', u.actor),
  format('launch: the %s may launch (pending)', u.actor))
from (select * from jtr_actor where actor in ('owner', 'approver', 'requester (launcher)') order by n) u;
select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'jtr launch viewer', 1, 0, '{}', 'h') $$, :'viewer_id', :'acct_a'),
  'ADR06', 'your role on this ad account does not allow launch (campaign_creation_job (new) -> pending)',
  'launch: a viewer may not launch');
select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'jtr launch stranger', 1, 0, '{}', 'h') $$, :'stranger_id', :'acct_a'),
  'ADR06', 'your role on this ad account does not allow launch (campaign_creation_job (new) -> pending)',
  'launch: a non-member may not launch');
select results_eq(
  format($$ select (public.create_campaign_creation_job(%L, %L, 'jtr waits', 1, 0, '{}', 'h')).status $$, :'launcher_id', :'acct_b'),
  $$ values ('awaiting_approval'::text) $$,
  'launch: a launcher''s launch on an account that requires approval waits');
select results_eq(
  format($$ select (public.create_campaign_creation_job(%L, %L, 'jtr approver', 1, 0, '{}', 'h')).status $$, :'approver_id', :'acct_b'),
  $$ values ('pending'::text) $$,
  'launch: an approver''s launch there does not wait');
select throws_ok(
  format($$ insert into public.campaign_creation_jobs
              (user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set, request, request_hash)
            values (%L, %L, 'jtr skips approval', 1, 0, 0, '{}', 'h') $$, :'launcher_id', :'acct_b'),
  'ADR06', 'a launch by this member on this ad account must wait for approval',
  'launch: a launcher''s job on that account cannot start pending, even written directly');

-- ---------------------------------------------------------------------------------------------
-- The requester never approves their own launch, even once their role would allow it
-- ---------------------------------------------------------------------------------------------
select id as own_job from public.create_campaign_creation_job(:'launcher_id', :'acct_b', 'jtr own', 1, 0, '{}', 'h') \gset
select public.set_ad_account_member(:'acct_b', :'owner_id', :'launcher_id', 'approver');
select throws_ok(
  format('select pg_temp.move_as(%s, %L, %L)', :own_job, 'pending', :'launcher_id'),
  'ADR12', format('the requester cannot approve their own launch (job %s)', :own_job),
  'a requester promoted to approver still cannot approve their own launch (ADR12)');
select lives_ok(
  format('select pg_temp.move_as(%s, %L, %L)', :own_job, 'rejected', :'launcher_id'),
  'but may withdraw it (reject)');

select * from finish();
rollback;
