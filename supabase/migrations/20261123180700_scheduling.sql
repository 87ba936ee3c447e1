-- pg_cron drives adrail's periodic work. Where pg_cron cannot be enabled in this database (not
-- preloaded, or cron.database_name names another database) the migration still applies and says
-- so: the schedules are then the operator's to set up.

do $$
begin
  if current_setting('shared_preload_libraries', true) like '%pg_cron%'
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron with schema pg_catalog;
    -- cron.job_run_details grows forever: keep a week of it.
    perform cron.schedule(
      'adrail-prune-cron-history',
      '17 3 * * *',
      $job$ delete from cron.job_run_details where end_time < now() - interval '7 days' $job$
    );
  else
    raise notice 'pg_cron is not available in database %: adrail schedules not installed', current_database();
  end if;
end
$$;

-- The functions pg_cron calls over HTTP, through pg_net, with the URL and the cron secret kept in
-- Vault (adrail_functions_url = https://<project-ref>.supabase.co/functions/v1, and
-- adrail_cron_secret = the functions' CRON_SECRET). plpgsql, so the bodies name net and vault
-- only when they run: the migration applies where they do not exist.

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
    )
  );
end;
$$;
comment on function private.call_function(text) is
  'POSTs {} to an adrail function (pg_net, asynchronous, sent after commit) with the cron secret; returns the pg_net request id. The functions are idempotent, so a lost call only waits for the next tick.';
revoke execute on function private.call_function(text) from public, anon, authenticated;

create or replace function public.schedule_adrail_jobs() returns text[]
language plpgsql
set search_path = ''
as $$
begin
  if to_regnamespace('cron') is null or to_regprocedure('net.http_post(text,jsonb,jsonb,jsonb,integer)') is null then
    raise notice 'adrail schedules need pg_cron and pg_net: enable pg_net, then select public.schedule_adrail_jobs()';
    return '{}';
  end if;
  perform cron.schedule('adrail-creation-worker', '* * * * *',
    $job$ select private.call_function('campaign-create/worker') $job$);
  perform cron.schedule('adrail-safety-net', '0 3 * * 0',
    $job$ select private.call_function('safety-net') $job$);
  return array['adrail-creation-worker', 'adrail-safety-net'];
end;
$$;
comment on function public.schedule_adrail_jobs() is
  'Schedules the creation worker (every minute) and the safety net (Sundays 03:00 GMT) where pg_cron and pg_net exist; idempotent (cron.schedule upserts by name). Returns the jobs scheduled.';
revoke execute on function public.schedule_adrail_jobs() from public, anon, authenticated;

select public.schedule_adrail_jobs();
