-- The rate-limit dashboard (issue #10 item 7): per ad account, the last usage percentages Meta
-- reported in its headers, the rate-limit wait, the outage breaker and the jobs waiting.

create table if not exists public.ad_account_meta_usage (
  ad_account_id uuid primary key references public.ad_accounts (id) on delete cascade,
  app_usage_pct numeric check (app_usage_pct >= 0),
  account_usage_pct numeric check (account_usage_pct >= 0),
  business_usage_pct numeric check (business_usage_pct >= 0),
  recorded_at timestamptz not null default now()
);
comment on table public.ad_account_meta_usage is
  'The last usage percentages Meta reported for an ad account, written by record_meta_usage from the Graph client''s answers, throttled (a change of 5 points or more, else at most every 10 s per function instance).';
comment on column public.ad_account_meta_usage.app_usage_pct is
  'X-App-Usage: the highest of call_count, total_cputime and total_time (percent of the app''s limit).';
comment on column public.ad_account_meta_usage.account_usage_pct is
  'X-Ad-Account-Usage: acc_id_util_pct (percent of the ad account''s limit).';
comment on column public.ad_account_meta_usage.business_usage_pct is
  'X-Business-Use-Case-Usage: the highest call_count, total_cputime or total_time over every use case.';
comment on column public.ad_account_meta_usage.recorded_at is 'When the reading was stored.';

-- Clients read through RLS and write nothing (no write policy); the functions write through
-- record_meta_usage.
alter table public.ad_account_meta_usage enable row level security;
drop policy if exists "members read their accounts' Meta usage" on public.ad_account_meta_usage;
create policy "members read their accounts' Meta usage" on public.ad_account_meta_usage
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

create or replace function public.record_meta_usage(
  ad_account_id uuid,
  app_usage_pct numeric,
  account_usage_pct numeric,
  business_usage_pct numeric
) returns void
language sql
set search_path = ''
as $$
  insert into public.ad_account_meta_usage as u (
    ad_account_id, app_usage_pct, account_usage_pct, business_usage_pct, recorded_at
  )
  select a.id, record_meta_usage.app_usage_pct, record_meta_usage.account_usage_pct,
         record_meta_usage.business_usage_pct, now()
  from public.ad_accounts a
  where a.id = record_meta_usage.ad_account_id
  on conflict on constraint ad_account_meta_usage_pkey do update
  set app_usage_pct = coalesce(excluded.app_usage_pct, u.app_usage_pct),
      account_usage_pct = coalesce(excluded.account_usage_pct, u.account_usage_pct),
      business_usage_pct = coalesce(excluded.business_usage_pct, u.business_usage_pct),
      recorded_at = excluded.recorded_at
$$;
comment on function public.record_meta_usage(uuid, numeric, numeric, numeric) is
  'Stores the usage percentages of one Meta answer for an ad account (a null keeps the last reading of that header); a no-op for an account that is gone.';
revoke execute on function public.record_meta_usage(uuid, numeric, numeric, numeric) from public, anon, authenticated;
grant execute on function public.record_meta_usage(uuid, numeric, numeric, numeric) to service_role;

create or replace view public.account_rate_limits with (security_invoker = on) as
select
  a.id as ad_account_id,
  a.platform,
  a.platform_account_id,
  u.app_usage_pct,
  u.account_usage_pct,
  u.business_usage_pct,
  u.recorded_at as usage_recorded_at,
  a.rate_limited_until,
  coalesce(a.rate_limited_until > now(), false) as rate_limited,
  case
    when a.meta_outage_until > now() then 'open'
    when a.meta_outage_failures > 0 then 'half_open'
    else 'closed'
  end as circuit_breaker,
  a.meta_outage_failures,
  a.meta_outage_until,
  coalesce(j.due_later, 0) as jobs_due_later,
  coalesce(j.rollback_blocked, 0) as jobs_rollback_blocked,
  coalesce(j.due_now, 0) as jobs_due_now
from public.ad_accounts a
left join public.ad_account_meta_usage u on u.ad_account_id = a.id
left join lateral (
  select
    count(*) filter (where c.next_run_at > now()) as due_later,
    count(*) filter (where c.status = 'rollback_blocked') as rollback_blocked,
    count(*) filter (where c.next_run_at <= now()) as due_now
  from public.campaign_creation_jobs c
  where c.ad_account_id = a.id
    and c.status in ('pending', 'verifying', 'in_progress', 'rolling_back', 'rollback_blocked')
) j on true;
comment on view public.account_rate_limits is
  'Per ad account: the last usage percentages from Meta''s headers (and when they were stored), rate_limited_until, the outage breaker (open while meta_outage_until is ahead; half_open after it while failures are still counted; closed), and its creation jobs waiting: due later (a backoff, a rate-limit or breaker wait), rollback_blocked, and due now (a rate-limited account holds these too). security_invoker: members see only their accounts.';
