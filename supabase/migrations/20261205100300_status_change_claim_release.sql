-- A run that stops at its budget gives back what it claimed and did not reach (final syncs and
-- attribution tails alike hold their claim in the log row's locked_by/locked_until), so the next
-- run takes them up at once, not after the claim's lease (5 minutes).

create or replace function public.release_status_change_claims(worker text)
returns integer
language sql
set search_path = ''
as $$
  with released as (
    update public.ad_status_change_log l
    set locked_by = null, locked_until = null
    where l.locked_by = release_status_change_claims.worker
    returning 1
  )
  select count(*)::integer from released
$$;
comment on function public.release_status_change_claims(text) is
  'Releases every status-change log row still claimed by worker (a run''s claim token), touching nothing else: no attempt is recorded. Answers how many.';
revoke execute on function public.release_status_change_claims(text) from public, anon, authenticated;
grant execute on function public.release_status_change_claims(text) to service_role;
