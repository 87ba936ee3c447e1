-- A circuit breaker per ad account, held in Postgres so every worker shares it: when Meta fails
-- across the board (a probe read of the account fails transiently too), the account's jobs wait
-- with a growing backoff and do not spend their retry budget; the first success closes it.

alter table public.ad_accounts
  add column if not exists meta_outage_failures integer not null default 0
    check (meta_outage_failures >= 0),
  add column if not exists meta_outage_until timestamptz;
comment on column public.ad_accounts.meta_outage_failures is
  'Consecutive probes that found Meta failing for this account; sets the growing outage wait.';
comment on column public.ad_accounts.meta_outage_until is
  'Meta looked down for this account: its jobs wait until then without spending their retry budget.';

create or replace function public.record_meta_outage(
  ad_account_id uuid,
  base_seconds integer default 5,
  cap_seconds integer default 300
) returns timestamptz
language sql
set search_path = ''
as $$
  update public.ad_accounts a
  set meta_outage_failures = a.meta_outage_failures + 1,
      meta_outage_until = now() + make_interval(
        secs => least(cap_seconds, base_seconds * power(2, a.meta_outage_failures)::integer))
  where a.id = record_meta_outage.ad_account_id
  returning a.meta_outage_until
$$;
comment on function public.record_meta_outage(uuid, integer, integer) is
  'Opens (or keeps open) the account''s breaker: the wait doubles with each consecutive outage probe (base 5 s, cap 5 min). Returns until when its jobs wait.';
revoke execute on function public.record_meta_outage(uuid, integer, integer) from public, anon, authenticated;
grant execute on function public.record_meta_outage(uuid, integer, integer) to service_role;

create or replace function public.clear_meta_outage(ad_account_id uuid) returns void
language sql
set search_path = ''
as $$
  update public.ad_accounts a set meta_outage_failures = 0, meta_outage_until = null
  where a.id = clear_meta_outage.ad_account_id and (a.meta_outage_failures > 0 or a.meta_outage_until is not null)
$$;
comment on function public.clear_meta_outage(uuid) is 'Closes the account''s breaker: Meta answered.';
revoke execute on function public.clear_meta_outage(uuid) from public, anon, authenticated;
grant execute on function public.clear_meta_outage(uuid) to service_role;
