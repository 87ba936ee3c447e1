-- pg_cron: where it can run in this database, adrail's schedules are installed. Elsewhere (pg_cron
-- not preloaded, or cron.database_name names another database) the migrations still apply.
begin;
select plan(2);

create function pg_temp.cron_can_run_here() returns boolean language sql as $$
  select current_setting('shared_preload_libraries', true) like '%pg_cron%'
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres')
$$;

-- cron.job exists only where the extension does: read it through dynamic SQL.
create function pg_temp.cron_job_exists(job text) returns boolean language plpgsql as $$
declare
  found_job boolean;
begin
  if to_regclass('cron.job') is null then
    return false;
  end if;
  execute 'select exists (select 1 from cron.job where jobname = $1)' into found_job using job;
  return found_job;
end;
$$;

select is(
  exists (select 1 from pg_extension where extname = 'pg_cron'),
  pg_temp.cron_can_run_here(),
  'pg_cron is enabled exactly where it can run'
);
select is(
  pg_temp.cron_job_exists('adrail-prune-cron-history'),
  pg_temp.cron_can_run_here(),
  'where it runs, cron.job_run_details is pruned daily'
);

select * from finish();
rollback;
