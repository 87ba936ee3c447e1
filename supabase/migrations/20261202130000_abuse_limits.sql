-- Abuse limits (issue #9 item 4): how much one user, and one ad account, may ask of adrail.
--
--   public.adrail_limits         the limits: one default per (action, scope), and overrides for
--                                one user or one ad account. Operators change them with SQL; the
--                                next request uses the new value (nothing is cached).
--   public.request_rate_limits   the request limits' state: one token bucket per (action, scope,
--                                subject), taken by public.take_request_quota in one call. A
--                                bucket counts what was used, so a changed limit applies at once.
--   active_jobs                  creation jobs under way (any status but completed, failed and
--                                rolled_back), checked by a trigger on every new job.
--
-- Error code raised here (DbErrorCode.limitReached in supabase/functions/_shared/platform/db.ts):
--   ADR09  a limit is reached; its DETAIL is JSON {action, scope, quota}. The functions answer
--          429 rate_limited.

create table if not exists public.adrail_limits (
  id bigint generated always as identity primary key,
  action text not null check (action in (
    'read', 'connect', 'launch', 'sync', 'job_action', 'requested_entities', 'active_jobs'
  )),
  scope text not null check (scope in ('user', 'account')),
  user_id uuid references auth.users (id) on delete cascade,
  ad_account_id uuid references public.ad_accounts (id) on delete cascade,
  quota integer not null check (quota >= 0),
  window_seconds integer check (window_seconds between 1 and 604800),
  updated_at timestamptz not null default now(),
  constraint adrail_limits_subject_matches_scope
    check ((scope = 'user' or user_id is null) and (scope = 'account' or ad_account_id is null)),
  constraint adrail_limits_account_scope_actions
    check (scope = 'user' or action not in ('read', 'connect')),
  constraint adrail_limits_window_unless_active_jobs
    check ((action = 'active_jobs') = (window_seconds is null)),
  constraint adrail_limits_one_per_subject
    unique nulls not distinct (action, scope, user_id, ad_account_id)
);
comment on table public.adrail_limits is
  'Abuse limits. A row without user_id and ad_account_id is the default of its (action, scope); a row naming a user (scope user) or an ad account (scope account) overrides it for that subject. Request actions (read, connect, launch, sync, job_action) and requested_entities are token buckets: a burst of up to quota, refilled at quota per window_seconds; active_jobs is the number of creation jobs under way at once. quota 0 refuses everything; no row at all means no limit.';
comment on column public.adrail_limits.action is
  'read: GET routes; connect: POST /ad-accounts; launch: POST /campaign-create; sync: POST /facebook-ads-sync; job_action: rollback decisions and verify requests; requested_entities: objects launches ask for (1 campaign + ad sets + ads, dry runs included); active_jobs: creation jobs under way.';
comment on column public.adrail_limits.scope is
  'user: counted per signed-in user, whatever the account; account: counted per ad account, all its members together.';
comment on column public.adrail_limits.user_id is 'Set on a per-user override (scope user); null on a default.';
comment on column public.adrail_limits.ad_account_id is 'Set on a per-account override (scope account); null on a default.';
comment on column public.adrail_limits.quota is
  'Requests (or entities) per window_seconds, which is also the largest burst; for active_jobs, jobs under way at once.';
comment on column public.adrail_limits.window_seconds is 'The window of a token bucket; null for active_jobs.';
alter table public.adrail_limits enable row level security;
revoke all on table public.adrail_limits from anon, authenticated;
create index if not exists adrail_limits_user_idx on public.adrail_limits (user_id) where user_id is not null;
create index if not exists adrail_limits_ad_account_idx
  on public.adrail_limits (ad_account_id) where ad_account_id is not null;

drop trigger if exists adrail_limits_touch_updated_at on public.adrail_limits;
create trigger adrail_limits_touch_updated_at before update on public.adrail_limits
  for each row execute function private.touch_updated_at();

insert into public.adrail_limits (action, scope, quota, window_seconds) values
  ('read', 'user', 600, 60),
  ('connect', 'user', 30, 3600),
  ('launch', 'user', 30, 60),
  ('launch', 'account', 10, 60),
  ('sync', 'user', 30, 60),
  ('sync', 'account', 10, 60),
  ('job_action', 'user', 60, 60),
  ('job_action', 'account', 30, 60),
  ('requested_entities', 'user', 20000, 3600),
  ('requested_entities', 'account', 10000, 3600),
  ('active_jobs', 'user', 25, null),
  ('active_jobs', 'account', 10, null)
on conflict on constraint adrail_limits_one_per_subject do nothing;

create table if not exists public.request_rate_limits (
  action text not null,
  scope text not null check (scope in ('user', 'account')),
  subject_id uuid not null,
  used double precision not null check (used >= 0),
  used_at timestamptz not null,
  primary key (action, scope, subject_id)
);
comment on table public.request_rate_limits is
  'One token bucket per (action, scope, subject): the state of the request limits of adrail_limits, written only by take_request_quota.';
comment on column public.request_rate_limits.subject_id is 'The user (scope user) or the ad account (scope account).';
comment on column public.request_rate_limits.used is
  'Requests (or entities) taken and not flowed back yet, as of used_at. They flow back at quota per window_seconds of the limit in force when the next request comes, so a changed limit applies at once to what was used; a request fits while used stays within quota.';
comment on column public.request_rate_limits.used_at is 'When used was last computed (the last request taken).';
alter table public.request_rate_limits enable row level security;
revoke all on table public.request_rate_limits from anon, authenticated;

create or replace function private.limit_of(action text, scope text, subject_id uuid)
returns public.adrail_limits
language sql
stable
set search_path = ''
as $$
  select l.* from public.adrail_limits l
  where l.action = limit_of.action and l.scope = limit_of.scope
    and (coalesce(l.user_id, l.ad_account_id) is null
         or coalesce(l.user_id, l.ad_account_id) = limit_of.subject_id)
  order by coalesce(l.user_id, l.ad_account_id) is null
  limit 1
$$;
comment on function private.limit_of(text, text, uuid) is
  'The limit of action for one subject (a user for scope user, an ad account for scope account): its override, else the default; null when neither exists (no limit).';
revoke execute on function private.limit_of(text, text, uuid) from public, anon, authenticated;

create or replace function public.take_request_quota(
  action text,
  user_id uuid,
  ad_account_id uuid default null,
  cost integer default 1
) returns table (
  allowed boolean,
  retry_after_seconds integer,
  scope text,
  quota integer,
  window_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  subject record;
  lim public.adrail_limits;
  was_used double precision;
  was_at timestamptz;
  in_use double precision;
  taken_scopes text[] := '{}';
  taken_subjects uuid[] := '{}';
  taken_used double precision[] := '{}';
begin
  if action is null or action = 'active_jobs' or cost is null or cost < 1 then
    raise exception 'take_request_quota needs a request action and a cost of 1 or more'
      using errcode = '22023';
  end if;
  -- The account's bucket first, then the user's: concurrent calls lock buckets in one order.
  for subject in
    select s.scope, s.subject_id
    from (values (1, 'account', take_request_quota.ad_account_id),
                 (2, 'user', take_request_quota.user_id)) s(n, scope, subject_id)
    where s.subject_id is not null
    order by s.n
  loop
    lim := private.limit_of(action, subject.scope, subject.subject_id);
    continue when lim.id is null;
    if lim.quota = 0 or cost > lim.quota then
      -- Never fits: the whole window is the honest wait (an operator must raise the limit).
      return query select false, lim.window_seconds, subject.scope, lim.quota, lim.window_seconds;
      return;
    end if;
    insert into public.request_rate_limits as r (action, scope, subject_id, used, used_at)
    values (take_request_quota.action, subject.scope, subject.subject_id, 0, now())
    on conflict on constraint request_rate_limits_pkey do nothing;
    select r.used, r.used_at into was_used, was_at from public.request_rate_limits r
    where r.action = take_request_quota.action and r.scope = subject.scope
      and r.subject_id = subject.subject_id
    for update;
    in_use := greatest(0, was_used - extract(epoch from now() - was_at)::double precision
      * lim.quota / lim.window_seconds);
    if in_use + cost > lim.quota then
      -- Refused, nothing taken from any bucket: the wait until enough has flowed back.
      return query select false,
        greatest(1, ceil((in_use + cost - lim.quota) * lim.window_seconds / lim.quota))::integer,
        subject.scope, lim.quota, lim.window_seconds;
      return;
    end if;
    taken_scopes := taken_scopes || subject.scope;
    taken_subjects := taken_subjects || subject.subject_id;
    taken_used := taken_used || (in_use + cost);
  end loop;
  update public.request_rate_limits r
  set used = t.used, used_at = now()
  from unnest(taken_scopes, taken_subjects, taken_used) t(scope, subject_id, used)
  where r.action = take_request_quota.action and r.scope = t.scope and r.subject_id = t.subject_id;
  return query select true, 0, null::text, null::integer, null::integer;
end;
$$;
comment on function public.take_request_quota(text, uuid, uuid, integer) is
  'Takes cost from the buckets of action for the user and, when given, the ad account (adrail_limits), all or nothing: allowed, or refused with the seconds to wait (retry_after_seconds) and the limit that refused (scope, quota, window_seconds). A refused request takes nothing. An action without a limit is allowed.';
revoke execute on function public.take_request_quota(text, uuid, uuid, integer) from public, anon, authenticated;
grant execute on function public.take_request_quota(text, uuid, uuid, integer) to service_role;

create index if not exists campaign_creation_jobs_account_under_way_idx
  on public.campaign_creation_jobs (ad_account_id)
  where status not in ('completed', 'failed', 'rolled_back');
create index if not exists campaign_creation_jobs_user_under_way_idx
  on public.campaign_creation_jobs (user_id)
  where status not in ('completed', 'failed', 'rolled_back');

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
        and j.status not in ('completed', 'failed', 'rolled_back');
    else
      select count(*) into under_way from public.campaign_creation_jobs j
      where j.user_id = subject.subject_id
        and j.status not in ('completed', 'failed', 'rolled_back');
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
  'Raises ADR09 (DETAIL {action: active_jobs, scope, quota}) when the ad account, or the user, would have more creation jobs under way than its limit (adrail_limits active_jobs) with adding more.';
revoke execute on function private.assert_active_job_room(uuid, uuid, integer) from public, anon, authenticated;

create or replace function public.check_creation_job_room(user_id uuid, ad_account_id uuid)
returns void
language sql
set search_path = ''
as $$
  select private.assert_active_job_room(user_id, ad_account_id, 1)
$$;
comment on function public.check_creation_job_room(uuid, uuid) is
  'ADR09 when a new creation job of the user on the ad account would go over an active_jobs limit: the launch asks before it verifies anything. The trigger enforce_active_job_limits checks again, serialized, when the job is created.';
revoke execute on function public.check_creation_job_room(uuid, uuid) from public, anon, authenticated;
grant execute on function public.check_creation_job_room(uuid, uuid) to service_role;

create or replace function private.enforce_active_job_limits()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- One new job at a time per user, then per account: each count sees every job inserted before
  -- (committed: the lock is held until then), the new one included.
  perform pg_advisory_xact_lock(hashtextextended('adrail active jobs of user ' || new.user_id, 0));
  perform pg_advisory_xact_lock(
    hashtextextended('adrail active jobs of account ' || new.ad_account_id, 0));
  perform private.assert_active_job_room(new.user_id, new.ad_account_id, 0);
  return null;
end;
$$;
comment on function private.enforce_active_job_limits() is
  'After a creation job is inserted: ADR09 (the insert undone) when its user or its ad account now has more jobs under way than its limit (adrail_limits active_jobs), serialized per user and per account. After the insert, so that row-level security refuses a client first and an idempotent replay that inserts nothing is never counted.';
revoke execute on function private.enforce_active_job_limits() from public, anon, authenticated;

drop trigger if exists enforce_active_job_limits on public.campaign_creation_jobs;
create trigger enforce_active_job_limits after insert on public.campaign_creation_jobs
  for each row execute function private.enforce_active_job_limits();
