-- Ad accounts connected to adrail and who may see them.
-- Membership (ad_account_members) is the single source of access: every RLS policy in the
-- schema reaches its rows through private.current_user_ad_account_ids().

create schema if not exists private;
comment on schema private is 'adrail internals: helpers and lookup tables not exposed through the API.';
grant usage on schema private to authenticated, service_role;

create or replace function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.touch_updated_at() is 'Keeps updated_at current on every update.';

create table if not exists public.ad_accounts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  platform text not null default 'facebook' check (platform in ('facebook', 'tiktok', 'google')),
  platform_account_id text not null,
  name text,
  currency text,
  account_status integer,
  access_token_ciphertext text not null,
  app_secret_ciphertext text,
  token_validated_at timestamptz,
  rate_limited_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ad_accounts_platform_account_unique unique (platform, platform_account_id),
  constraint ad_accounts_facebook_id_format
    check (platform <> 'facebook' or platform_account_id ~ '^act_[0-9]+$')
);
comment on table public.ad_accounts is
  'An ad account on an ad platform. The access token is stored only as AES-256-GCM ciphertext.';
comment on column public.ad_accounts.user_id is 'Who connected the account first.';
comment on column public.ad_accounts.account_status is
  'Meta account_status: 1 active, 2 disabled, 3 unsettled, 7 pending risk review, 8 pending settlement, 9 in grace period, 100 pending closure, 101 closed, 201 any active, 202 any closed.';
comment on column public.ad_accounts.access_token_ciphertext is
  'base64(iv || ciphertext || tag), AES-256-GCM under TOKEN_ENCRYPTION_KEY; never readable as plain text in the database.';
comment on column public.ad_accounts.rate_limited_until is
  'Meta throttles this account until then (from its usage headers): no job of the account is claimed before. Durable, however long.';
create index if not exists ad_accounts_user_id_idx on public.ad_accounts (user_id);

drop trigger if exists ad_accounts_touch_updated_at on public.ad_accounts;
create trigger ad_accounts_touch_updated_at before update on public.ad_accounts
  for each row execute function private.touch_updated_at();

create table if not exists public.ad_account_members (
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'approver', 'launcher', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (ad_account_id, user_id)
);
comment on table public.ad_account_members is
  'Who may see an ad account and its entities, metrics, jobs and logs, and in which role.';
create index if not exists ad_account_members_user_id_idx on public.ad_account_members (user_id);

create or replace function private.current_user_ad_account_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select m.ad_account_id from public.ad_account_members m where m.user_id = (select auth.uid())
$$;
comment on function private.current_user_ad_account_ids() is
  'The ad accounts the calling user is a member of. Security definer so that policies on ad_account_members itself can use it without recursing.';
revoke execute on function private.current_user_ad_account_ids() from public, anon;
grant execute on function private.current_user_ad_account_ids() to authenticated, service_role;
