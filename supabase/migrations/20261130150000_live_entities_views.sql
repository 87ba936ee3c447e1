-- Two corrections to the views of jobs that need attention. A rollback that keeps its campaign
-- (it holds objects adrail did not create) ends rolled_back with that campaign still live: it is
-- listed with its live entities too. Jobs with an expired lease are listed whatever their status
-- (pending ones were left out).

create or replace view public.creation_jobs_with_live_entities with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.status,
  j.last_error as reason,
  j.next_run_at as next_attempt_at,
  j.updated_at,
  count(s.id) as live_entities,
  array_agg(s.facebook_id order by s.entity_type, s.slot_number) as live_entity_ids
from public.campaign_creation_jobs j
join public.entity_creation_slots s on s.job_id = j.id and s.status = 'created'
where j.status in ('rolling_back', 'rollback_blocked', 'awaiting_confirmation', 'failed', 'rolled_back')
group by j.id;
comment on view public.creation_jobs_with_live_entities is
  'Jobs that will not complete but still own live objects on Meta (slots created, not rolled back): what a failure left behind (a rolled-back job only when it kept its campaign for objects adrail did not create), and when the next rollback attempt is due.';

create or replace view public.stuck_creation_jobs with (security_invoker = on) as
select
  j.id as job_id,
  j.ad_account_id,
  j.status,
  j.locked_by,
  j.locked_until,
  j.heartbeat_at,
  j.updated_at,
  case when j.status = 'awaiting_confirmation' then 'waiting for a rollback decision'
       when j.status = 'rollback_blocked' then 'rollback blocked: ' || coalesce(j.last_error, 'unknown')
       when j.locked_by is not null and j.locked_until < now() then 'lease expired'
       else 'no progress for an hour' end as reason,
  now() - j.updated_at as age
from public.campaign_creation_jobs j
where j.status in ('awaiting_confirmation', 'rollback_blocked')
   or (j.status in ('pending', 'verifying', 'in_progress', 'rolling_back')
       and ((j.locked_by is not null and j.locked_until < now())
            or (j.updated_at < now() - interval '1 hour' and j.next_run_at < now())));
comment on view public.stuck_creation_jobs is
  'Jobs that need attention: waiting for a rollback decision, rollback blocked (with why), a worker lease expired, or no progress for an hour although due; age is the time since their last change.';
