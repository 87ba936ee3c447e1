-- What each role of an ad account's members may do, in one place: private.account_role_actions.
-- Everything that grants access asks private.account_role_allows: the read policies (through
-- private.current_user_ad_account_ids), the member-facing functions below that the edge functions
-- call before they act (ad_account_for_member, job_for_member), connecting and reconnecting an
-- account (connect_ad_account) and membership changes (set_ad_account_member,
-- remove_ad_account_member). Nobody's role changes except through the last two, by an owner.
--
-- Error codes raised here (branch on them in TypeScript, DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR04  not found: no such account, job or member, or one the caller is not a member of (the
--          same answer for both, so ids cannot be probed)
--   ADR06  the caller is a member, but their role does not allow the action
--   ADR07  the ad account is connected already, and the caller is not one of its members
--   ADR08  the change would leave the ad account without an owner

create table if not exists private.account_role_actions (
  role text not null check (role in ('owner', 'approver', 'launcher', 'viewer')),
  action text not null check (action in (
    'read', 'sync', 'launch', 'manage_own_jobs', 'manage_all_jobs', 'approve', 'manage_members',
    'manage_token'
  )),
  primary key (role, action)
);
comment on table private.account_role_actions is
  'Which role of an ad account''s members may do which action on it; the only place that says so. read: see the account, its members, entities, metrics, jobs and logs; sync: run facebook-ads-sync; launch: start a launch; manage_own_jobs: verify or decide the rollback of one''s own jobs; manage_all_jobs: the same for any job of the account; approve: approve or reject a launch waiting for approval; manage_members: add, remove and change members; manage_token: replace the stored token (reconnect).';

grant select on private.account_role_actions to service_role;

delete from private.account_role_actions;
insert into private.account_role_actions (role, action)
select role, 'read'
from unnest(array['owner', 'approver', 'launcher', 'viewer']) as role
union all
-- A sync spends the account's Meta rate limit and writes every entity: not a viewer's to start.
select role, action
from unnest(array['owner', 'approver', 'launcher']) as role,
     unnest(array['sync', 'launch', 'manage_own_jobs']) as action
union all
select role, action
from unnest(array['owner', 'approver']) as role,
     unnest(array['manage_all_jobs', 'approve']) as action
union all
select 'owner', action
from unnest(array['manage_members', 'manage_token']) as action;

create or replace function private.account_role_allows(
  ad_account_id uuid,
  user_id uuid,
  action text
) returns boolean
language sql stable
set search_path = ''
as $$
  select exists (
    select 1
    from public.ad_account_members m
    join private.account_role_actions r on r.role = m.role
    where m.ad_account_id = account_role_allows.ad_account_id
      and m.user_id = account_role_allows.user_id
      and r.action = account_role_allows.action
  )
$$;
comment on function private.account_role_allows(uuid, uuid, text) is
  'Whether the user is a member of the ad account in a role that private.account_role_actions allows the action to. False for a non-member.';
revoke execute on function private.account_role_allows(uuid, uuid, text) from public, anon, authenticated;
grant execute on function private.account_role_allows(uuid, uuid, text) to service_role;

create or replace function private.current_user_ad_account_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select m.ad_account_id from public.ad_account_members m
  where m.user_id = (select auth.uid())
    and private.account_role_allows(m.ad_account_id, m.user_id, 'read')
$$;
comment on function private.current_user_ad_account_ids() is
  'The ad accounts the calling user may read (a member in a role allowed read). Security definer so that policies on ad_account_members itself can use it without recursing.';

create or replace function private.assert_account_role(
  ad_account_id uuid,
  user_id uuid,
  action text
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if private.account_role_allows(ad_account_id, user_id, action) then
    return;
  end if;
  if ad_account_id is null or not private.account_role_allows(ad_account_id, user_id, 'read') then
    raise exception 'ad account not found' using errcode = 'ADR04';
  end if;
  raise exception 'your role on this ad account does not allow %', action using errcode = 'ADR06';
end;
$$;
comment on function private.assert_account_role(uuid, uuid, text) is
  'Raises unless the user''s role allows the action: ADR04 when the account does not exist or the user may not read it (the same answer), ADR06 when they may read it but not do this.';
revoke execute on function private.assert_account_role(uuid, uuid, text) from public, anon, authenticated;
grant execute on function private.assert_account_role(uuid, uuid, text) to service_role;

create or replace function public.ad_account_for_member(
  user_id uuid,
  platform text,
  platform_account_id text,
  action text
) returns setof public.ad_accounts
language plpgsql stable
set search_path = ''
as $$
declare
  account public.ad_accounts;
begin
  select * into account from public.ad_accounts a
  where a.platform = ad_account_for_member.platform
    and a.platform_account_id = ad_account_for_member.platform_account_id;
  perform private.assert_account_role(account.id, user_id, action);
  return next account;
end;
$$;
comment on function public.ad_account_for_member(uuid, text, text, text) is
  'The ad account (with its ciphertexts, for the functions) named by its platform id, if the user''s role allows the action on it: ADR04 when there is none or the user may not read it, ADR06 when the role does not allow the action.';
revoke execute on function public.ad_account_for_member(uuid, text, text, text) from public, anon, authenticated;
grant execute on function public.ad_account_for_member(uuid, text, text, text) to service_role;

create or replace function public.job_for_member(
  user_id uuid,
  job_id bigint,
  action text
) returns setof public.campaign_creation_jobs
language plpgsql stable
set search_path = ''
as $$
declare
  job public.campaign_creation_jobs;
begin
  if action not in ('read', 'manage') then
    raise exception 'unknown job action %: read or manage', action using errcode = '22023';
  end if;
  select * into job from public.campaign_creation_jobs j where j.id = job_for_member.job_id;
  if job.id is null or not private.account_role_allows(job.ad_account_id, user_id, 'read') then
    raise exception 'campaign creation job % not found', job_id using errcode = 'ADR04';
  end if;
  if action = 'manage' then
    perform private.assert_account_role(job.ad_account_id, user_id,
      case when job.user_id = job_for_member.user_id then 'manage_own_jobs' else 'manage_all_jobs' end);
  end if;
  return next job;
end;
$$;
comment on function public.job_for_member(uuid, bigint, text) is
  'The job, if the user may act on it: read (any role that reads the account) or manage (verify, decide its rollback: manage_own_jobs for the job''s requester, manage_all_jobs for anyone else). ADR04 when there is no such job or the user may not read its account, ADR06 when the role does not allow managing it.';
revoke execute on function public.job_for_member(uuid, bigint, text) from public, anon, authenticated;
grant execute on function public.job_for_member(uuid, bigint, text) to service_role;

create or replace function public.connect_ad_account(
  user_id uuid,
  platform text,
  platform_account_id text,
  name text,
  currency text,
  account_status integer,
  access_token_ciphertext text,
  app_secret_ciphertext text
) returns table (ad_account public.ad_accounts, created boolean)
language plpgsql
set search_path = ''
as $$
declare
  account public.ad_accounts;
begin
  loop
    insert into public.ad_accounts (
      user_id, platform, platform_account_id, name, currency, account_status,
      access_token_ciphertext, app_secret_ciphertext, token_validated_at
    ) values (
      connect_ad_account.user_id, connect_ad_account.platform,
      connect_ad_account.platform_account_id, connect_ad_account.name,
      connect_ad_account.currency, connect_ad_account.account_status,
      connect_ad_account.access_token_ciphertext, connect_ad_account.app_secret_ciphertext, now()
    )
    on conflict on constraint ad_accounts_platform_account_unique do nothing
    returning * into account;
    if account.id is not null then
      insert into public.ad_account_members (ad_account_id, user_id, role)
      values (account.id, connect_ad_account.user_id, 'owner');
      return query select account, true;
      return;
    end if;
    -- Connected already: locked until this transaction ends, so a concurrent membership change
    -- (set_ad_account_member locks the same row) cannot interleave with the check below.
    select * into account from public.ad_accounts a
    where a.platform = connect_ad_account.platform
      and a.platform_account_id = connect_ad_account.platform_account_id
    for update;
    exit when account.id is not null; -- else it was deleted meanwhile: connect it anew
  end loop;

  if not private.account_role_allows(account.id, user_id, 'manage_token') then
    if private.account_role_allows(account.id, user_id, 'read') then
      raise exception 'your role on ad account % does not allow replacing its token',
        platform_account_id using errcode = 'ADR06';
    end if;
    raise exception 'ad account % is already connected by other members', platform_account_id
      using errcode = 'ADR07';
  end if;
  update public.ad_accounts a
  set name = connect_ad_account.name,
      currency = connect_ad_account.currency,
      account_status = connect_ad_account.account_status,
      access_token_ciphertext = connect_ad_account.access_token_ciphertext,
      app_secret_ciphertext = connect_ad_account.app_secret_ciphertext,
      token_validated_at = now()
  where a.id = account.id
  returning a.* into account;
  return query select account, false;
end;
$$;
comment on function public.connect_ad_account(uuid, text, text, text, text, integer, text, text) is
  'POST /ad-accounts after Meta accepted the token: a new account is stored with the user as its only member, owner (created true); an account connected already gets the new token, app secret and Meta''s details only from a member whose role allows manage_token (created false), and nobody''s membership changes. ADR06 for another member of it, ADR07 for a user who is not one (a second team: ask an owner to add you).';
revoke execute on function public.connect_ad_account(uuid, text, text, text, text, integer, text, text) from public, anon, authenticated;
grant execute on function public.connect_ad_account(uuid, text, text, text, text, integer, text, text) to service_role;

create or replace function private.assert_owner_remains(ad_account_id uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (
    select 1 from public.ad_account_members m
    where m.ad_account_id = assert_owner_remains.ad_account_id and m.role = 'owner'
  ) then
    raise exception 'an ad account keeps at least one owner' using errcode = 'ADR08';
  end if;
end;
$$;
comment on function private.assert_owner_remains(uuid) is
  'Raises ADR08 when the ad account has no owner (called after a membership change, in its transaction, which it then aborts).';
revoke execute on function private.assert_owner_remains(uuid) from public, anon, authenticated;
grant execute on function private.assert_owner_remains(uuid) to service_role;

create or replace function private.lock_member_account(ad_account_id uuid, acting_user uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- One membership change (or reconnect) of an account at a time: two owners demoting each
  -- other at once must not both see the other one still owner.
  perform 1 from public.ad_accounts a where a.id = lock_member_account.ad_account_id for update;
  perform private.assert_account_role(ad_account_id, acting_user, 'manage_members');
end;
$$;
comment on function private.lock_member_account(uuid, uuid) is
  'Locks the ad account row for a membership change and checks that acting_user may manage its members (ADR04, ADR06).';
revoke execute on function private.lock_member_account(uuid, uuid) from public, anon, authenticated;
grant execute on function private.lock_member_account(uuid, uuid) to service_role;

create or replace function public.set_ad_account_member(
  ad_account_id uuid,
  acting_user uuid,
  member_user uuid,
  role text
) returns public.ad_account_members
language plpgsql
set search_path = ''
as $$
declare
  member public.ad_account_members;
begin
  perform private.lock_member_account(ad_account_id, acting_user);
  begin
    insert into public.ad_account_members as m (ad_account_id, user_id, role)
    values (set_ad_account_member.ad_account_id, member_user, set_ad_account_member.role)
    on conflict on constraint ad_account_members_pkey do update set role = excluded.role
    returning m.* into member;
  exception when foreign_key_violation then
    raise exception 'user not found' using errcode = 'ADR04';
  end;
  perform private.assert_owner_remains(ad_account_id);
  return member;
end;
$$;
comment on function public.set_ad_account_member(uuid, uuid, uuid, text) is
  'An owner (manage_members) adds member_user to the ad account in role, or changes their role. ADR04 when the account or the user does not exist or acting_user may not read the account, ADR06 when acting_user may not manage members, ADR08 when it would leave no owner.';
revoke execute on function public.set_ad_account_member(uuid, uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.set_ad_account_member(uuid, uuid, uuid, text) to service_role;

create or replace function public.remove_ad_account_member(
  ad_account_id uuid,
  acting_user uuid,
  member_user uuid
) returns public.ad_account_members
language plpgsql
set search_path = ''
as $$
declare
  member public.ad_account_members;
begin
  perform private.lock_member_account(ad_account_id, acting_user);
  delete from public.ad_account_members m
  where m.ad_account_id = remove_ad_account_member.ad_account_id and m.user_id = member_user
  returning m.* into member;
  if member.user_id is null then
    raise exception 'member not found' using errcode = 'ADR04';
  end if;
  perform private.assert_owner_remains(ad_account_id);
  return member;
end;
$$;
comment on function public.remove_ad_account_member(uuid, uuid, uuid) is
  'An owner (manage_members) removes member_user from the ad account; returns the removed membership. ADR04 when there is no such member or acting_user may not read the account, ADR06 when acting_user may not manage members, ADR08 when it would leave no owner.';
revoke execute on function public.remove_ad_account_member(uuid, uuid, uuid) from public, anon, authenticated;
grant execute on function public.remove_ad_account_member(uuid, uuid, uuid) to service_role;
