-- Launch approval and budget guard. Per ad account, settings only an owner changes: whether a
-- launch needs approval, and a daily budget cap. A launcher's launch on an account that requires
-- approval starts awaiting_approval; an approver other than the requester approves it (one
-- transaction: decision, reservation, job due for the worker) or rejects it with a reason. Every
-- launch that goes ahead reserves its daily budget (ad sets x the template's daily_budget, in
-- the account's minor units, as Meta counts it) in an append-only ledger, on approval or, where
-- no approval is needed, on launch; a launch that would take the account's reserved balance over
-- its cap is refused. The reservation is released when the job ends with nothing live on Meta:
-- rolled back, rejected, a dry run completed, or failed before creating anything.
--
-- Guards beside the row locks: one decision per job (primary key), one reservation and one
-- release per job (unique index), and public.budget_invariant_violations, which must always be
-- empty (the safety net reports any row as an alarm).
--
-- Error codes raised here (branch on them in TypeScript, DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR04  no such job or account, or not the caller's to see
--   ADR06  the caller's role does not allow the action
--   ADR10  the reservation would take the account over its daily budget cap (DETAIL: JSON
--          {cap, reserved, requested})
--   ADR11  the job's approval was decided otherwise already, or it is not awaiting approval
--          (DETAIL: JSON {status, decision})
--   ADR12  the requester approving their own launch
--   ADR13  budget_ledger is append-only: an update, delete or truncate
--   ADR14  a daily budget cap below what the account has reserved already

alter table private.account_role_actions drop constraint if exists account_role_actions_action_check;
alter table private.account_role_actions add constraint account_role_actions_action_check
  check (action in (
    'read', 'sync', 'launch', 'manage_own_jobs', 'manage_all_jobs', 'approve', 'manage_members',
    'manage_token', 'manage_settings'
  ));
insert into private.account_role_actions (role, action) values ('owner', 'manage_settings')
on conflict do nothing;
comment on table private.account_role_actions is
  'Which role of an ad account''s members may do which action on it; the only place that says so. read: see the account, its members, entities, metrics, jobs and logs; sync: run facebook-ads-sync; launch: start a launch; manage_own_jobs: verify or decide the rollback of one''s own jobs; manage_all_jobs: the same for any job of the account; approve: approve or reject a launch waiting for approval (never approve one''s own); manage_members: add, remove and change members; manage_token: replace the stored token (reconnect); manage_settings: change the account''s approval and budget settings.';

create table if not exists public.ad_account_settings (
  ad_account_id uuid primary key references public.ad_accounts (id) on delete cascade,
  requires_approval boolean not null default false,
  daily_budget_cap bigint check (daily_budget_cap >= 0),
  updated_by uuid references auth.users (id) on delete set null,
  updated_at timestamptz not null default now()
);
comment on table public.ad_account_settings is
  'Per ad account, changed only by an owner through set_ad_account_settings: requires_approval (a launcher''s launch waits for an approver) and daily_budget_cap (minor units of the account currency; null = no cap). No row = neither.';
create index if not exists ad_account_settings_updated_by_idx on public.ad_account_settings (updated_by);

alter table public.campaign_creation_jobs
  add column if not exists approval_required boolean not null default false;
comment on column public.campaign_creation_jobs.approval_required is
  'The launch started awaiting_approval: its account required approval and its requester may not approve.';

create table if not exists public.campaign_creation_job_decisions (
  job_id bigint primary key references public.campaign_creation_jobs (id) on delete cascade,
  decision text not null check (decision in ('approved', 'rejected')),
  decided_by uuid references auth.users (id) on delete set null,
  reason text check (length(reason) <= 1000),
  decided_at timestamptz not null default now()
);
comment on table public.campaign_creation_job_decisions is
  'The approver''s decision on a launch that waited for approval: who, when, why. One per job (primary key): a second approval replays the first, a conflicting one is refused.';
create index if not exists campaign_creation_job_decisions_decided_by_idx
  on public.campaign_creation_job_decisions (decided_by);

-- No foreign keys: the ledger is history and outlives the jobs and accounts it names.
create table if not exists public.budget_ledger (
  id bigint generated always as identity primary key,
  ad_account_id uuid not null,
  job_id bigint not null,
  entry text not null check (entry in ('reserve', 'release')),
  amount bigint not null,
  balance_after bigint not null check (balance_after >= 0),
  reason text,
  created_by uuid,
  created_at timestamptz not null default now(),
  constraint budget_ledger_signed_amount check (
    (entry = 'reserve' and amount >= 0) or (entry = 'release' and amount <= 0)),
  constraint budget_ledger_one_entry_per_job unique (job_id, entry)
);
comment on table public.budget_ledger is
  'Append-only (ADR13 on update, delete, truncate): each launch''s daily budget reserved (amount > 0) and released (amount < 0), with the account''s reserved balance after the entry. An account''s reserved balance is the sum of its entries. One reservation and one release per job (unique).';
comment on column public.budget_ledger.created_by is 'The member who approved or launched; null for a release by the system.';
create index if not exists budget_ledger_account_idx on public.budget_ledger (ad_account_id, id);

create or replace function private.budget_ledger_is_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'budget_ledger is append-only: % refused', lower(tg_op) using errcode = 'ADR13';
end;
$$;
comment on function private.budget_ledger_is_append_only() is
  'Trigger: refuses every update, delete and truncate of public.budget_ledger (ADR13), whoever runs it.';
revoke execute on function private.budget_ledger_is_append_only() from public, anon, authenticated;

drop trigger if exists budget_ledger_append_only on public.budget_ledger;
create trigger budget_ledger_append_only before update or delete on public.budget_ledger
  for each row execute function private.budget_ledger_is_append_only();
drop trigger if exists budget_ledger_no_truncate on public.budget_ledger;
create trigger budget_ledger_no_truncate before truncate on public.budget_ledger
  for each statement execute function private.budget_ledger_is_append_only();

alter table public.ad_account_settings enable row level security;
alter table public.campaign_creation_job_decisions enable row level security;
alter table public.budget_ledger enable row level security;
revoke truncate, references, trigger on public.ad_account_settings, public.campaign_creation_job_decisions,
  public.budget_ledger from anon, authenticated;

drop policy if exists "members read their accounts' settings" on public.ad_account_settings;
create policy "members read their accounts' settings" on public.ad_account_settings
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));
drop policy if exists "members read their accounts' job decisions" on public.campaign_creation_job_decisions;
create policy "members read their accounts' job decisions" on public.campaign_creation_job_decisions
  for select to authenticated
  using (job_id in (select j.id from public.campaign_creation_jobs j
                    where j.ad_account_id in (select private.current_user_ad_account_ids())));
drop policy if exists "members read their accounts' budget ledger" on public.budget_ledger;
create policy "members read their accounts' budget ledger" on public.budget_ledger
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

create or replace function private.lock_account_budget(ad_account_id uuid) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  reserved bigint;
begin
  -- One budget change of an account at a time (reservations, releases, a new cap): each sees
  -- the balance the one before it committed.
  perform pg_advisory_xact_lock(hashtextextended('adrail budget of account ' || ad_account_id, 0));
  select l.balance_after into reserved from public.budget_ledger l
  where l.ad_account_id = lock_account_budget.ad_account_id
  order by l.id desc limit 1;
  return coalesce(reserved, 0);
end;
$$;
comment on function private.lock_account_budget(uuid) is
  'Serializes budget changes of the ad account until the transaction ends and returns its reserved balance (the last ledger entry''s balance_after; public.budget_invariant_violations checks it is the sum).';
revoke execute on function private.lock_account_budget(uuid) from public, anon, authenticated;
grant execute on function private.lock_account_budget(uuid) to service_role;

create or replace function private.launch_daily_budget(request jsonb, ad_sets integer) returns bigint
language sql immutable
set search_path = ''
as $$
  select ad_sets::bigint * case
    when (request -> 'adSets' -> 'template' ->> 'daily_budget') ~ '^[0-9]{1,15}$'
      then (request -> 'adSets' -> 'template' ->> 'daily_budget')::bigint
    else 0 end
$$;
comment on function private.launch_daily_budget(jsonb, integer) is
  'The daily budget a launch spends: its ad sets times the ad set template''s daily_budget (minor units, as Meta takes it); 0 without one.';
revoke execute on function private.launch_daily_budget(jsonb, integer) from public, anon, authenticated;
grant execute on function private.launch_daily_budget(jsonb, integer) to service_role;

create or replace function private.reserve_job_budget(
  job public.campaign_creation_jobs,
  acting_user uuid
) returns public.budget_ledger
language plpgsql
set search_path = ''
as $$
declare
  reserved bigint := private.lock_account_budget(job.ad_account_id);
  cap bigint;
  amount bigint := private.launch_daily_budget(job.request, job.requested_ad_sets);
  entry public.budget_ledger;
begin
  select s.daily_budget_cap into cap from public.ad_account_settings s
  where s.ad_account_id = job.ad_account_id;
  if cap is not null and reserved + amount > cap then
    raise exception 'job % needs % of the daily budget cap %: % is reserved, % free',
      job.id, amount, cap, reserved, cap - reserved
      using errcode = 'ADR10',
            detail = json_build_object('cap', cap, 'reserved', reserved, 'requested', amount)::text;
  end if;
  insert into public.budget_ledger (ad_account_id, job_id, entry, amount, balance_after, reason, created_by)
  values (job.ad_account_id, job.id, 'reserve', amount, reserved + amount,
          case when job.approval_required then 'approved' else 'launched' end, acting_user)
  returning * into entry;
  return entry;
end;
$$;
comment on function private.reserve_job_budget(public.campaign_creation_jobs, uuid) is
  'Reserves the job''s daily budget in the ledger, serialized per account; ADR10 (DETAIL {cap, reserved, requested}) when it would take the account over its cap. A second reservation of a job violates budget_ledger_one_entry_per_job.';
revoke execute on function private.reserve_job_budget(public.campaign_creation_jobs, uuid) from public, anon, authenticated;
grant execute on function private.reserve_job_budget(public.campaign_creation_jobs, uuid) to service_role;

create or replace function private.release_job_budget(job_id bigint, ad_account_id uuid, reason text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  reserved bigint := private.lock_account_budget(ad_account_id);
  held bigint;
begin
  select l.amount into held from public.budget_ledger l
  where l.job_id = release_job_budget.job_id and l.entry = 'reserve'
    and not exists (select 1 from public.budget_ledger r
                    where r.job_id = release_job_budget.job_id and r.entry = 'release');
  if held is null then
    return;
  end if;
  insert into public.budget_ledger (ad_account_id, job_id, entry, amount, balance_after, reason)
  values (ad_account_id, job_id, 'release', -held, reserved - held, reason);
end;
$$;
comment on function private.release_job_budget(bigint, uuid, text) is
  'Releases the job''s reservation, if it holds one not released yet (a no-op otherwise).';
revoke execute on function private.release_job_budget(bigint, uuid, text) from public, anon, authenticated;
grant execute on function private.release_job_budget(bigint, uuid, text) to service_role;

create or replace function private.release_budget_when_nothing_live() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status in ('rolled_back', 'rejected')
     or (new.status = 'completed' and new.dry_run)
     or (new.status = 'failed' and not exists (
           select 1 from public.entity_creation_slots s where s.job_id = new.id and s.status = 'created')) then
    perform private.release_job_budget(new.id, new.ad_account_id,
      case when new.status = 'completed' then 'dry run completed' else new.status end);
  end if;
  return null;
end;
$$;
comment on function private.release_budget_when_nothing_live() is
  'Trigger: a job that ends with nothing live on Meta (rolled back, rejected, a dry run completed, failed before creating anything) releases its reservation.';
revoke execute on function private.release_budget_when_nothing_live() from public, anon, authenticated;

drop trigger if exists campaign_creation_jobs_release_budget on public.campaign_creation_jobs;
create trigger campaign_creation_jobs_release_budget
  after update of status on public.campaign_creation_jobs
  for each row when (old.status is distinct from new.status
                     and new.status in ('rolled_back', 'rejected', 'completed', 'failed'))
  execute function private.release_budget_when_nothing_live();

create or replace function private.launch_needs_approval(ad_account_id uuid, user_id uuid)
returns boolean
language sql stable
set search_path = ''
as $$
  select coalesce((select s.requires_approval from public.ad_account_settings s
                   where s.ad_account_id = launch_needs_approval.ad_account_id), false)
     and not private.account_role_allows(ad_account_id, user_id, 'approve')
$$;
comment on function private.launch_needs_approval(uuid, uuid) is
  'Whether a launch by the user waits for approval: the account requires approval and the user''s role may not approve.';
revoke execute on function private.launch_needs_approval(uuid, uuid) from public, anon, authenticated;
grant execute on function private.launch_needs_approval(uuid, uuid) to service_role;

create or replace function private.enforce_launch_approval() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  needed boolean := private.launch_needs_approval(new.ad_account_id, new.user_id);
begin
  if (new.status = 'awaiting_approval') is distinct from needed or new.approval_required is distinct from needed then
    raise exception 'a launch by this member on this ad account % wait for approval',
      case when needed then 'must' else 'does not' end using errcode = 'ADR06';
  end if;
  return new;
end;
$$;
comment on function private.enforce_launch_approval() is
  'Trigger: a new job starts awaiting_approval exactly when its account requires approval and its requester may not approve (ADR06 otherwise), whoever inserts it. Security definer so that it reads the roles whoever writes (a client''s write is then refused by row-level security).';
revoke execute on function private.enforce_launch_approval() from public, anon, authenticated;

drop trigger if exists campaign_creation_jobs_launch_approval on public.campaign_creation_jobs;
create trigger campaign_creation_jobs_launch_approval
  before insert on public.campaign_creation_jobs
  for each row execute function private.enforce_launch_approval();

create or replace function public.set_ad_account_settings(
  ad_account_id uuid,
  acting_user uuid,
  requires_approval boolean,
  daily_budget_cap bigint
) returns public.ad_account_settings
language plpgsql
set search_path = ''
as $$
declare
  settings public.ad_account_settings;
  reserved bigint;
begin
  perform private.assert_account_role(ad_account_id, acting_user, 'manage_settings');
  reserved := private.lock_account_budget(ad_account_id);
  if daily_budget_cap < reserved then
    raise exception 'the daily budget cap cannot go below the % already reserved', reserved
      using errcode = 'ADR14';
  end if;
  insert into public.ad_account_settings as s (ad_account_id, requires_approval, daily_budget_cap, updated_by)
  values (set_ad_account_settings.ad_account_id, set_ad_account_settings.requires_approval,
          set_ad_account_settings.daily_budget_cap, acting_user)
  on conflict on constraint ad_account_settings_pkey do update
  set requires_approval = excluded.requires_approval,
      daily_budget_cap = excluded.daily_budget_cap,
      updated_by = excluded.updated_by,
      updated_at = now()
  returning s.* into settings;
  return settings;
end;
$$;
comment on function public.set_ad_account_settings(uuid, uuid, boolean, bigint) is
  'An owner (manage_settings) sets whether launches on the ad account need approval and its daily budget cap (null = none). ADR04 when the account does not exist or the user may not read it, ADR06 for another role, ADR14 for a cap below the reserved balance. Launches already waiting keep waiting.';
revoke execute on function public.set_ad_account_settings(uuid, uuid, boolean, bigint) from public, anon, authenticated;
grant execute on function public.set_ad_account_settings(uuid, uuid, boolean, bigint) to service_role;

create or replace function public.create_campaign_creation_job(
  user_id uuid,
  ad_account_id uuid,
  campaign_name text,
  ad_sets integer,
  ads_per_ad_set integer,
  request jsonb,
  request_hash text,
  idempotency_key text default null,
  rollback_policy text default 'auto',
  retry_budget integer default 5,
  dry_run boolean default false
) returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
  needs_approval boolean := private.launch_needs_approval(ad_account_id, user_id);
begin
  if idempotency_key is not null then
    select * into job from public.campaign_creation_jobs j
    where j.user_id = create_campaign_creation_job.user_id
      and j.idempotency_key = create_campaign_creation_job.idempotency_key;
    if found then
      if job.request_hash <> create_campaign_creation_job.request_hash then
        raise exception 'idempotency key % was already used with a different request', idempotency_key
          using errcode = 'ADR03';
      end if;
      return job;
    end if;
  end if;

  insert into public.campaign_creation_jobs (
    user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set,
    request, request_hash, idempotency_key, rollback_policy, retry_budget, dry_run, status,
    approval_required
  ) values (
    create_campaign_creation_job.user_id, create_campaign_creation_job.ad_account_id,
    create_campaign_creation_job.campaign_name, ad_sets, ad_sets * ads_per_ad_set, ads_per_ad_set,
    create_campaign_creation_job.request, create_campaign_creation_job.request_hash,
    create_campaign_creation_job.idempotency_key, create_campaign_creation_job.rollback_policy,
    create_campaign_creation_job.retry_budget, create_campaign_creation_job.dry_run,
    case when needs_approval then 'awaiting_approval' else 'pending' end, needs_approval
  )
  on conflict on constraint campaign_creation_jobs_idempotency_unique do nothing
  returning * into job;

  if not found then
    -- A concurrent request with the same key won the insert: answer with its job.
    return public.create_campaign_creation_job(
      user_id, ad_account_id, campaign_name, ad_sets, ads_per_ad_set, request, request_hash,
      idempotency_key, rollback_policy, retry_budget, dry_run
    );
  end if;

  insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name)
  select job.id, 1, 'campaign', null, job.campaign_name
  union all
  select job.id, s, 'ad_set', 1, format('%s [adrail j%s as%s]', job.campaign_name, job.id, s)
  from generate_series(1, ad_sets) s
  union all
  select job.id, (s - 1) * ads_per_ad_set + a, 'ad', s,
         format('%s [adrail j%s as%s ad%s]', job.campaign_name, job.id, s, a)
  from generate_series(1, ad_sets) s, generate_series(1, ads_per_ad_set) a;

  if not needs_approval then
    perform private.reserve_job_budget(job, user_id);
  end if;
  return job;
end;
$$;
comment on function public.create_campaign_creation_job(uuid, uuid, text, integer, integer, jsonb, text, text, text, integer, boolean) is
  'Layer 2 in one transaction: the job and all its slots (1 campaign, N ad sets, N x M ads, each with its deterministic name). A launch that needs approval starts awaiting_approval; any other reserves its daily budget now (ADR10 over the cap: nothing is created). The same idempotency key returns the same job; with another request_hash it raises ADR03.';

create or replace function private.job_for_decision(job_id bigint, acting_user uuid)
returns public.campaign_creation_jobs
language plpgsql
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  select * into job from public.campaign_creation_jobs j where j.id = job_for_decision.job_id for update;
  if job.id is null or not private.account_role_allows(job.ad_account_id, acting_user, 'read') then
    raise exception 'campaign creation job % not found', job_id using errcode = 'ADR04';
  end if;
  perform private.assert_account_role(job.ad_account_id, acting_user, 'approve');
  return job;
end;
$$;
comment on function private.job_for_decision(bigint, uuid) is
  'Locks the job for an approval decision by acting_user: ADR04 when there is none or the user may not read its account, ADR06 when their role may not approve.';
revoke execute on function private.job_for_decision(bigint, uuid) from public, anon, authenticated;
grant execute on function private.job_for_decision(bigint, uuid) to service_role;

create or replace function private.decision_conflict(
  job public.campaign_creation_jobs,
  decision public.campaign_creation_job_decisions,
  wanted text
) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'job % cannot be %: %', job.id, wanted,
    case when decision.decision is not null then 'it was ' || decision.decision || ' already'
         else 'it is ' || job.status || ', not awaiting approval' end
    using errcode = 'ADR11',
          detail = json_build_object('status', job.status, 'decision', decision.decision)::text;
end;
$$;
comment on function private.decision_conflict(public.campaign_creation_jobs, public.campaign_creation_job_decisions, text) is
  'Raises ADR11 (DETAIL {status, decision}): the job cannot take the wanted decision in its current state.';
revoke execute on function private.decision_conflict(public.campaign_creation_jobs, public.campaign_creation_job_decisions, text) from public, anon, authenticated;
grant execute on function private.decision_conflict(public.campaign_creation_jobs, public.campaign_creation_job_decisions, text) to service_role;

create or replace function public.approve_campaign_creation_job(job_id bigint, acting_user uuid)
returns table (job public.campaign_creation_jobs, replayed boolean)
language plpgsql
set search_path = ''
as $$
declare
  found_job public.campaign_creation_jobs := private.job_for_decision(job_id, acting_user);
  decision public.campaign_creation_job_decisions;
begin
  if found_job.user_id = acting_user then
    raise exception 'the requester cannot approve their own launch (job %)', job_id using errcode = 'ADR12';
  end if;
  select * into decision from public.campaign_creation_job_decisions d where d.job_id = approve_campaign_creation_job.job_id;
  if decision.decision = 'approved' then
    return query select found_job, true;
    return;
  end if;
  if decision.decision is not null or found_job.status <> 'awaiting_approval' then
    perform private.decision_conflict(found_job, decision, 'approved');
  end if;

  insert into public.campaign_creation_job_decisions (job_id, decision, decided_by)
  values (job_id, 'approved', acting_user);
  perform private.set_acting_user(acting_user);
  update public.campaign_creation_jobs j set status = 'pending', next_run_at = now()
  where j.id = approve_campaign_creation_job.job_id
  returning j.* into found_job;
  perform private.set_acting_user(null);
  -- Last: the account's budget stays locked from here to the commit, so approvals of the
  -- account's other launches wait as little as possible. Over the cap, all of it is undone.
  perform private.reserve_job_budget(found_job, acting_user);
  return query select found_job, false;
end;
$$;
comment on function public.approve_campaign_creation_job(bigint, uuid) is
  'An approver (not the requester) approves a launch awaiting approval, in one transaction: the decision, the budget reservation and the job pending and due for the worker. Approving an approved job again replays it (replayed true): nothing is reserved or started twice. ADR04 not found, ADR06 role, ADR10 over the daily budget cap (the job keeps waiting), ADR11 rejected or not awaiting approval, ADR12 the requester.';
revoke execute on function public.approve_campaign_creation_job(bigint, uuid) from public, anon, authenticated;
grant execute on function public.approve_campaign_creation_job(bigint, uuid) to service_role;

create or replace function public.reject_campaign_creation_job(job_id bigint, acting_user uuid, reason text)
returns table (job public.campaign_creation_jobs, replayed boolean)
language plpgsql
set search_path = ''
as $$
declare
  found_job public.campaign_creation_jobs := private.job_for_decision(job_id, acting_user);
  decision public.campaign_creation_job_decisions;
begin
  select * into decision from public.campaign_creation_job_decisions d where d.job_id = reject_campaign_creation_job.job_id;
  if decision.decision = 'rejected' then
    return query select found_job, true;
    return;
  end if;
  if decision.decision is not null or found_job.status <> 'awaiting_approval' then
    perform private.decision_conflict(found_job, decision, 'rejected');
  end if;

  insert into public.campaign_creation_job_decisions (job_id, decision, decided_by, reason)
  values (job_id, 'rejected', acting_user, reason);
  perform private.set_acting_user(acting_user);
  update public.campaign_creation_jobs j
  set status = 'rejected', completed_at = now(), last_error = 'rejected: ' || reject_campaign_creation_job.reason
  where j.id = reject_campaign_creation_job.job_id
  returning j.* into found_job;
  perform private.set_acting_user(null);
  return query select found_job, false;
end;
$$;
comment on function public.reject_campaign_creation_job(bigint, uuid, text) is
  'An approver rejects a launch awaiting approval with a reason: the decision and the job rejected (final; nothing was sent to Meta, nothing reserved). Rejecting a rejected job again replays it (replayed true). ADR04 not found, ADR06 role, ADR11 approved or not awaiting approval.';
revoke execute on function public.reject_campaign_creation_job(bigint, uuid, text) from public, anon, authenticated;
grant execute on function public.reject_campaign_creation_job(bigint, uuid, text) to service_role;

create or replace view public.ad_account_budgets with (security_invoker = on) as
select
  a.id as ad_account_id,
  a.platform_account_id,
  coalesce(s.requires_approval, false) as requires_approval,
  s.daily_budget_cap as cap,
  coalesce(l.reserved, 0) as reserved,
  s.daily_budget_cap - coalesce(l.reserved, 0) as free
from public.ad_accounts a
left join public.ad_account_settings s on s.ad_account_id = a.id
left join (select b.ad_account_id, sum(b.amount)::bigint as reserved
           from public.budget_ledger b group by b.ad_account_id) l on l.ad_account_id = a.id;
comment on view public.ad_account_budgets is
  'Per ad account: whether launches need approval, the daily budget cap (null = none), what is reserved (the sum of its ledger entries) and what is free (null without a cap).';

create or replace view public.budget_invariant_violations with (security_invoker = on) as
with reservations as (
  select l.job_id,
         count(*) filter (where l.entry = 'reserve') as reserves,
         count(*) filter (where l.entry = 'release') as releases,
         sum(l.amount) filter (where l.entry = 'reserve') as reserved,
         sum(l.amount) filter (where l.entry = 'release') as released
  from public.budget_ledger l group by l.job_id
), balances as (
  select l.ad_account_id, sum(l.amount) as ledger_sum,
         (array_agg(l.balance_after order by l.id desc))[1] as reserved
  from public.budget_ledger l group by l.ad_account_id
)
select 'approved job without exactly one reservation'::text as invariant, j.ad_account_id, j.id as job_id,
       format('%s reservations', coalesce(r.reserves, 0)) as detail
from public.campaign_creation_jobs j
join public.campaign_creation_job_decisions d on d.job_id = j.id and d.decision = 'approved'
left join reservations r on r.job_id = j.id
where coalesce(r.reserves, 0) <> 1
union all
select 'duplicate reservation or release', null, r.job_id,
       format('%s reservations, %s releases', r.reserves, r.releases)
from reservations r where r.reserves > 1 or r.releases > 1
union all
select 'release does not match its reservation', null, r.job_id,
       format('reserved %s, released %s', coalesce(r.reserved, 0), -r.released)
from reservations r where r.releases > 0 and coalesce(r.reserved, 0) <> -r.released
union all
select 'reserved balance differs from the sum of the ledger', b.ad_account_id, null,
       format('balance %s, sum %s', b.reserved, b.ledger_sum)
from balances b where b.reserved <> b.ledger_sum
union all
select 'reserved over the daily budget cap', b.ad_account_id, null,
       format('reserved %s, cap %s', b.ledger_sum, s.daily_budget_cap)
from balances b join public.ad_account_settings s on s.ad_account_id = b.ad_account_id
where b.ledger_sum > s.daily_budget_cap
union all
select 'launch started without its approval', j.ad_account_id, j.id,
       format('status %s, decision %s', j.status, coalesce(d.decision, 'none'))
from public.campaign_creation_jobs j
left join public.campaign_creation_job_decisions d on d.job_id = j.id
where (j.approval_required and j.status <> 'awaiting_approval' and d.decision is null)
   or (d.decision = 'rejected' and j.status <> 'rejected')
   or (d.decision = 'approved' and j.status in ('awaiting_approval', 'rejected'))
   or (j.status = 'rejected' and (j.started_at is not null
       or exists (select 1 from public.entity_creation_slots s where s.job_id = j.id and s.status <> 'pending')));
comment on view public.budget_invariant_violations is
  'Must always be empty: every approved job has exactly one reservation; no job has two reservations or two releases; a release matches its reservation; each account''s reserved balance equals the sum of its ledger and stays within its cap; no launch needing approval started without it, and no rejected launch started. The safety net reports any row as an alarm.';
revoke select on public.budget_invariant_violations from anon;

alter table public.pre_creation_verifications
  add column if not exists spend_cap bigint,
  add column if not exists amount_spent bigint;
comment on column public.pre_creation_verifications.spend_cap is
  'The spending limit Meta reported on the account (minor units; 0 = none); a launch is refused once amount_spent reaches it.';
comment on column public.pre_creation_verifications.amount_spent is
  'What Meta reported the account has spent against its spend_cap (minor units).';
