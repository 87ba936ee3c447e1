-- The 28-day tail: Meta attributes conversions to an ad for up to 28 days after its last delivery,
-- paused or deleted ones included, and restates those days. One final sync at the change misses
-- what arrives later, so a status change that owed a final sync stays in its entity's attribution
-- tail until settles_at (28 days after the change): each sync of its account and the safety net
-- re-read its daily metrics (at most every read_every_seconds), and the first read after
-- settles_at settles it (settled_at). A newer stop of the same entity supersedes an older tail:
-- the newer row's reads cover the same days.
--
-- Tail reads use the final-sync claim columns (locked_by, locked_until): a row is in its tail only
-- once its final sync completed, so the two kinds of claim never meet on one row.
--
-- Error codes raised here: ADR02 not the claimant, ADR04 no such row, ADR15 the row is not in an
-- open attribution tail (no final sync owed, final sync not completed yet, or settled).

alter table public.ad_status_change_log
  add column if not exists settles_at timestamptz,
  add column if not exists settled_at timestamptz,
  add column if not exists tail_read_at timestamptz,
  add column if not exists tail_attempted_at timestamptz,
  add column if not exists tail_reads integer not null default 0,
  add column if not exists tail_error text;
comment on column public.ad_status_change_log.settles_at is
  'Rows owing a final sync: the end of the attribution tail (the change plus 28 days), until which the entity''s daily metrics are re-read.';
comment on column public.ad_status_change_log.settled_at is
  'When the attribution tail ended: the first read after settles_at, or a newer stop of the same entity (metadata.superseded_by).';
comment on column public.ad_status_change_log.tail_read_at is
  'The last successful re-read of the entity''s daily metrics in its attribution tail (the final sync being the first read).';
comment on column public.ad_status_change_log.tail_attempted_at is
  'The last tail re-read, successful or not: claims take the least recently attempted tails first, so failing ones never starve the rest.';
comment on column public.ad_status_change_log.tail_reads is 'Successful tail re-reads so far.';
comment on column public.ad_status_change_log.tail_error is
  'The last tail re-read''s failure (`<error code>: <message>`), cleared by the next success.';

update public.ad_status_change_log
set settles_at = created_at + interval '28 days'
where requires_final_sync and settles_at is null;

create index if not exists ad_status_change_log_open_tail_idx
  on public.ad_status_change_log (ad_account_id, created_at)
  where requires_final_sync and final_sync_completed and settled_at is null;

create or replace function private.open_attribution_tail() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.requires_final_sync then
    new.settles_at := coalesce(new.settles_at, new.created_at + interval '28 days');
    update public.ad_status_change_log l
    set settled_at = now(),
        metadata = l.metadata || jsonb_build_object('superseded_by', new.id)
    where l.entity_type = new.entity_type
      and l.entity_id = new.entity_id
      and l.requires_final_sync
      and l.settled_at is null;
  end if;
  return new;
end;
$$;
comment on function private.open_attribution_tail() is
  'Before insert on ad_status_change_log: a change owing a final sync opens an attribution tail (settles_at = created_at + 28 days) and settles the entity''s older open tails (superseded).';

drop trigger if exists trigger_open_attribution_tail on public.ad_status_change_log;
create trigger trigger_open_attribution_tail
  before insert on public.ad_status_change_log
  for each row execute function private.open_attribution_tail();

create or replace function public.claim_attribution_tails(
  worker text,
  ad_account_id uuid default null,
  max_rows integer default 1000,
  read_every_seconds integer default 21600,
  lease_seconds integer default 300,
  attempted_before timestamptz default null
) returns setof public.ad_status_change_log
language sql
set search_path = ''
as $$
  with candidate as (
    select l.id
    from public.ad_status_change_log l
    where l.requires_final_sync
      and l.final_sync_completed
      and l.settled_at is null
      and coalesce(l.tail_read_at, l.final_sync_attempted_at, l.created_at)
          <= now() - make_interval(secs => claim_attribution_tails.read_every_seconds)
      and (l.locked_until is null or l.locked_until < now())
      and (claim_attribution_tails.ad_account_id is null
           or l.ad_account_id = claim_attribution_tails.ad_account_id)
      and (claim_attribution_tails.attempted_before is null
           or coalesce(l.tail_attempted_at, l.final_sync_attempted_at)
              < claim_attribution_tails.attempted_before)
    order by coalesce(l.tail_attempted_at, l.final_sync_attempted_at) nulls first, l.id
    limit claim_attribution_tails.max_rows
    for update skip locked
  )
  update public.ad_status_change_log l
  set locked_by = claim_attribution_tails.worker,
      locked_until = now() + make_interval(secs => claim_attribution_tails.lease_seconds)
  from candidate
  where l.id = candidate.id
  returning l.*
$$;
comment on function public.claim_attribution_tails(text, uuid, integer, integer, integer, timestamptz) is
  'Claims up to max_rows open attribution tails due for a re-read (last read at least read_every_seconds ago), least recently attempted first, for one run (worker = its claim token); with attempted_before, only tails not attempted since (a run claiming again takes none it already tried). Two concurrent callers never get the same row.';
revoke execute on function public.claim_attribution_tails(text, uuid, integer, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.claim_attribution_tails(text, uuid, integer, integer, integer, timestamptz) to service_role;

create or replace function private.assert_open_tail_claimant(log_id bigint, worker text)
returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log := private.assert_final_sync_claimant(log_id, worker);
begin
  if not (entry.requires_final_sync and entry.final_sync_completed and entry.settled_at is null) then
    raise exception 'status change % has no open attribution tail', log_id using errcode = 'ADR15';
  end if;
  return entry;
end;
$$;
comment on function private.assert_open_tail_claimant(bigint, text) is
  'Locks a log row whose attribution tail is open and claimed by worker: ADR04 no such row, ADR02 not the claimant, ADR15 no open tail.';
revoke execute on function private.assert_open_tail_claimant(bigint, text) from public, anon, authenticated;
grant execute on function private.assert_open_tail_claimant(bigint, text) to service_role;

create or replace function public.record_attribution_tail_read(
  log_id bigint,
  metrics jsonb,
  worker text
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log := private.assert_open_tail_claimant(log_id, worker);
begin
  perform public.upsert_daily_metrics(
    entry.ad_account_id,
    (select coalesce(jsonb_agg(day || jsonb_build_object(
              'entity_type', entry.entity_type, 'platform_entity_id', entry.platform_entity_id)), '[]'::jsonb)
     from jsonb_array_elements(coalesce(metrics, '[]'::jsonb)) day)
  );
  update public.ad_status_change_log l
  set tail_read_at = now(),
      tail_attempted_at = now(),
      tail_reads = l.tail_reads + 1,
      tail_error = null,
      settled_at = case when now() >= l.settles_at then now() end,
      locked_by = null,
      locked_until = null
  where l.id = entry.id
  returning l.* into entry;
  return entry;
end;
$$;
comment on function public.record_attribution_tail_read(bigint, jsonb, text) is
  'In one transaction: upserts a tail re-read''s daily metrics (jsonb array of {date, impressions, clicks, spend, reach, conversions, actions}), stamps tail_read_at, settles the tail when settles_at has passed, and releases the claim. Only the claimant (ADR02); ADR15 when the tail is not open.';
revoke execute on function public.record_attribution_tail_read(bigint, jsonb, text) from public, anon, authenticated;
grant execute on function public.record_attribution_tail_read(bigint, jsonb, text) to service_role;

create or replace function public.release_attribution_tail(
  log_id bigint,
  error text,
  worker text
) returns public.ad_status_change_log
language plpgsql
set search_path = ''
as $$
declare
  entry public.ad_status_change_log := private.assert_open_tail_claimant(log_id, worker);
begin
  update public.ad_status_change_log l
  set tail_error = release_attribution_tail.error,
      tail_attempted_at = now(),
      locked_by = null,
      locked_until = null
  where l.id = entry.id
  returning l.* into entry;
  return entry;
end;
$$;
comment on function public.release_attribution_tail(bigint, text, text) is
  'A tail re-read that failed: records the error and releases the claim; the tail stays due for the next run. Only the claimant (ADR02); ADR15 when the tail is not open.';
revoke execute on function public.release_attribution_tail(bigint, text, text) from public, anon, authenticated;
grant execute on function public.release_attribution_tail(bigint, text, text) to service_role;
