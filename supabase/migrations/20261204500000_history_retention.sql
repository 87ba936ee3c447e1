-- Retention: history that grows with every tick and every event is pruned once a day by pg_cron
-- (adrail-housekeeping), so a busy project's tables stay the size of what is still useful:
--   - pg_cron's run log (cron.job_run_details) gets a row per job per tick: adrail's every-minute
--     jobs write about 4,300 a day. adrail's own jobs' rows are kept 7 days (pg_cron never prunes
--     them itself; Supabase's Cron docs advise a job like this one). Other jobs' rows are not ours.
--   - delivered and dead webhook events are kept 30 days as their record (a receiver deduplicates
--     on event_id long before that); pending and delivering ones are never touched.
--   - a request-limit bucket that has flowed back completely holds nothing: deleting it changes no
--     answer (take_request_quota starts a missing bucket empty; a request racing the delete at that
--     instant may go uncounted, once).
-- What is never pruned: jobs, slots, audits, the status-change log, the budget ledger (append-only)
-- and metrics, which are the product's record.

create or replace function private.prune_adrail_history(
  webhook_events_kept interval default '30 days',
  cron_runs_kept interval default '7 days'
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  events integer;
  buckets integer;
  cron_runs integer := 0;
begin
  if webhook_events_kept is null or webhook_events_kept < interval '1 day'
     or cron_runs_kept is null or cron_runs_kept < interval '1 day' then
    raise exception 'history is kept at least a day' using errcode = '22023';
  end if;
  delete from public.webhook_outbox o
  where o.status in ('delivered', 'dead')
    and coalesce(o.delivered_at, o.next_attempt_at, o.created_at) < now() - webhook_events_kept;
  get diagnostics events = row_count;

  -- Drained: what was used has flowed back at quota per window since (take_request_quota's rule).
  delete from public.request_rate_limits r
  where r.used = 0
     or (select l.quota is null
                or (l.quota > 0
                    and r.used <= extract(epoch from now() - r.used_at) * l.quota / l.window_seconds)
         from private.limit_of(r.action, r.scope, r.subject_id) l);
  get diagnostics buckets = row_count;

  if to_regclass('cron.job_run_details') is not null then
    execute $sql$
      delete from cron.job_run_details d
      using cron.job j
      where j.jobid = d.jobid and j.jobname like 'adrail-%'
        and coalesce(d.end_time, d.start_time) < now() - $1
    $sql$ using cron_runs_kept;
    get diagnostics cron_runs = row_count;
  end if;
  return jsonb_build_object('webhookEvents', events, 'requestLimitBuckets', buckets,
                            'cronRuns', cron_runs);
end;
$$;
comment on function private.prune_adrail_history(interval, interval) is
  'Deletes delivered and dead webhook events older than webhook_events_kept (30 days), request-limit buckets that have flowed back completely, and adrail''s pg_cron run log rows older than cron_runs_kept (7 days). pg_cron runs it daily (adrail-housekeeping). Returns how many rows of each it deleted.';
revoke execute on function private.prune_adrail_history(interval, interval) from public, anon, authenticated;
grant execute on function private.prune_adrail_history(interval, interval) to service_role;

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
  -- In the database itself, no function call: a quiet minute of the night (GMT).
  perform cron.schedule('adrail-housekeeping', '17 4 * * *',
    $job$ select private.prune_adrail_history() $job$);
  return array['adrail-creation-worker', 'adrail-safety-net', 'adrail-ads-sync',
               'adrail-webhook-deliverer', 'adrail-housekeeping'];
end;
$$;
comment on function public.schedule_adrail_jobs(text) is
  'Schedules the creation-worker function (every minute by default), the safety-net function (Sundays 03:00 GMT), the due ad-account syncs and the webhook-deliverer function (both every minute) through pg_net, and the daily pruning of old history (04:17 GMT, private.prune_adrail_history), where pg_cron and pg_net exist; idempotent (cron.schedule upserts by name). Returns the jobs scheduled.';
revoke execute on function public.schedule_adrail_jobs(text) from public, anon, authenticated;

select public.schedule_adrail_jobs();
