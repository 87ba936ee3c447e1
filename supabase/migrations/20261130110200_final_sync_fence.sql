-- Final-sync writes are fenced on the claimant, as creation writes are. A run claims log rows with
-- claim_final_syncs(worker, ...); every later write names that token and is refused (ADR02, nothing
-- written) unless the row is still claimed by it: a zombie run whose claim expired and was taken
-- over by another run writes nothing, neither metrics nor the log row.
--
-- The fence is the token alone: an expired claim that nobody took over is still the claimant's
-- (a takeover rewrites locked_by under the row lock, so there is no race), and completing it then
-- loses nothing.
--
-- Without a worker (worker null: the three-argument mark_final_sync_completed an operator's SQL
-- calls, or complete_final_sync without its third argument) a write is allowed only while no live
-- claim holds the row (unclaimed, or its claim expired, which it then clears); a row claimed by a
-- live run raises ADR02 and keeps that run's claim.
--
-- Error codes raised here: ADR02 not the claimant, ADR04 no such row.

create or replace function private.assert_final_sync_claimant(log_id bigint, worker text)
returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log;
begin
  select * into entry from public.ad_status_change_log l
  where l.id = assert_final_sync_claimant.log_id
  for update;
  if not found then
    raise exception 'status change log row % not found', log_id using errcode = 'ADR04';
  end if;
  if worker is null then
    if entry.locked_by is not null and entry.locked_until >= now() then
      raise exception 'final sync % is claimed by %', log_id, entry.locked_by using errcode = 'ADR02';
    end if;
  elsif entry.locked_by is distinct from worker then
    raise exception 'final sync % is not claimed by %', log_id, worker using errcode = 'ADR02';
  end if;
  return entry;
end;
$$;
comment on function private.assert_final_sync_claimant(bigint, text) is
  'Locks a final-sync log row and returns it. ADR04 when there is none. With worker: ADR02 unless the row is claimed by that token. Without (null): ADR02 while another run holds a live claim on it.';
revoke execute on function private.assert_final_sync_claimant(bigint, text) from public, anon, authenticated;
grant execute on function private.assert_final_sync_claimant(bigint, text) to service_role;

create or replace function public.mark_final_sync_completed(
  log_id bigint,
  success boolean,
  error text,
  worker text
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  result public.ad_status_change_log;
begin
  perform private.assert_final_sync_claimant(log_id, worker);
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
  return result;
end;
$$;
comment on function public.mark_final_sync_completed(bigint, boolean, text, text) is
  'The sync run''s write: records the outcome of one final-sync attempt and releases its claim, only if worker (the token given to claim_final_syncs) still holds the row (ADR02 otherwise, nothing written). A failure keeps the row pending for the next run.';
revoke execute on function public.mark_final_sync_completed(bigint, boolean, text, text) from public, anon, authenticated;
grant execute on function public.mark_final_sync_completed(bigint, boolean, text, text) to service_role;

create or replace function public.mark_final_sync_completed(
  log_id bigint,
  success boolean,
  error text default null
) returns public.ad_status_change_log
language sql
set search_path = ''
as $$
  select public.mark_final_sync_completed(
    mark_final_sync_completed.log_id, mark_final_sync_completed.success,
    mark_final_sync_completed.error, null::text)
$$;
comment on function public.mark_final_sync_completed(bigint, boolean, text) is
  'Operator form (no claim token): records the outcome of one final-sync attempt on a row no live run holds (unclaimed, or its claim expired, which it clears). ADR02 while a run holds a live claim (that claim is kept); ADR04 when there is no such row. Sync runs use the four-argument form with their token.';
revoke execute on function public.mark_final_sync_completed(bigint, boolean, text) from public, anon, authenticated;
grant execute on function public.mark_final_sync_completed(bigint, boolean, text) to service_role;

create or replace function public.complete_final_sync(
  log_id bigint,
  metrics jsonb,
  worker text default null
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log := private.assert_final_sync_claimant(log_id, worker);
  days integer;
begin
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
  'In one transaction: upserts the entity''s final daily metrics (jsonb array of {date, impressions, clicks, spend, reach, conversions, actions}), marks its log row completed and stamps last_final_sync_at. Any failure leaves nothing written. With worker, only the run whose token claims the row may (ADR02, nothing written); without, only while no live claim holds it (ADR02 otherwise).';
revoke execute on function public.complete_final_sync(bigint, jsonb, text) from public, anon, authenticated;
grant execute on function public.complete_final_sync(bigint, jsonb, text) to service_role;
