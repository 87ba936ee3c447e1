-- Status-change tracking, set-based. The row-level triggers ran plpgsql and an INSERT per changed
-- row (and the attribution tail's UPDATE per log row): a sync's upsert of 10,000 entities with 1,000
-- status changes cost 1.38x the same upsert without them. Now, per table:
--   trigger_stamp_<type>_status_change  before update of status, for each row, only when the
--       status really changes (the WHEN clause: other rows never enter plpgsql): stamps
--       previous_status and status_changed_at, as before;
--   trigger_log_<type>_status_change    after update, for each statement, with transition tables:
--       one INSERT writes the log rows of every row whose status changed in the statement.
-- On the log, the tail's end (settles_at) stays a per-row default, for changes that owe a final
-- sync only; settling the older tails a newer stop supersedes is one UPDATE per statement.
-- Same transaction, same statement as the change: a change leaving ACTIVE is logged atomically or
-- the update fails, exactly as before.

create or replace function private.stamp_status_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.previous_status := old.status;
  new.status_changed_at := now();
  return new;
end;
$$;
comment on function private.stamp_status_change() is
  'Before-update row trigger of ad_campaigns, ad_sets and ads, fired only when the status changes (not its letter case): stamps previous_status and status_changed_at. private.log_status_change logs the rows it stamped.';
revoke execute on function private.stamp_status_change() from public, anon, authenticated;
grant execute on function private.stamp_status_change() to service_role;

-- A statement-level function from here on: drop the row triggers that ran it first.
drop trigger if exists trigger_log_campaign_status_change on public.ad_campaigns;
drop trigger if exists trigger_log_adset_status_change on public.ad_sets;
drop trigger if exists trigger_log_ad_status_change on public.ads;

create or replace function private.log_status_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  with changed as (
    select n.id, n.platform, to_jsonb(n) ->> ('platform_' || tg_argv[0] || '_id') as platform_entity_id,
           n.ad_account_id, n.name, o.status as old_status, n.status as new_status,
           o.effective_status as old_effective_status, n.effective_status as new_effective_status
    from new_rows n
    join old_rows o on o.id = n.id
    -- Only rows the stamp trigger stamped in this transaction can have changed status: that cheap
    -- test first, then the change itself (a row stamped by an earlier statement is not logged again).
    where n.status_changed_at = now()
      and upper(o.status) is distinct from upper(n.status)
  ), final_sync_rule as (
    -- The rule once per pair of statuses, not per row: a sync stops many entities the same way.
    select p.old_status, p.new_status, public.requires_final_sync(p.old_status, p.new_status) as owed
    from (select distinct c.old_status, c.new_status from changed c) p
  )
  insert into public.ad_status_change_log (
    entity_type, entity_id, platform, platform_entity_id, ad_account_id, user_id,
    old_status, new_status, requires_final_sync, metadata
  )
  select
    tg_argv[0], c.id, c.platform, c.platform_entity_id, c.ad_account_id,
    coalesce((select auth.uid()),
             (select a.user_id from public.ad_accounts a where a.id = c.ad_account_id)),
    c.old_status, c.new_status, r.owed,
    jsonb_build_object(
      'name', c.name,
      'old_effective_status', c.old_effective_status,
      'new_effective_status', c.new_effective_status
    )
  from changed c
  join final_sync_rule r on r.old_status = c.old_status and r.new_status = c.new_status;
  return null;
end;
$$;
comment on function private.log_status_change() is
  'After-update statement trigger of ad_campaigns, ad_sets and ads (tg_argv[0] = entity type, transition tables old_rows/new_rows): writes one log row per row whose status changed (not its letter case), flagging a final sync when public.requires_final_sync says so.';
revoke execute on function private.log_status_change() from public, anon, authenticated;
grant execute on function private.log_status_change() to service_role;

-- One pair per table: (table, trigger name part, entity type).
do $$
declare
  t record;
begin
  for t in select * from (values ('ad_campaigns', 'campaign', 'campaign'), ('ad_sets', 'adset', 'ad_set'),
                                 ('ads', 'ad', 'ad')) v(tbl, part, entity_type) loop
    execute format(
      'create trigger %I before update of status on public.%I for each row '
      'when (upper(old.status) is distinct from upper(new.status)) '
      'execute function private.stamp_status_change()',
      'trigger_stamp_' || t.part || '_status_change', t.tbl);
    execute format(
      'create trigger %I after update on public.%I '
      'referencing old table as old_rows new table as new_rows '
      'for each statement execute function private.log_status_change(%L)',
      'trigger_log_' || t.part || '_status_change', t.tbl, t.entity_type);
  end loop;
end;
$$;

create or replace function private.open_attribution_tail() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.settles_at := new.created_at + interval '28 days';
  return new;
end;
$$;
comment on function private.open_attribution_tail() is
  'Before insert on ad_status_change_log, for a change owing a final sync and no settles_at given: opens its attribution tail (settles_at = created_at + 28 days). private.settle_superseded_tails settles the entity''s older tails.';
revoke execute on function private.open_attribution_tail() from public, anon, authenticated;
grant execute on function private.open_attribution_tail() to service_role;

drop trigger if exists trigger_open_attribution_tail on public.ad_status_change_log;
create trigger trigger_open_attribution_tail
  before insert on public.ad_status_change_log
  for each row when (new.requires_final_sync and new.settles_at is null)
  execute function private.open_attribution_tail();

create or replace function private.settle_superseded_tails() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Each older open tail is superseded by the first newer stop of its entity.
  update public.ad_status_change_log l
  set settled_at = now(),
      metadata = l.metadata || jsonb_build_object('superseded_by', s.superseded_by)
  from (
    select older.id, min(n.id) as superseded_by
    from new_rows n
    join public.ad_status_change_log older
      on older.entity_type = n.entity_type
     and older.entity_id = n.entity_id
     and older.requires_final_sync
     and older.settled_at is null
     and older.id < n.id
    where n.requires_final_sync
    group by older.id
  ) s
  where l.id = s.id;
  return null;
end;
$$;
comment on function private.settle_superseded_tails() is
  'After-insert statement trigger of ad_status_change_log (transition table new_rows): a new change owing a final sync settles the older open attribution tails of its entity (settled_at, metadata.superseded_by).';
revoke execute on function private.settle_superseded_tails() from public, anon, authenticated;
grant execute on function private.settle_superseded_tails() to service_role;

create trigger trigger_settle_superseded_tails
  after insert on public.ad_status_change_log
  referencing new table as new_rows
  for each statement execute function private.settle_superseded_tails();
