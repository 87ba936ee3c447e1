-- Nothing left live, ever: a rollback that cannot proceed (account disabled, token revoked, rate
-- limit, Meta down) no longer ends the job `failed` with its objects still live. The job waits in
-- `rollback_blocked`, durably, and the worker tries again with backoff for as long as it takes;
-- only a rollback that removed everything ends `rolled_back`.

delete from private.state_transitions
where machine = 'campaign_creation_job' and from_status = 'rolling_back' and to_status = 'failed';

insert into private.state_transitions (machine, from_status, to_status) values
  ('campaign_creation_job', 'rolling_back', 'rollback_blocked'),
  ('campaign_creation_job', 'rollback_blocked', 'rolling_back')
on conflict do nothing;

-- Every job that still owns live objects on Meta although it will not complete: rolling back,
-- blocked, waiting for a person's decision, or failed (a declined rollback keeps its objects).
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
where j.status in ('rolling_back', 'rollback_blocked', 'awaiting_confirmation', 'failed')
group by j.id;
comment on view public.creation_jobs_with_live_entities is
  'Jobs that will not complete but still own live objects on Meta (slots created, not rolled back): what a failure left behind, and when the next rollback attempt is due.';

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
   or (j.status in ('verifying', 'in_progress', 'rolling_back')
       and ((j.locked_by is not null and j.locked_until < now())
            or (j.updated_at < now() - interval '1 hour' and j.next_run_at < now())));
comment on view public.stuck_creation_jobs is
  'Jobs that need attention: waiting for a rollback decision, rollback blocked, a worker lease expired, or no progress for an hour although due; age is the time since their last change.';
