-- pg_cron: where it can run in this database, adrail's schedules are installed.
begin;
select plan(2);

select ok(
  not (current_setting('shared_preload_libraries', true) like '%pg_cron%'
       and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres'))
  or exists (select 1 from pg_extension where extname = 'pg_cron'),
  'pg_cron is enabled wherever it is preloaded for this database'
);
select ok(
  not exists (select 1 from pg_extension where extname = 'pg_cron')
  or exists (select 1 from cron.job where jobname = 'adrail-prune-cron-history'),
  'cron.job_run_details is pruned daily'
);

select * from finish();
rollback;
