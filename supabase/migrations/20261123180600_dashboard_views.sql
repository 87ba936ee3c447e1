-- Dashboard views for the Supabase SQL editor and for members through the API.
-- security_invoker = on: each view runs with the reader's rights, so RLS still applies.

create or replace view public.creation_job_outcomes_24h with (security_invoker = on) as
select
  j.status,
  count(*) as jobs,
  sum(j.requested_ad_sets) as requested_ad_sets,
  sum(j.ad_sets_created) as ad_sets_created,
  sum(j.requested_ads) as requested_ads,
  sum(j.ads_created) as ads_created,
  round(avg(extract(epoch from (j.completed_at - j.started_at)))::numeric, 1) as avg_duration_seconds
from public.campaign_creation_jobs j
where j.created_at > now() - interval '24 hours'
group by j.status;
comment on view public.creation_job_outcomes_24h is 'Jobs created in the last 24 hours, by status, with requested and created counts.';

create or replace view public.creation_job_retry_usage with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.status,
  j.retry_count,
  j.retry_budget,
  round(100.0 * j.retry_count / nullif(j.retry_budget, 0), 1) as budget_used_pct,
  j.last_retry_at,
  j.last_error
from public.campaign_creation_jobs j
where j.retry_count > 0;
comment on view public.creation_job_retry_usage is 'Jobs that retried, and how much of their retry budget they used.';

create or replace view public.verification_discrepancies with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.status,
  j.requested_ad_sets,
  count(*) filter (where s.entity_type = 'ad_set' and s.status = 'created') as ad_set_slots_created,
  j.ad_sets_created,
  j.requested_ads,
  count(*) filter (where s.entity_type = 'ad' and s.status = 'created') as ad_slots_created,
  j.ads_created,
  count(*) filter (where s.status = 'created' and s.verified_at is null) as created_not_verified,
  coalesce(sum(s.silent_failures), 0) as silent_failures_detected
from public.campaign_creation_jobs j
join public.entity_creation_slots s on s.job_id = j.id
group by j.id
having coalesce(sum(s.silent_failures), 0) > 0
   or (j.status = 'completed' and (
        count(*) filter (where s.status = 'created' and s.verified_at is null) > 0
     or count(*) filter (where s.entity_type = 'ad_set' and s.status = 'created') <> j.requested_ad_sets
     or count(*) filter (where s.entity_type = 'ad' and s.status = 'created') <> j.requested_ads));
comment on view public.verification_discrepancies is
  'Jobs where post-creation verification found silent failures, or a completed job whose verified slots do not match the request.';

create or replace view public.pre_creation_verification_failures with (security_invoker = on) as
select v.id, v.created_at, v.job_id, v.ad_account_id, v.user_id, v.campaign_name,
       v.token_valid, v.account_accessible, v.account_suspended, v.duplicate_campaign_exists,
       v.at_account_limit, v.errors, v.warnings, v.verification_time_ms
from public.pre_creation_verifications v
where not v.can_proceed;
comment on view public.pre_creation_verification_failures is 'Pre-creation verifications that stopped a launch, and why.';

create or replace view public.rollback_rate_daily with (security_invoker = on) as
select
  date_trunc('day', j.created_at)::date as day,
  count(*) as jobs,
  count(*) filter (where j.rollback_triggered) as rollbacks,
  count(*) filter (where j.status = 'rolled_back') as rolled_back,
  round(100.0 * count(*) filter (where j.rollback_triggered) / count(*), 2) as rollback_rate_pct
from public.campaign_creation_jobs j
group by 1;
comment on view public.rollback_rate_daily is 'Share of jobs per day that triggered a rollback.';

create or replace view public.stuck_creation_jobs with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.status,
  j.locked_by,
  j.locked_until,
  j.heartbeat_at,
  j.updated_at,
  case when j.locked_by is not null and j.locked_until < now() then 'lease expired'
       else 'no progress for an hour' end as reason
from public.campaign_creation_jobs j
where j.status in ('verifying', 'in_progress', 'rolling_back')
  and ((j.locked_by is not null and j.locked_until < now())
       or (j.updated_at < now() - interval '1 hour' and j.next_run_at < now()));
comment on view public.stuck_creation_jobs is
  'Jobs in progress whose worker lease expired, or that made no progress for an hour although due.';

create or replace view public.final_sync_backlog with (security_invoker = on) as
select
  l.ad_account_id,
  l.entity_type,
  count(*) filter (where l.final_sync_error is null) as pending,
  count(*) filter (where l.final_sync_error is not null) as failed,
  max(l.final_sync_attempts) as max_attempts,
  min(l.created_at) as oldest_change_at
from public.ad_status_change_log l
where l.requires_final_sync and not l.final_sync_completed
group by l.ad_account_id, l.entity_type;
comment on view public.final_sync_backlog is 'Final syncs still owed, per account and entity type: pending (never failed) and failed (retrying).';

create or replace view public.campaign_creation_job_progress with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.user_id,
  j.campaign_name,
  j.status,
  j.requested_ad_sets,
  j.requested_ads,
  j.ad_sets_created,
  j.ads_created,
  count(*) filter (where s.verified_at is not null) as slots_verified,
  count(*) filter (where s.status = 'pending') as slots_pending,
  count(*) filter (where s.status = 'creating') as slots_creating,
  count(*) filter (where s.status = 'created') as slots_created,
  count(*) filter (where s.status = 'failed') as slots_failed,
  count(*) filter (where s.status = 'rolled_back') as slots_rolled_back,
  coalesce(sum(s.silent_failures), 0) as silent_failures,
  j.retry_count,
  j.retry_budget,
  j.last_error,
  j.rollback_policy,
  j.rollback_triggered,
  j.rollback_reason,
  j.rollback_at,
  j.facebook_campaign_id,
  j.dry_run,
  j.next_run_at,
  j.created_at,
  j.started_at,
  j.completed_at
from public.campaign_creation_jobs j
left join public.entity_creation_slots s on s.job_id = j.id
group by j.id;
comment on view public.campaign_creation_job_progress is
  'One row per creation job: requested, created and verified counts, slots by status, retries and rollback state.';
