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
