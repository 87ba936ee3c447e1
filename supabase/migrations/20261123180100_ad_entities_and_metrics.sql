-- Ad entities mirrored from the platforms (campaigns, ad sets, ads) and their daily metrics.
-- status / previous_status / status_changed_at are maintained by the status-change triggers
-- (next migration); last_final_sync_at by public.complete_final_sync.

create table if not exists public.ad_campaigns (
  id uuid primary key default gen_random_uuid(),
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  platform text not null default 'facebook' check (platform in ('facebook', 'tiktok', 'google')),
  platform_campaign_id text not null,
  name text not null,
  objective text,
  status text not null,
  effective_status text,
  previous_status text,
  status_changed_at timestamptz,
  last_final_sync_at timestamptz,
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ad_campaigns_platform_id_unique unique (platform, platform_campaign_id)
);
comment on table public.ad_campaigns is 'Campaigns as last seen on the platform.';
create index if not exists ad_campaigns_ad_account_id_idx on public.ad_campaigns (ad_account_id);

create table if not exists public.ad_sets (
  id uuid primary key default gen_random_uuid(),
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  campaign_id uuid references public.ad_campaigns (id) on delete set null,
  platform text not null default 'facebook' check (platform in ('facebook', 'tiktok', 'google')),
  platform_ad_set_id text not null,
  platform_campaign_id text,
  name text not null,
  status text not null,
  effective_status text,
  previous_status text,
  status_changed_at timestamptz,
  last_final_sync_at timestamptz,
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ad_sets_platform_id_unique unique (platform, platform_ad_set_id)
);
comment on table public.ad_sets is 'Ad sets as last seen on the platform.';
create index if not exists ad_sets_ad_account_id_idx on public.ad_sets (ad_account_id);
create index if not exists ad_sets_campaign_id_idx on public.ad_sets (campaign_id);

create table if not exists public.ads (
  id uuid primary key default gen_random_uuid(),
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  ad_set_id uuid references public.ad_sets (id) on delete set null,
  platform text not null default 'facebook' check (platform in ('facebook', 'tiktok', 'google')),
  platform_ad_id text not null,
  platform_ad_set_id text,
  name text not null,
  creative_id text,
  status text not null,
  effective_status text,
  previous_status text,
  status_changed_at timestamptz,
  last_final_sync_at timestamptz,
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ads_platform_id_unique unique (platform, platform_ad_id)
);
comment on table public.ads is 'Ads as last seen on the platform.';
create index if not exists ads_ad_account_id_idx on public.ads (ad_account_id);
create index if not exists ads_ad_set_id_idx on public.ads (ad_set_id);

drop trigger if exists ad_campaigns_touch_updated_at on public.ad_campaigns;
create trigger ad_campaigns_touch_updated_at before update on public.ad_campaigns
  for each row execute function private.touch_updated_at();
drop trigger if exists ad_sets_touch_updated_at on public.ad_sets;
create trigger ad_sets_touch_updated_at before update on public.ad_sets
  for each row execute function private.touch_updated_at();
drop trigger if exists ads_touch_updated_at on public.ads;
create trigger ads_touch_updated_at before update on public.ads
  for each row execute function private.touch_updated_at();

create table if not exists public.ad_metrics_daily (
  id bigint generated always as identity primary key,
  entity_type text not null check (entity_type in ('account', 'campaign', 'ad_set', 'ad')),
  platform_entity_id text not null,
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  date date not null,
  impressions bigint not null default 0 check (impressions >= 0),
  clicks bigint not null default 0 check (clicks >= 0),
  spend numeric(14, 2) not null default 0 check (spend >= 0),
  reach bigint not null default 0 check (reach >= 0),
  conversions numeric(14, 2) not null default 0 check (conversions >= 0),
  actions jsonb not null default '[]'::jsonb,
  synced_at timestamptz not null default now(),
  constraint ad_metrics_daily_entity_day_unique unique (entity_type, platform_entity_id, date)
);
comment on table public.ad_metrics_daily is
  'One row per entity per day, upserted on (entity_type, platform_entity_id, date): Meta restates recent days, the latest read wins.';
create index if not exists ad_metrics_daily_account_date_idx
  on public.ad_metrics_daily (ad_account_id, date);

create or replace function public.upsert_daily_metrics(
  ad_account_id uuid,
  metrics jsonb
) returns integer
language plpgsql
set search_path = ''
as $$
declare
  written integer;
begin
  insert into public.ad_metrics_daily as m (
    entity_type, platform_entity_id, ad_account_id, date,
    impressions, clicks, spend, reach, conversions, actions, synced_at
  )
  select d.entity_type, d.platform_entity_id, upsert_daily_metrics.ad_account_id, d.date,
         coalesce(d.impressions, 0), coalesce(d.clicks, 0), coalesce(d.spend, 0),
         coalesce(d.reach, 0), coalesce(d.conversions, 0), coalesce(d.actions, '[]'::jsonb), now()
  from jsonb_to_recordset(coalesce(metrics, '[]'::jsonb)) as d(
    entity_type text, platform_entity_id text, date date, impressions bigint, clicks bigint,
    spend numeric, reach bigint, conversions numeric, actions jsonb
  )
  on conflict (entity_type, platform_entity_id, date) do update
  set impressions = excluded.impressions, clicks = excluded.clicks, spend = excluded.spend,
      reach = excluded.reach, conversions = excluded.conversions, actions = excluded.actions,
      synced_at = excluded.synced_at;
  get diagnostics written = row_count;
  return written;
end;
$$;
comment on function public.upsert_daily_metrics(uuid, jsonb) is
  'Upserts daily metric rows of one ad account in one statement (jsonb array of {entity_type, platform_entity_id, date, impressions, clicks, spend, reach, conversions, actions}); the latest read of a restated day wins. Returns the rows written.';
revoke execute on function public.upsert_daily_metrics(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.upsert_daily_metrics(uuid, jsonb) to service_role;
