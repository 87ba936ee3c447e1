-- Completion webhooks: an ad account's owner gives a URL (public.set_ad_account_webhook, through
-- POST /ad-accounts/webhook, which makes the signing secret, shows it once and stores it
-- encrypted); the outcomes of its creation jobs and syncs are written to a durable outbox
-- (public.webhook_outbox) by triggers, in the transaction of the change itself; the
-- webhook-deliverer function, which pg_cron calls every minute through pg_net, claims due events,
-- signs and POSTs them, and records each attempt: delivered, retried with exponential backoff, or
-- dead after the last attempt.
--
-- Error codes raised here (DbErrorCode in supabase/functions/_shared/platform/db.ts):
--   ADR20  the delivery attempt is no longer the caller's (its claim expired and another run took it)

alter table public.ad_accounts
  add column if not exists webhook_url text,
  add column if not exists webhook_secret_ciphertext text;
alter table public.ad_accounts drop constraint if exists ad_accounts_webhook_complete;
alter table public.ad_accounts add constraint ad_accounts_webhook_complete
  check ((webhook_url is null) = (webhook_secret_ciphertext is null));
-- As for every other column of ad_accounts, clients have the column grants and RLS picks the rows
-- (and refuses every client write); the secret's column gets none.
grant select (webhook_url), insert (webhook_url), update (webhook_url) on public.ad_accounts
  to anon, authenticated;
comment on column public.ad_accounts.webhook_url is
  'Where the account''s job and sync outcomes are POSTed (https; checked by the functions), or null.';
comment on column public.ad_accounts.webhook_secret_ciphertext is
  'The webhook signing secret, encrypted as access_token_ciphertext, its associated data ending in webhook_secret_ciphertext. Readable by no client role.';

-- Who may set it: owners, as for the token.
alter table private.account_role_actions drop constraint account_role_actions_action_check;
alter table private.account_role_actions add constraint account_role_actions_action_check
  check (action in (
    'read', 'sync', 'launch', 'manage_own_jobs', 'manage_all_jobs', 'approve', 'manage_members',
    'manage_token', 'manage_settings', 'manage_webhook'
  ));
insert into private.account_role_actions (role, action) values ('owner', 'manage_webhook')
on conflict do nothing;
comment on table private.account_role_actions is
  'Which role of an ad account''s members may do which action on it; the only place that says so. read: see the account, its members, entities, metrics, jobs and logs; sync: run facebook-ads-sync; launch: start a launch; manage_own_jobs: verify or decide the rollback of one''s own jobs; manage_all_jobs: the same for any job of the account; approve: approve or reject a launch waiting for approval (never approve one''s own); manage_members: add, remove and change members; manage_token: replace the stored token (reconnect); manage_settings: change the account''s approval and budget settings; manage_webhook: set or remove the completion webhook.';

create table public.webhook_delivery_settings (
  id boolean primary key default true check (id),
  base_delay_seconds integer not null check (base_delay_seconds between 1 and 3600),
  max_attempts integer not null check (max_attempts between 1 and 20)
);
comment on table public.webhook_delivery_settings is
  'One row: the retry policy of webhook deliveries. Attempt n+1 comes base_delay_seconds * 2^(n-1) after attempt n failed (at most 6 hours later); after max_attempts the event is dead. Set with public.set_webhook_retry_policy.';
alter table public.webhook_delivery_settings enable row level security;
revoke all on table public.webhook_delivery_settings from anon, authenticated;
insert into public.webhook_delivery_settings values (true, 30, 8);

create or replace function public.set_webhook_retry_policy(base_delay_seconds integer, max_attempts integer)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if base_delay_seconds is null or base_delay_seconds not between 1 and 3600
     or max_attempts is null or max_attempts not between 1 and 20 then
    raise exception 'the webhook retry policy takes 1 to 3600 seconds and 1 to 20 attempts, got % and %',
      base_delay_seconds, max_attempts using errcode = '22023';
  end if;
  update public.webhook_delivery_settings s
  set base_delay_seconds = set_webhook_retry_policy.base_delay_seconds,
      max_attempts = set_webhook_retry_policy.max_attempts;
end;
$$;
comment on function public.set_webhook_retry_policy(integer, integer) is
  'Sets the webhook retry policy: the first retry''s delay (doubling at each attempt, at most 6 hours) and the attempts before an event is dead (30 s and 8 by default: about two hours).';
revoke execute on function public.set_webhook_retry_policy(integer, integer) from public, anon, authenticated;

create table public.webhook_outbox (
  id bigint generated always as identity primary key,
  event_id uuid not null unique default gen_random_uuid(),
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  event_type text not null check (event_type ~ '^(job|sync)\.[a-z_]+$'),
  payload jsonb not null,
  status text not null default 'pending'
    check (status in ('pending', 'delivering', 'delivered', 'dead')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  run_id text,
  leased_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  check ((status = 'delivering') = (run_id is not null)),
  check ((status = 'delivered') = (delivered_at is not null))
);
comment on table public.webhook_outbox is
  'Webhook events, written in the transaction of the change they report (triggers), kept after delivery as its record: pending (next_attempt_at says when), delivering (claimed by run_id until leased_until), delivered, or dead after the last attempt. Delivered at least once: receivers deduplicate on event_id.';
create index webhook_outbox_due on public.webhook_outbox (next_attempt_at)
  where status in ('pending', 'delivering');
create index webhook_outbox_account on public.webhook_outbox (ad_account_id, created_at);
-- Members read their accounts' events; clients write nothing (no write policy).
alter table public.webhook_outbox enable row level security;
create policy "members read their accounts' webhook events" on public.webhook_outbox
  for select to authenticated
  using (ad_account_id in (select private.current_user_ad_account_ids()));

create or replace function private.enqueue_webhook_event(
  ad_account_id uuid,
  event_type text,
  payload jsonb
) returns void
language sql
set search_path = ''
as $$
  insert into public.webhook_outbox (ad_account_id, event_type, payload)
  select a.id, event_type, payload
  from public.ad_accounts a
  where a.id = enqueue_webhook_event.ad_account_id and a.webhook_url is not null
$$;
comment on function private.enqueue_webhook_event(uuid, text, jsonb) is
  'Writes an event to the outbox when the account has a webhook (in the caller''s transaction); nothing otherwise.';
revoke execute on function private.enqueue_webhook_event(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function private.enqueue_webhook_event(uuid, text, jsonb) to service_role;

-- Job outcomes: the statuses a job stops at, for good or until someone decides.
create or replace function private.job_outcome_webhook() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.enqueue_webhook_event(new.ad_account_id, 'job.' || new.status, jsonb_build_object(
    'jobId', new.id,
    'status', new.status,
    'campaignName', new.campaign_name,
    'facebookCampaignId', new.facebook_campaign_id,
    'requestedAdSets', new.requested_ad_sets,
    'requestedAds', new.requested_ads,
    'adSetsCreated', new.ad_sets_created,
    'adsCreated', new.ads_created,
    'retryCount', new.retry_count,
    'rollbackReason', new.rollback_reason,
    'lastError', new.last_error,
    'dryRun', new.dry_run));
  return null;
end;
$$;
comment on function private.job_outcome_webhook() is
  'Writes job.<status> to the webhook outbox when a creation job reaches an outcome (completed, failed, rolled_back, rejected) or waits for a person (awaiting_approval, awaiting_confirmation, rollback_blocked).';
revoke execute on function private.job_outcome_webhook() from public, anon, authenticated;
grant execute on function private.job_outcome_webhook() to service_role;

drop trigger if exists job_outcome_webhook on public.campaign_creation_jobs;
create trigger job_outcome_webhook
  after insert or update of status on public.campaign_creation_jobs
  for each row
  when (new.status in ('completed', 'failed', 'rolled_back', 'rejected', 'awaiting_approval',
    'awaiting_confirmation', 'rollback_blocked'))
  execute function private.job_outcome_webhook();

-- Sync outcomes: public.finish_ads_sync sets last_finished_at.
create or replace function private.sync_outcome_webhook() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.enqueue_webhook_event(new.ad_account_id, 'sync.' || new.last_outcome, jsonb_build_object(
    'outcome', new.last_outcome,
    'trigger', old.leased_by,
    'startedAt', new.last_started_at,
    'finishedAt', new.last_finished_at,
    'report', new.last_report));
  return null;
end;
$$;
comment on function private.sync_outcome_webhook() is
  'Writes sync.completed or sync.failed to the webhook outbox when a sync of the account finishes (trigger: schedule or user).';
revoke execute on function private.sync_outcome_webhook() from public, anon, authenticated;
grant execute on function private.sync_outcome_webhook() to service_role;

drop trigger if exists sync_outcome_webhook on public.ads_sync_schedules;
create trigger sync_outcome_webhook
  after update of last_finished_at on public.ads_sync_schedules
  for each row
  when (new.last_finished_at is distinct from old.last_finished_at)
  execute function private.sync_outcome_webhook();

create or replace function public.set_ad_account_webhook(
  user_id uuid,
  ad_account_id uuid,
  url text,
  secret_ciphertext text
) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_account_role(ad_account_id, user_id, 'manage_webhook');
  update public.ad_accounts a
  set webhook_url = url, webhook_secret_ciphertext = secret_ciphertext
  where a.id = set_ad_account_webhook.ad_account_id;
end;
$$;
comment on function public.set_ad_account_webhook(uuid, uuid, text, text) is
  'Sets (or, with nulls, removes) the account''s webhook URL and encrypted signing secret, if the user''s role allows manage_webhook: ADR04 when the account is not there or not theirs to see, ADR06 when not an owner. The URL is checked by the functions (https, no private address).';
revoke execute on function public.set_ad_account_webhook(uuid, uuid, text, text) from public, anon, authenticated;
grant execute on function public.set_ad_account_webhook(uuid, uuid, text, text) to service_role;

create or replace function public.claim_webhook_events(run_id text, max_events integer)
returns table (
  id bigint,
  event_id uuid,
  event_type text,
  payload jsonb,
  created_at timestamptz,
  attempts integer,
  platform text,
  platform_account_id text,
  webhook_url text,
  webhook_secret_ciphertext text
)
language sql
set search_path = ''
as $$
  with due as (
    select o.id
    from public.webhook_outbox o
    join public.ad_accounts a on a.id = o.ad_account_id
    where a.webhook_url is not null
      and ((o.status = 'pending' and o.next_attempt_at <= now())
           or (o.status = 'delivering' and o.leased_until < now()))
    order by o.next_attempt_at, o.id
    limit max_events
    for update of o skip locked
  ), claimed as (
    update public.webhook_outbox o
    set status = 'delivering', run_id = claim_webhook_events.run_id,
        leased_until = now() + interval '2 minutes', attempts = o.attempts + 1
    from due
    where o.id = due.id
    returning o.*
  )
  select c.id, c.event_id, c.event_type, c.payload, c.created_at, c.attempts, a.platform,
         a.platform_account_id, a.webhook_url, a.webhook_secret_ciphertext
  from claimed c
  join public.ad_accounts a on a.id = c.ad_account_id
  order by c.id
$$;
comment on function public.claim_webhook_events(text, integer) is
  'Claims up to max_events due webhook events (pending and due, or delivering past their claim: a killed run) for run_id, counting the attempt; returns each with its account''s URL and encrypted secret.';
revoke execute on function public.claim_webhook_events(text, integer) from public, anon, authenticated;
grant execute on function public.claim_webhook_events(text, integer) to service_role;

create or replace function public.record_webhook_attempt(
  outbox_id bigint,
  run_id text,
  status_code integer,
  error text default null
) returns text
language plpgsql
set search_path = ''
as $$
declare
  policy public.webhook_delivery_settings;
  outcome text;
begin
  select * into policy from public.webhook_delivery_settings;
  update public.webhook_outbox o
  set status = case
        when record_webhook_attempt.status_code between 200 and 299 then 'delivered'
        when o.attempts >= policy.max_attempts then 'dead'
        else 'pending' end,
      delivered_at = case when record_webhook_attempt.status_code between 200 and 299 then now() end,
      next_attempt_at = case
        when record_webhook_attempt.status_code between 200 and 299 then o.next_attempt_at
        else now() + least(
          make_interval(secs => policy.base_delay_seconds * power(2, o.attempts - 1)),
          interval '6 hours') end,
      run_id = null,
      leased_until = null,
      last_status_code = record_webhook_attempt.status_code,
      last_error = record_webhook_attempt.error
  where o.id = outbox_id and o.status = 'delivering' and o.run_id = record_webhook_attempt.run_id
  returning o.status into outcome;
  if outcome is null then
    raise exception 'webhook event % is not being delivered by %', outbox_id, run_id using errcode = 'ADR20';
  end if;
  return outcome;
end;
$$;
comment on function public.record_webhook_attempt(bigint, text, integer, text) is
  'Records run_id''s attempt at an event: a 2xx answer delivers it; anything else (status_code null: no answer) retries it with exponential backoff, or makes it dead after the last attempt. Returns the new status; ADR20 when the event is not the run''s to record.';
revoke execute on function public.record_webhook_attempt(bigint, text, integer, text) from public, anon, authenticated;
grant execute on function public.record_webhook_attempt(bigint, text, integer, text) to service_role;

create or replace function public.next_webhook_event_due_at() returns timestamptz
language sql
stable
set search_path = ''
as $$
  select min(o.next_attempt_at)
  from public.webhook_outbox o
  join public.ad_accounts a on a.id = o.ad_account_id
  where o.status = 'pending' and a.webhook_url is not null
$$;
comment on function public.next_webhook_event_due_at() is
  'When the soonest pending webhook event is due; null when none waits. A deliverer run waits for it when it is near.';
revoke execute on function public.next_webhook_event_due_at() from public, anon, authenticated;
grant execute on function public.next_webhook_event_due_at() to service_role;

create or replace view public.webhook_deliveries with (security_invoker = on) as
select
  a.id as ad_account_id,
  a.platform,
  a.platform_account_id,
  a.webhook_url is not null as webhook_set,
  count(o.id) filter (where o.status = 'pending') as pending,
  count(o.id) filter (where o.status = 'delivering') as delivering,
  count(o.id) filter (where o.status = 'delivered') as delivered,
  count(o.id) filter (where o.status = 'dead') as dead,
  count(o.id) filter (where o.status = 'pending' and o.attempts > 0) as retrying,
  min(o.created_at) filter (where o.status in ('pending', 'delivering')) as oldest_undelivered_at,
  max(o.delivered_at) as last_delivered_at,
  (array_agg(o.last_error order by o.id desc) filter (where o.last_error is not null))[1] as last_error
from public.ad_accounts a
join public.webhook_outbox o on o.ad_account_id = a.id
group by a.id, a.platform, a.platform_account_id, a.webhook_url;
comment on view public.webhook_deliveries is
  'Per ad account with webhook events: how many are pending (retrying: failed at least once), being delivered, delivered and dead, the oldest undelivered one, the last delivery and the last error. security_invoker: members see only their accounts.';

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
  perform cron.schedule('adrail-webhook-deliverer', '* * * * *',
    $job$ select private.call_function('webhook-deliverer') $job$);
  return array['adrail-creation-worker', 'adrail-safety-net', 'adrail-ads-sync', 'adrail-webhook-deliverer'];
end;
$$;
comment on function public.schedule_adrail_jobs(text) is
  'Schedules the creation-worker function (every minute by default), the safety-net function (Sundays 03:00 GMT), the due ad-account syncs and the webhook-deliverer function (both every minute) through pg_net, where pg_cron and pg_net exist; idempotent (cron.schedule upserts by name). Returns the jobs scheduled.';
revoke execute on function public.schedule_adrail_jobs(text) from public, anon, authenticated;

select public.schedule_adrail_jobs();
