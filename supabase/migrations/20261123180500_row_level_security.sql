-- Row-level security: a user reads only the ad accounts they are a member of, and those
-- accounts' entities, metrics, jobs, slots and logs. Clients write nothing directly: there is
-- no insert, update or delete policy, so only the service role (used by the edge functions,
-- after they check membership) writes.

alter table public.ad_accounts enable row level security;
alter table public.ad_account_members enable row level security;
alter table public.ad_campaigns enable row level security;
alter table public.ad_sets enable row level security;
alter table public.ads enable row level security;
alter table public.ad_metrics_daily enable row level security;
alter table public.ad_status_change_log enable row level security;
alter table public.campaign_creation_jobs enable row level security;
alter table public.entity_creation_slots enable row level security;
alter table public.pre_creation_verifications enable row level security;

drop policy if exists "members read their ad accounts" on public.ad_accounts;
create policy "members read their ad accounts" on public.ad_accounts
  for select to authenticated
  using (id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' members" on public.ad_account_members;
create policy "members read their accounts' members" on public.ad_account_members
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' campaigns" on public.ad_campaigns;
create policy "members read their accounts' campaigns" on public.ad_campaigns
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' ad sets" on public.ad_sets;
create policy "members read their accounts' ad sets" on public.ad_sets
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' ads" on public.ads;
create policy "members read their accounts' ads" on public.ads
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' metrics" on public.ad_metrics_daily;
create policy "members read their accounts' metrics" on public.ad_metrics_daily
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' status changes" on public.ad_status_change_log;
create policy "members read their accounts' status changes" on public.ad_status_change_log
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' creation jobs" on public.campaign_creation_jobs;
create policy "members read their accounts' creation jobs" on public.campaign_creation_jobs
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

drop policy if exists "members read their accounts' creation slots" on public.entity_creation_slots;
create policy "members read their accounts' creation slots" on public.entity_creation_slots
  for select to authenticated
  using (job_id in (
    select j.id from public.campaign_creation_jobs j
    where j.ad_account_id in (select private.current_user_ad_account_ids())
  ));

drop policy if exists "members read their accounts' verifications" on public.pre_creation_verifications;
create policy "members read their accounts' verifications" on public.pre_creation_verifications
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));
