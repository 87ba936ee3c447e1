-- A launch, an approval, a confirmed rollback and a verify request have their job run by the
-- creation-worker function, never inside their own request: Supabase counts CPU per isolate, over
-- every request it serves at once, and creation work in campaign-create's isolate pushed it, with
-- a burst of launches in flight, past the 2 s limit that ends them all. And a run is asked for only
-- when a worker slot is free: the runs holding the slots take the job up (their idle lanes look
-- for due jobs every second; a run freeing its slot looks once more before it ends), so a burst of
-- launches does not queue hundreds of calls that would each find every slot held.

create or replace function public.start_creation_worker_run() returns bigint
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select 1 from public.creation_worker_slots s
                 where s.held_until is null or s.held_until < now()) then
    return null;
  end if;
  return private.call_function('creation-worker');
end;
$$;
comment on function public.start_creation_worker_run() is
  'Calls the creation-worker function now (pg_net, after commit, with the cron secret from Vault), as its pg_cron schedule does, when a worker slot is free; null, calling nothing, when every slot is held (their runs take the due jobs up). Returns the pg_net request id.';
revoke execute on function public.start_creation_worker_run() from public, anon, authenticated;
grant execute on function public.start_creation_worker_run() to service_role;
