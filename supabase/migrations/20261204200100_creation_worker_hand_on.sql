-- A creation-worker run that stops for its budget (the CPU or wall clock a request may spend)
-- while jobs are due hands them on to a fresh run at once, as pg_cron's tick would a minute
-- later: a new request to the creation-worker function, with a budget of its own.
create or replace function public.start_creation_worker_run() returns bigint
language plpgsql
set search_path = ''
as $$
begin
  return private.call_function('creation-worker');
end;
$$;
comment on function public.start_creation_worker_run() is
  'Calls the creation-worker function now (pg_net, after commit, with the cron secret from Vault), as its pg_cron schedule does: a run out of budget hands the due jobs on. Returns the pg_net request id.';
revoke execute on function public.start_creation_worker_run() from public, anon, authenticated;
grant execute on function public.start_creation_worker_run() to service_role;
