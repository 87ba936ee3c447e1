-- Zero metric loss on status changes.
-- Every status change of a campaign, ad set or ad writes a row to ad_status_change_log; leaving
-- ACTIVE for PAUSED, DELETED or ARCHIVED flags a final sync, so the entity's metrics up to that
-- moment are captured even if no later sync ever sees it again.
--
-- Error codes raised here (branch on them in TypeScript, DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR02  the caller does not hold the claim on the row (lease lost or never held)
--   ADR04  the row does not exist

create table if not exists public.ad_status_change_log (
  id bigint generated always as identity primary key,
  entity_type text not null check (entity_type in ('campaign', 'ad_set', 'ad')),
  entity_id uuid not null,
  platform text not null,
  platform_entity_id text not null,
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  old_status text,
  new_status text not null,
  requires_final_sync boolean not null default false,
  final_sync_completed boolean not null default false,
  final_sync_attempted_at timestamptz,
  final_sync_error text,
  final_sync_attempts integer not null default 0,
  metadata jsonb not null default '{}'::jsonb,
  locked_by text,
  locked_until timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.ad_status_change_log is
  'One row per status change of a campaign, ad set or ad. requires_final_sync rows are the work list of the final-sync layer.';
comment on column public.ad_status_change_log.locked_by is
  'Claim token of the sync run processing this row; with locked_until it keeps two runs off the same row.';
create index if not exists ad_status_change_log_pending_final_sync_idx
  on public.ad_status_change_log (ad_account_id, created_at)
  where requires_final_sync and not final_sync_completed;
create index if not exists ad_status_change_log_entity_idx
  on public.ad_status_change_log (entity_type, entity_id, created_at);
create index if not exists ad_status_change_log_user_id_idx on public.ad_status_change_log (user_id);

create or replace function private.log_status_change() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  entity_type text := tg_argv[0];
  old_upper text := upper(old.status);
  new_upper text := upper(new.status);
  final_sync boolean;
begin
  -- A change of letter case only is not a change of status.
  if old_upper is not distinct from new_upper then
    return new;
  end if;

  final_sync := old_upper = 'ACTIVE' and new_upper in ('PAUSED', 'DELETED', 'ARCHIVED');
  new.previous_status := old.status;
  new.status_changed_at := now();

  insert into public.ad_status_change_log (
    entity_type, entity_id, platform, platform_entity_id, ad_account_id, user_id,
    old_status, new_status, requires_final_sync, metadata
  )
  select
    entity_type, new.id, new.platform,
    to_jsonb(new) ->> ('platform_' || entity_type || '_id'),
    new.ad_account_id,
    coalesce((select auth.uid()), a.user_id),
    old.status, new.status, final_sync,
    jsonb_build_object(
      'name', new.name,
      'old_effective_status', old.effective_status,
      'new_effective_status', new.effective_status
    )
  from public.ad_accounts a
  where a.id = new.ad_account_id;

  return new;
end;
$$;
comment on function private.log_status_change() is
  'Status-change trigger of ad_campaigns, ad_sets and ads (tg_argv[0] = entity type): stamps previous_status and status_changed_at, writes the log row, flags a final sync when the entity leaves ACTIVE for PAUSED/DELETED/ARCHIVED (case-insensitive).';

drop trigger if exists trigger_log_campaign_status_change on public.ad_campaigns;
create trigger trigger_log_campaign_status_change
  before update of status on public.ad_campaigns
  for each row when (old.status is distinct from new.status)
  execute function private.log_status_change('campaign');

drop trigger if exists trigger_log_adset_status_change on public.ad_sets;
create trigger trigger_log_adset_status_change
  before update of status on public.ad_sets
  for each row when (old.status is distinct from new.status)
  execute function private.log_status_change('ad_set');

drop trigger if exists trigger_log_ad_status_change on public.ads;
create trigger trigger_log_ad_status_change
  before update of status on public.ads
  for each row when (old.status is distinct from new.status)
  execute function private.log_status_change('ad');

create or replace function public.get_entities_needing_final_sync(
  ad_account_id uuid,
  entity_type text default null
) returns setof public.ad_status_change_log
language sql stable
set search_path = ''
as $$
  select l.*
  from public.ad_status_change_log l
  where l.ad_account_id = get_entities_needing_final_sync.ad_account_id
    and (get_entities_needing_final_sync.entity_type is null
         or l.entity_type = get_entities_needing_final_sync.entity_type)
    and l.requires_final_sync
    and not l.final_sync_completed
  order by l.created_at, l.id
$$;
comment on function public.get_entities_needing_final_sync(uuid, text) is
  'Status changes of one ad account whose final sync is still owed, oldest first. Runs as the caller: RLS applies.';
revoke execute on function public.get_entities_needing_final_sync(uuid, text) from public, anon;
grant execute on function public.get_entities_needing_final_sync(uuid, text) to authenticated, service_role;

create or replace function public.mark_final_sync_completed(
  log_id bigint,
  success boolean,
  error text default null
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  result public.ad_status_change_log;
begin
  update public.ad_status_change_log l
  set final_sync_completed = mark_final_sync_completed.success,
      final_sync_error = case when mark_final_sync_completed.success then null
                              else coalesce(mark_final_sync_completed.error, 'final sync failed') end,
      final_sync_attempted_at = now(),
      final_sync_attempts = l.final_sync_attempts + 1,
      locked_by = null,
      locked_until = null
  where l.id = mark_final_sync_completed.log_id
  returning l.* into result;

  if not found then
    raise exception 'status change log row % not found', log_id using errcode = 'ADR04';
  end if;
  return result;
end;
$$;
comment on function public.mark_final_sync_completed(bigint, boolean, text) is
  'Records the outcome of one final-sync attempt and releases its claim. A failure keeps the row pending for the next run.';
revoke execute on function public.mark_final_sync_completed(bigint, boolean, text) from public, anon, authenticated;
grant execute on function public.mark_final_sync_completed(bigint, boolean, text) to service_role;

create or replace function public.claim_final_syncs(
  worker text,
  ad_account_id uuid default null,
  max_rows integer default 100,
  lease_seconds integer default 300
) returns setof public.ad_status_change_log
language sql
set search_path = ''
as $$
  with candidate as (
    select l.id
    from public.ad_status_change_log l
    where l.requires_final_sync
      and not l.final_sync_completed
      and (l.locked_until is null or l.locked_until < now())
      and (claim_final_syncs.ad_account_id is null or l.ad_account_id = claim_final_syncs.ad_account_id)
    order by l.created_at, l.id
    limit claim_final_syncs.max_rows
    for update skip locked
  )
  update public.ad_status_change_log l
  set locked_by = claim_final_syncs.worker,
      locked_until = now() + make_interval(secs => claim_final_syncs.lease_seconds)
  from candidate
  where l.id = candidate.id
  returning l.*
$$;
comment on function public.claim_final_syncs(text, uuid, integer, integer) is
  'Claims up to max_rows pending final syncs for one sync run (worker = its claim token). Two concurrent callers never get the same row; an expired claim can be taken over.';
revoke execute on function public.claim_final_syncs(text, uuid, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_final_syncs(text, uuid, integer, integer) to service_role;

create or replace function public.complete_final_sync(
  log_id bigint,
  metrics jsonb,
  worker text default null
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log;
  days integer;
begin
  select * into entry from public.ad_status_change_log l
  where l.id = complete_final_sync.log_id
  for update;
  if not found then
    raise exception 'status change log row % not found', log_id using errcode = 'ADR04';
  end if;
  if worker is not null and entry.locked_by is distinct from worker then
    raise exception 'final sync % is not claimed by %', log_id, worker using errcode = 'ADR02';
  end if;

  days := public.upsert_daily_metrics(
    entry.ad_account_id,
    (select coalesce(jsonb_agg(day || jsonb_build_object(
              'entity_type', entry.entity_type, 'platform_entity_id', entry.platform_entity_id)), '[]'::jsonb)
     from jsonb_array_elements(coalesce(metrics, '[]'::jsonb)) day)
  );

  update public.ad_status_change_log l
  set final_sync_completed = true,
      final_sync_error = null,
      final_sync_attempted_at = now(),
      final_sync_attempts = l.final_sync_attempts + 1,
      locked_by = null,
      locked_until = null,
      metadata = l.metadata || jsonb_build_object('final_sync_days', days)
  where l.id = entry.id
  returning l.* into entry;

  case entry.entity_type
    when 'campaign' then
      update public.ad_campaigns set last_final_sync_at = now() where id = entry.entity_id;
    when 'ad_set' then
      update public.ad_sets set last_final_sync_at = now() where id = entry.entity_id;
    when 'ad' then
      update public.ads set last_final_sync_at = now() where id = entry.entity_id;
  end case;

  return entry;
end;
$$;
comment on function public.complete_final_sync(bigint, jsonb, text) is
  'In one transaction: upserts the entity''s final daily metrics (jsonb array of {date, impressions, clicks, spend, reach, conversions, actions}), marks its log row completed and stamps last_final_sync_at. Any failure leaves nothing written. With worker set, only the claimant may complete.';
revoke execute on function public.complete_final_sync(bigint, jsonb, text) from public, anon, authenticated;
grant execute on function public.complete_final_sync(bigint, jsonb, text) to service_role;
