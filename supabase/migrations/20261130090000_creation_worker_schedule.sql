-- The creation worker is its own function, `creation-worker` (verify_jwt off: pg_cron sends the
-- cron secret, not a JWT), where it was the `campaign-create/worker` route, which Supabase's
-- gateway refused (401) because campaign-create verifies JWTs. The schedule may be faster than a
-- minute where pg_cron allows it (1.5+: '5 seconds'); a run also tells when the next released job
-- comes due, so short backoffs do not wait for a tick.

create or replace function private.call_function(path text) returns bigint
language plpgsql
set search_path = ''
as $$
begin
  return net.http_post(
    url := (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'adrail_functions_url')
           || '/' || path,
    body := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'x-cron-secret', (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'adrail_cron_secret')
    ),
    -- As long as a function may run (Supabase's wall-clock limit), so pg_net records its answer.
    timeout_milliseconds := 150000
  );
end;
$$;
comment on function private.call_function(text) is
  'POSTs {} to an adrail function (pg_net, asynchronous, sent after commit) with the cron secret; returns the pg_net request id, whose answer lands in net._http_response. The functions are idempotent, so a lost call only waits for the next tick.';
revoke execute on function private.call_function(text) from public, anon, authenticated;

drop function if exists public.schedule_adrail_jobs();
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
  return array['adrail-creation-worker', 'adrail-safety-net'];
end;
$$;
comment on function public.schedule_adrail_jobs(text) is
  'Schedules the creation-worker function (every minute by default) and the safety-net function (Sundays 03:00 GMT) through pg_net, where pg_cron and pg_net exist; idempotent (cron.schedule upserts by name). Returns the jobs scheduled.';
revoke execute on function public.schedule_adrail_jobs(text) from public, anon, authenticated;

create or replace function public.next_creation_job_due_at() returns timestamptz
language sql
stable
set search_path = ''
as $$
  select min(greatest(j.next_run_at, coalesce(a.rate_limited_until, j.next_run_at)))
  from public.campaign_creation_jobs j
  join public.ad_accounts a on a.id = j.ad_account_id
  where j.status in ('pending', 'verifying', 'in_progress', 'rolling_back')
    and (j.locked_until is null or j.locked_until < now())
$$;
comment on function public.next_creation_job_due_at() is
  'When the soonest unclaimed creation job becomes claimable (its backoff or its account''s rate-limit wait over); null when none waits. A worker run with nothing due waits for it when it is near.';
revoke execute on function public.next_creation_job_due_at() from public, anon, authenticated;
grant execute on function public.next_creation_job_due_at() to service_role;

-- Re-schedule where the schedules exist: the worker's job now calls creation-worker.
select public.schedule_adrail_jobs();
