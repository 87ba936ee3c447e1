-- Who may move a creation job, beside each move: private.state_transitions gains an actor per
-- transition, and the job machine gains awaiting_approval (a launch that waits for an approver)
-- and rejected (an approver said no; final).
--
-- actor is either 'worker' (the creation worker and the database's own jobs: no person acts) or
-- an action of private.account_role_actions that the acting member's role must allow:
--   launch           the initial status, acted by the job's requester (its user_id)
--   approve          approving or rejecting a launch waiting for approval (never one's own approval)
--   manage_own_jobs  deciding a rollback or reopening a completed job for verification: the
--                    requester with manage_own_jobs, anyone else with manage_all_jobs
-- The acting member of an update is the transaction's adrail.acting_user setting, which the
-- member-facing functions (approve, reject, decide_job_rollback, request_job_verification) set
-- for their own update and clear after it. A member's transition without an acting member, or a
-- worker's transition with one, is refused like a role that does not allow it.
--
-- Error codes raised here (branch on them in TypeScript, DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR01  illegal transition (not in private.state_transitions)
--   ADR04  no such job
--   ADR06  the transition is not the acting member's (or the worker's) to make
--   ADR12  the requester approving their own launch

alter table private.state_transitions
  add column if not exists actor text not null default 'worker'
    check (actor in ('worker', 'launch', 'approve', 'manage_own_jobs'));
comment on column private.state_transitions.actor is
  'Who makes the move: worker (no person), or the action of private.account_role_actions the acting member''s role must allow (launch: the requester; approve: an approver other than the requester when approving; manage_own_jobs: the requester, or anyone with manage_all_jobs).';

alter table public.campaign_creation_jobs
  drop constraint if exists campaign_creation_jobs_status_check,
  add constraint campaign_creation_jobs_status_check check (status in (
    'awaiting_approval', 'pending', 'verifying', 'in_progress', 'awaiting_confirmation',
    'rolling_back', 'rollback_blocked', 'completed', 'failed', 'rolled_back', 'rejected'
  ));

insert into private.state_transitions (machine, from_status, to_status, actor) values
  ('campaign_creation_job', null, 'awaiting_approval', 'launch'),
  ('campaign_creation_job', 'awaiting_approval', 'pending', 'approve'),
  ('campaign_creation_job', 'awaiting_approval', 'rejected', 'approve')
on conflict on constraint state_transitions_unique do update set actor = excluded.actor;

update private.state_transitions t set actor = 'launch'
where t.machine = 'campaign_creation_job' and t.from_status is null and t.to_status = 'pending';
update private.state_transitions t set actor = 'manage_own_jobs'
where t.machine = 'campaign_creation_job'
  and ((t.from_status = 'awaiting_confirmation' and t.to_status in ('rolling_back', 'failed'))
       or (t.from_status = 'completed' and t.to_status = 'in_progress'));

create or replace function private.set_acting_user(user_id uuid) returns void
language sql
set search_path = ''
as $$
  select set_config('adrail.acting_user', coalesce(user_id::text, ''), true)
$$;
comment on function private.set_acting_user(uuid) is
  'Names the member on whose behalf the following job transitions of this transaction are made (null: none, the worker''s). The member-facing functions set it around their own update only.';
revoke execute on function private.set_acting_user(uuid) from public, anon, authenticated;
grant execute on function private.set_acting_user(uuid) to service_role;

create or replace function private.enforce_state_transition() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  machine_name text := tg_argv[0];
  previous text := case when tg_op = 'INSERT' then null else old.status end;
  transition_actor text;
  acting_user uuid;
  needed text;
begin
  if tg_op = 'UPDATE' and old.status = new.status then
    return new;
  end if;
  select t.actor into transition_actor from private.state_transitions t
  where t.machine = machine_name
    and t.from_status is not distinct from previous
    and t.to_status = new.status;
  if not found then
    raise exception 'illegal % transition: % -> %',
      machine_name, coalesce(previous, '(new)'), new.status
      using errcode = 'ADR01';
  end if;
  -- Slots move only with their job (its worker); the roles are the job's.
  if machine_name <> 'campaign_creation_job' then
    return new;
  end if;

  acting_user := case when tg_op = 'INSERT' then new.user_id
    else nullif(current_setting('adrail.acting_user', true), '')::uuid end;
  if transition_actor = 'worker' then
    if acting_user is not null then
      raise exception 'campaign_creation_job % -> % is the creation worker''s move, not a member''s',
        previous, new.status using errcode = 'ADR06';
    end if;
    return new;
  end if;
  if acting_user is null then
    raise exception 'campaign_creation_job % -> % is a member''s decision (%): no acting member',
      coalesce(previous, '(new)'), new.status, transition_actor using errcode = 'ADR06';
  end if;
  needed := case when transition_actor = 'manage_own_jobs' and acting_user <> new.user_id
    then 'manage_all_jobs' else transition_actor end;
  if not private.account_role_allows(new.ad_account_id, acting_user, needed) then
    raise exception 'your role on this ad account does not allow % (campaign_creation_job % -> %)',
      needed, coalesce(previous, '(new)'), new.status using errcode = 'ADR06';
  end if;
  if transition_actor = 'approve' and new.status = 'pending' and acting_user = new.user_id then
    raise exception 'the requester cannot approve their own launch (job %)', new.id
      using errcode = 'ADR12';
  end if;
  return new;
end;
$$;
comment on function private.enforce_state_transition() is
  'Trigger: rejects (ADR01) any status change, or initial status, not listed in private.state_transitions for tg_argv[0]; for jobs, also one its actor may not make (ADR06: a worker''s move with an acting member, a member''s without one or by a role that does not allow it; ADR12: approving one''s own launch). The acting member is the requester for an insert, else adrail.acting_user. Security definer so that it reads the roles whoever writes (a client''s write is then refused by row-level security).';
revoke execute on function private.enforce_state_transition() from public, anon, authenticated;

-- The member-facing moves name their member (the trigger checks the role).
drop function if exists public.decide_job_rollback(bigint, boolean);
create or replace function public.decide_job_rollback(
  job_id bigint,
  acting_user uuid,
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
  perform private.set_acting_user(acting_user);
  update public.campaign_creation_jobs j
  set status = case when confirm then 'rolling_back' else 'failed' end,
      completed_at = case when confirm then null else now() end,
      rollback_reason = case when confirm then j.rollback_reason
        else coalesce(j.rollback_reason, '') || ' (rollback declined: partial state kept)' end,
      next_run_at = now()
  where j.id = decide_job_rollback.job_id
  returning j.* into job;
  perform private.set_acting_user(null);
  return job;
end;
$$;
comment on function public.decide_job_rollback(bigint, uuid, boolean) is
  'The member''s answer to a job waiting for rollback confirmation (policy confirm): confirm = roll back now, decline = keep the partial state (failed). ADR01 for a job not waiting, ADR06 when the member''s role does not allow it.';
revoke execute on function public.decide_job_rollback(bigint, uuid, boolean) from public, anon, authenticated;
grant execute on function public.decide_job_rollback(bigint, uuid, boolean) to service_role;

drop function if exists public.request_job_verification(bigint);
create or replace function public.request_job_verification(job_id bigint, acting_user uuid)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs := private.lock_job(job_id);
begin
  if job.dry_run then
    return job;
  end if;
  if job.status = 'completed' then
    perform private.set_acting_user(acting_user);
    update public.campaign_creation_jobs j
    set status = 'in_progress', completed_at = null, next_run_at = now(), retry_count = 0
    where j.id = request_job_verification.job_id
    returning j.* into job;
    perform private.set_acting_user(null);
  elsif job.status in ('pending', 'verifying', 'in_progress') then
    update public.campaign_creation_jobs j set next_run_at = now()
    where j.id = request_job_verification.job_id
    returning j.* into job;
  end if;
  return job;
end;
$$;
comment on function public.request_job_verification(bigint, uuid) is
  'POST /jobs/:id/verify by acting_user: a completed job goes back to in_progress with its retry budget renewed (retry_count 0), so the worker re-reads Meta and repairs (ADR06 when the member''s role does not allow it); a running one is made due now; a dry run, a finished failure or a rollback is left as it is.';
revoke execute on function public.request_job_verification(bigint, uuid) from public, anon, authenticated;
grant execute on function public.request_job_verification(bigint, uuid) to service_role;

-- rejected is final: a rejected launch no longer counts as under way (abuse limits).
drop index if exists public.campaign_creation_jobs_account_under_way_idx;
create index campaign_creation_jobs_account_under_way_idx
  on public.campaign_creation_jobs (ad_account_id)
  where status not in ('completed', 'failed', 'rolled_back', 'rejected');
drop index if exists public.campaign_creation_jobs_user_under_way_idx;
create index campaign_creation_jobs_user_under_way_idx
  on public.campaign_creation_jobs (user_id)
  where status not in ('completed', 'failed', 'rolled_back', 'rejected');

create or replace function private.assert_active_job_room(
  user_id uuid,
  ad_account_id uuid,
  adding integer
) returns void
language plpgsql
set search_path = ''
as $$
declare
  subject record;
  lim public.adrail_limits;
  under_way integer;
begin
  for subject in
    select s.scope, s.subject_id
    from (values (1, 'account', assert_active_job_room.ad_account_id),
                 (2, 'user', assert_active_job_room.user_id)) s(n, scope, subject_id)
    order by s.n
  loop
    lim := private.limit_of('active_jobs', subject.scope, subject.subject_id);
    continue when lim.id is null;
    if subject.scope = 'account' then
      select count(*) into under_way from public.campaign_creation_jobs j
      where j.ad_account_id = subject.subject_id
        and j.status not in ('completed', 'failed', 'rolled_back', 'rejected');
    else
      select count(*) into under_way from public.campaign_creation_jobs j
      where j.user_id = subject.subject_id
        and j.status not in ('completed', 'failed', 'rolled_back', 'rejected');
    end if;
    if under_way + adding > lim.quota then
      raise exception '% % would have % creation jobs under way, its limit is %',
        subject.scope, subject.subject_id, under_way + adding, lim.quota
        using errcode = 'ADR09',
              detail = json_build_object(
                'action', 'active_jobs', 'scope', subject.scope, 'quota', lim.quota)::text;
    end if;
  end loop;
end;
$$;
comment on function private.assert_active_job_room(uuid, uuid, integer) is
  'Raises ADR09 (DETAIL {action: active_jobs, scope, quota}) when the ad account, or the user, would have more creation jobs under way (any status but completed, failed, rolled_back, rejected; a launch awaiting approval counts) than its limit (adrail_limits active_jobs) with adding more.';
revoke execute on function private.assert_active_job_room(uuid, uuid, integer) from public, anon, authenticated;
