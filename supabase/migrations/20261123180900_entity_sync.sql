-- Mirroring an ad account's campaigns, ad sets and ads from the platform, in one transaction.
-- Upserting a changed status fires the status-change triggers: that is how a sync uncovers the
-- final syncs it owes.

create or replace function public.sync_ad_entities(
  ad_account_id uuid,
  campaigns jsonb,
  ad_sets jsonb,
  ads jsonb
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  campaign_count integer;
  ad_set_count integer;
  ad_count integer;
  changes integer;
begin
  insert into public.ad_campaigns as t (
    ad_account_id, platform, platform_campaign_id, name, objective, status, effective_status, last_synced_at
  )
  select sync_ad_entities.ad_account_id, 'facebook', c.id, c.name, c.objective, c.status, c.effective_status, now()
  from jsonb_to_recordset(coalesce(campaigns, '[]'::jsonb))
    as c(id text, name text, objective text, status text, effective_status text)
  on conflict (platform, platform_campaign_id) do update
  set name = excluded.name, objective = excluded.objective, status = excluded.status,
      effective_status = excluded.effective_status, last_synced_at = excluded.last_synced_at;
  get diagnostics campaign_count = row_count;

  insert into public.ad_sets as t (
    ad_account_id, campaign_id, platform, platform_ad_set_id, platform_campaign_id, name, status,
    effective_status, last_synced_at
  )
  select sync_ad_entities.ad_account_id, c.id, 'facebook', s.id, s.campaign_id, s.name, s.status,
         s.effective_status, now()
  from jsonb_to_recordset(coalesce(ad_sets, '[]'::jsonb))
    as s(id text, name text, campaign_id text, status text, effective_status text)
  left join public.ad_campaigns c on c.platform = 'facebook' and c.platform_campaign_id = s.campaign_id
  on conflict (platform, platform_ad_set_id) do update
  set campaign_id = excluded.campaign_id, platform_campaign_id = excluded.platform_campaign_id,
      name = excluded.name, status = excluded.status, effective_status = excluded.effective_status,
      last_synced_at = excluded.last_synced_at;
  get diagnostics ad_set_count = row_count;

  insert into public.ads as t (
    ad_account_id, ad_set_id, platform, platform_ad_id, platform_ad_set_id, name, creative_id, status,
    effective_status, last_synced_at
  )
  select sync_ad_entities.ad_account_id, s.id, 'facebook', a.id, a.adset_id, a.name, a.creative ->> 'id',
         a.status, a.effective_status, now()
  from jsonb_to_recordset(coalesce(ads, '[]'::jsonb))
    as a(id text, name text, adset_id text, creative jsonb, status text, effective_status text)
  left join public.ad_sets s on s.platform = 'facebook' and s.platform_ad_set_id = a.adset_id
  on conflict (platform, platform_ad_id) do update
  set ad_set_id = excluded.ad_set_id, platform_ad_set_id = excluded.platform_ad_set_id,
      name = excluded.name, creative_id = excluded.creative_id, status = excluded.status,
      effective_status = excluded.effective_status, last_synced_at = excluded.last_synced_at;
  get diagnostics ad_count = row_count;

  -- The triggers stamp their rows with now(), the start of this transaction.
  select count(*) into changes from public.ad_status_change_log l
  where l.ad_account_id = sync_ad_entities.ad_account_id and l.created_at = now();

  return jsonb_build_object(
    'campaigns', campaign_count, 'adSets', ad_set_count, 'ads', ad_count, 'statusChanges', changes
  );
end;
$$;
comment on function public.sync_ad_entities(uuid, jsonb, jsonb, jsonb) is
  'Upserts an ad account''s campaigns, ad sets and ads as Meta lists them (jsonb arrays of {id, name, status, effective_status, objective | campaign_id | adset_id, creative}), parents first, in one transaction; status changes fire the triggers. Returns the counts and how many status changes it logged.';
revoke execute on function public.sync_ad_entities(uuid, jsonb, jsonb, jsonb) from public, anon, authenticated;
grant execute on function public.sync_ad_entities(uuid, jsonb, jsonb, jsonb) to service_role;
