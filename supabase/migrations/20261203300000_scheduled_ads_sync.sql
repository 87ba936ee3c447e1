-- Scheduled syncs: pg_cron syncs every connected ad account through pg_net, like the creation
-- worker. Hourly by default (public.set_ads_sync_interval), each account at its own minute (a hash
-- of its id: the accounts are spread over the interval, not all at minute 0), and at most one sync
-- per account at a time, scheduled or asked for by a user: a sync holds the account's lease
-- (lease_id), and every later write of the sync names it (extend_ads_sync_lease,
-- finish_ads_sync), so a sync whose lease expired and was taken over stops.
--
-- Error codes raised here (DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR18  a sync of this account is running (its lease is held)
--   ADR19  the sync's lease is no longer held (expired and taken by another sync)

create table public.ads_sync_settings (
  id boolean primary key default true check (id),
  interval_minutes integer check (interval_minutes between 1 and 10080)
);
comment on table public.ads_sync_settings is
  'One row: how often pg_cron syncs each ad account by default (interval_minutes, 60; null: no scheduled syncs except for accounts with their own interval). Set with public.set_ads_sync_interval.';
alter table public.ads_sync_settings enable row level security;
revoke all on table public.ads_sync_settings from anon, authenticated;
insert into public.ads_sync_settings (id, interval_minutes) values (true, 60);

create table public.ads_sync_schedules (
  ad_account_id uuid primary key references public.ad_accounts (id) on delete cascade,
  interval_minutes integer check (interval_minutes between 1 and 10080),
  next_run_at timestamptz,
  lease_id uuid unique,
  leased_until timestamptz,
  leased_by text check (leased_by in ('schedule', 'user')),
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_outcome text check (last_outcome in ('completed', 'failed')),
  last_error text,
  last_report jsonb,
  check ((lease_id is null) = (leased_until is null) and (lease_id is null) = (leased_by is null))
);
comment on table public.ads_sync_schedules is
  'One row per ad account: its own sync interval (null: the default of ads_sync_settings), when pg_cron syncs it next (null: never), the lease of the sync running now (one at a time), and how the last sync ended.';
comment on column public.ads_sync_schedules.lease_id is
  'The running sync''s lease: set when a sync starts (scheduled or a user''s), cleared when it finishes; a lease past leased_until (a killed sync) may be taken by the next one.';
comment on column public.ads_sync_schedules.last_report is
  'The last sync''s counts (entities, metric rows, final syncs), or its error code and message.';
create index ads_sync_schedules_due on public.ads_sync_schedules (next_run_at)
  where next_run_at is not null;
-- Members read their accounts' schedules; clients write nothing (no write policy).
alter table public.ads_sync_schedules enable row level security;
create policy "members read their accounts' sync schedules" on public.ads_sync_schedules
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

create or replace function private.ads_sync_slot_after(
  ad_account_id uuid,
  interval_minutes integer,
  after timestamptz
) returns timestamptz
language sql
immutable
set search_path = ''
as $$
  -- Whole minutes since the epoch (pg_cron ticks on them); the account's slots are the minutes m
  -- with m = offset (mod interval), its offset a hash of its id.
  with m as (
    select floor(extract(epoch from after) / 60)::bigint + 1 as first,
           mod(abs(hashtext(ad_account_id::text)::bigint), interval_minutes) as offset_minutes
  )
  select to_timestamp(60 * (m.first + mod(mod(m.offset_minutes - m.first, interval_minutes) + interval_minutes, interval_minutes)))
  from m
  where interval_minutes is not null
$$;
comment on function private.ads_sync_slot_after(uuid, integer, timestamptz) is
  'The account''s first scheduled minute after `after` at this interval (null for a null interval): its minutes are spread over the interval by a hash of its id, so accounts do not all sync at once.';
revoke execute on function private.ads_sync_slot_after(uuid, integer, timestamptz) from public, anon, authenticated;
grant execute on function private.ads_sync_slot_after(uuid, integer, timestamptz) to service_role;

create or replace function private.ads_sync_next_run(ad_account_id uuid, after timestamptz)
returns timestamptz
language sql
stable
set search_path = ''
as $$
  select private.ads_sync_slot_after(
    s.ad_account_id,
    coalesce(s.interval_minutes, (select d.interval_minutes from public.ads_sync_settings d)),
    after)
  from public.ads_sync_schedules s
  where s.ad_account_id = ads_sync_next_run.ad_account_id
$$;
comment on function private.ads_sync_next_run(uuid, timestamptz) is
  'When the account''s next scheduled sync after `after` is, under its interval or the default; null when neither is set.';
revoke execute on function private.ads_sync_next_run(uuid, timestamptz) from public, anon, authenticated;
-- Connecting an account (the service role, public.connect_ad_account) schedules it.
grant execute on function private.ads_sync_next_run(uuid, timestamptz) to service_role;

create or replace function private.add_ads_sync_schedule() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into public.ads_sync_schedules (ad_account_id) values (new.id) on conflict do nothing;
  update public.ads_sync_schedules s set next_run_at = private.ads_sync_next_run(new.id, now())
  where s.ad_account_id = new.id;
  return null;
end;
$$;
comment on function private.add_ads_sync_schedule() is
  'Gives a newly connected ad account its sync schedule, at the default interval.';
revoke execute on function private.add_ads_sync_schedule() from public, anon, authenticated;
grant execute on function private.add_ads_sync_schedule() to service_role;

create trigger add_ads_sync_schedule after insert on public.ad_accounts
  for each row execute function private.add_ads_sync_schedule();

insert into public.ads_sync_schedules (ad_account_id) select id from public.ad_accounts;
update public.ads_sync_schedules s set next_run_at = private.ads_sync_next_run(s.ad_account_id, now());

create or replace function public.set_ads_sync_interval(
  minutes integer,
  ad_account_id uuid default null
) returns integer
language plpgsql
set search_path = ''
as $$
begin
  if minutes is not null and (minutes < 1 or minutes > 10080) then
    raise exception 'the sync interval must be between 1 and 10080 minutes, got %', minutes
      using errcode = '22023';
  end if;
  if ad_account_id is null then
    update public.ads_sync_settings set interval_minutes = minutes;
  else
    update public.ads_sync_schedules s set interval_minutes = minutes
    where s.ad_account_id = set_ads_sync_interval.ad_account_id;
    if not found then
      raise exception 'ad account % not found', ad_account_id using errcode = 'ADR04';
    end if;
  end if;
  update public.ads_sync_schedules s set next_run_at = private.ads_sync_next_run(s.ad_account_id, now())
  where set_ads_sync_interval.ad_account_id is null or s.ad_account_id = set_ads_sync_interval.ad_account_id;
  return minutes;
end;
$$;
comment on function public.set_ads_sync_interval(integer, uuid) is
  'Sets how often pg_cron syncs ad accounts, in minutes (1 to 10080): the default for every account (ad_account_id null; null minutes: no scheduled syncs), or one account''s own (null minutes: back to the default). Reschedules the accounts concerned from now; returns the interval.';
revoke execute on function public.set_ads_sync_interval(integer, uuid) from public, anon, authenticated;

-- How long a sync may hold its account: longer than an edge function may run (400 s on paid
-- plans), so a lease outlives its sync only when the sync was killed.
create or replace function private.ads_sync_lease_interval() returns interval
language sql
immutable
set search_path = ''
as $$ select interval '10 minutes' $$;
comment on function private.ads_sync_lease_interval() is
  'How long a sync''s lease on its account lasts (extended at each step of the sync).';
revoke execute on function private.ads_sync_lease_interval() from public, anon, authenticated;
grant execute on function private.ads_sync_lease_interval() to service_role;

create or replace function public.claim_ads_sync(ad_account_id uuid) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  lease uuid;
begin
  update public.ads_sync_schedules s
  set lease_id = gen_random_uuid(),
      leased_until = now() + private.ads_sync_lease_interval(),
      leased_by = 'user',
      last_started_at = now()
  where s.ad_account_id = claim_ads_sync.ad_account_id
    and (s.leased_until is null or s.leased_until < now())
  returning s.lease_id into lease;
  if lease is null then
    raise exception 'a sync of ad account % is running', ad_account_id using errcode = 'ADR18';
  end if;
  return lease;
end;
$$;
comment on function public.claim_ads_sync(uuid) is
  'Starts a user''s sync of the account: returns its lease, or ADR18 while another sync holds the account (at most one at a time).';
revoke execute on function public.claim_ads_sync(uuid) from public, anon, authenticated;
grant execute on function public.claim_ads_sync(uuid) to service_role;

create or replace function public.extend_ads_sync_lease(lease_id uuid) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  account uuid;
begin
  update public.ads_sync_schedules s
  set leased_until = now() + private.ads_sync_lease_interval()
  where s.lease_id = extend_ads_sync_lease.lease_id
  returning s.ad_account_id into account;
  if account is null then
    raise exception 'sync lease % is no longer held', lease_id using errcode = 'ADR19';
  end if;
  return account;
end;
$$;
comment on function public.extend_ads_sync_lease(uuid) is
  'Extends a running sync''s lease before its next step; returns the ad account''s id, or ADR19 when the lease is gone (expired and taken by another sync): the sync stops.';
revoke execute on function public.extend_ads_sync_lease(uuid) from public, anon, authenticated;
grant execute on function public.extend_ads_sync_lease(uuid) to service_role;

create or replace function public.finish_ads_sync(lease_id uuid, outcome text, report jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.ads_sync_schedules s
  set lease_id = null, leased_until = null, leased_by = null,
      last_finished_at = now(),
      last_outcome = outcome,
      last_error = case when outcome = 'failed' then report ->> 'message' end,
      last_report = report
  where s.lease_id = finish_ads_sync.lease_id;
  if not found then
    raise exception 'sync lease % is no longer held', lease_id using errcode = 'ADR19';
  end if;
end;
$$;
comment on function public.finish_ads_sync(uuid, text, jsonb) is
  'Ends the sync holding lease_id with its outcome (completed or failed) and report ({error, message} when failed), freeing the account; ADR19 when the lease is gone.';
revoke execute on function public.finish_ads_sync(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.finish_ads_sync(uuid, text, jsonb) to service_role;

-- private.call_function with a body; the one-argument form POSTs {}.
create or replace function private.call_function(path text, body jsonb) returns bigint
language plpgsql
set search_path = ''
as $$
begin
  return net.http_post(
    url := (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'adrail_functions_url')
           || '/' || path,
    body := body,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'x-cron-secret', (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'adrail_cron_secret')
    ),
    -- As long as a function may run (Supabase's wall-clock limit), so pg_net records its answer.
    timeout_milliseconds := 150000
  );
end;
$$;
comment on function private.call_function(text, jsonb) is
  'POSTs body to an adrail function (pg_net, asynchronous, sent after commit) with the cron secret; returns the pg_net request id, whose answer lands in net._http_response.';
revoke execute on function private.call_function(text, jsonb) from public, anon, authenticated;

create or replace function private.call_function(path text) returns bigint
language sql
set search_path = ''
as $$ select private.call_function(path, '{}'::jsonb) $$;
comment on function private.call_function(text) is
  'POSTs {} to an adrail function with the cron secret (private.call_function(path, body)); returns the pg_net request id. The functions are idempotent, so a lost call only waits for the next tick.';
revoke execute on function private.call_function(text) from public, anon, authenticated;

create or replace function private.start_due_ads_syncs() returns integer
language plpgsql
set search_path = ''
as $$
declare
  started integer;
begin
  with due as (
    select s.ad_account_id
    from public.ads_sync_schedules s
    where s.next_run_at <= now()
      and (s.leased_until is null or s.leased_until < now())
    order by s.next_run_at
    for update skip locked
  ), claimed as (
    update public.ads_sync_schedules s
    set lease_id = gen_random_uuid(),
        leased_until = now() + private.ads_sync_lease_interval(),
        leased_by = 'schedule',
        last_started_at = now(),
        next_run_at = private.ads_sync_next_run(s.ad_account_id, now())
    from due
    where s.ad_account_id = due.ad_account_id
    returning s.ad_account_id, s.lease_id
  )
  select count(private.call_function(
    'facebook-ads-sync',
    jsonb_build_object('adAccountId', a.platform_account_id, 'leaseId', c.lease_id)))
  into started
  from claimed c
  join public.ad_accounts a on a.id = c.ad_account_id;
  return started;
end;
$$;
comment on function private.start_due_ads_syncs() is
  'pg_cron''s every minute: claims every account whose scheduled sync is due and free (a held account waits for the next tick), sets its next run, and calls facebook-ads-sync for it through pg_net with its lease. Returns how many syncs it started.';
revoke execute on function private.start_due_ads_syncs() from public, anon, authenticated;

create or replace function public.schedule_adrail_jobs(worker_schedule text default '* * * * *')
returns text[]
language plpgsql
set search_path = ''
as $$
begin
  if to_regnamespace('cron') is null or to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)') is null then
    raise notice 'adrail schedules need pg_cron and pg_net: enable pg_net, then select public.schedule_adrail_jobs()';
    return '{}';
  end if;
  perform cron.schedule('adrail-creation-worker', worker_schedule,
    $job$ select private.call_function('creation-worker') $job$);
  perform cron.schedule('adrail-safety-net', '0 3 * * 0',
    $job$ select private.call_function('safety-net') $job$);
  -- Every minute: each account's own interval and minute decide when it is due.
  perform cron.schedule('adrail-ads-sync', '* * * * *',
    $job$ select private.start_due_ads_syncs() $job$);
  return array['adrail-creation-worker', 'adrail-safety-net', 'adrail-ads-sync'];
end;
$$;
comment on function public.schedule_adrail_jobs(text) is
  'Schedules the creation-worker function (every minute by default), the safety-net function (Sundays 03:00 GMT) and the due ad-account syncs (checked every minute) through pg_net, where pg_cron and pg_net exist; idempotent (cron.schedule upserts by name). Returns the jobs scheduled.';
revoke execute on function public.schedule_adrail_jobs(text) from public, anon, authenticated;

select public.schedule_adrail_jobs();
