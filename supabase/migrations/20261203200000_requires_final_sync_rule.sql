-- Which status change owes a final sync, decided in one place: public.requires_final_sync, used by
-- the status-change trigger and by the functions (requiresFinalSync in atomic-status-handler.ts).
-- An entity owes one when it leaves ACTIVE for PAUSED, DELETED or ARCHIVED (case-insensitive).

create or replace function public.requires_final_sync(old_status text, new_status text)
returns boolean
language sql immutable
set search_path = ''
as $$
  select coalesce(
    upper(requires_final_sync.old_status) = 'ACTIVE'
      and upper(requires_final_sync.new_status) in ('PAUSED', 'DELETED', 'ARCHIVED'),
    false)
$$;
comment on function public.requires_final_sync(text, text) is
  'Whether a status change owes a final sync: from ACTIVE to PAUSED, DELETED or ARCHIVED, in any letter case.';
revoke execute on function public.requires_final_sync(text, text) from public, anon;
grant execute on function public.requires_final_sync(text, text) to authenticated, service_role;

create or replace function private.log_status_change() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  entity_type text := tg_argv[0];
begin
  -- A change of letter case only is not a change of status.
  if upper(old.status) is not distinct from upper(new.status) then
    return new;
  end if;

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
    old.status, new.status, public.requires_final_sync(old.status, new.status),
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
  'Status-change trigger of ad_campaigns, ad_sets and ads (tg_argv[0] = entity type): stamps previous_status and status_changed_at, writes the log row, flags a final sync when public.requires_final_sync says so.';
