-- Async insights reports of big accounts: when Meta refuses a synchronous insights read as too
-- much data, the sync starts a report run (POST /act_<id>/insights) and polls it within its wall
-- budget. A run that has not finished by then is remembered here, so the account's next sync
-- continues polling it instead of starting another (and instead of blocking the edge function).
-- One run per account, level and date range; recording a run drops the account's runs of that
-- level for other ranges (a later sync asks for a later range: the old run is of no more use).

create table if not exists private.insights_report_runs (
  ad_account_id uuid not null references public.ad_accounts (id) on delete cascade,
  level text not null check (level in ('campaign', 'ad_set', 'ad')),
  since date not null,
  until date not null,
  report_run_id text not null,
  started_at timestamptz not null default now(),
  primary key (ad_account_id, level, since, until)
);
comment on table private.insights_report_runs is
  'Meta report runs (async insights) a sync started and has not read yet: the next sync of the account continues them.';

create or replace function public.record_insights_report_run(
  ad_account_id uuid,
  level text,
  since date,
  until date,
  report_run_id text
) returns void
language sql
set search_path = ''
as $$
  delete from private.insights_report_runs r
  where r.ad_account_id = record_insights_report_run.ad_account_id
    and r.level = record_insights_report_run.level;
  insert into private.insights_report_runs (ad_account_id, level, since, until, report_run_id)
  values (record_insights_report_run.ad_account_id, record_insights_report_run.level,
          record_insights_report_run.since, record_insights_report_run.until,
          record_insights_report_run.report_run_id);
$$;
comment on function public.record_insights_report_run(uuid, text, date, date, text) is
  'Remembers the report run started for an account''s insights at one level over since..until, replacing any run of that level.';
revoke execute on function public.record_insights_report_run(uuid, text, date, date, text) from public, anon, authenticated;
grant execute on function public.record_insights_report_run(uuid, text, date, date, text) to service_role;

create or replace function public.pending_insights_report_run(
  ad_account_id uuid,
  level text,
  since date,
  until date
) returns text
language sql stable
set search_path = ''
as $$
  select r.report_run_id from private.insights_report_runs r
  where r.ad_account_id = pending_insights_report_run.ad_account_id
    and r.level = pending_insights_report_run.level
    and r.since = pending_insights_report_run.since
    and r.until = pending_insights_report_run.until
$$;
comment on function public.pending_insights_report_run(uuid, text, date, date) is
  'The report run a previous sync started for this account, level and range and did not read, or null.';
revoke execute on function public.pending_insights_report_run(uuid, text, date, date) from public, anon, authenticated;
grant execute on function public.pending_insights_report_run(uuid, text, date, date) to service_role;

create or replace function public.forget_insights_report_run(ad_account_id uuid, report_run_id text)
returns void
language sql
set search_path = ''
as $$
  delete from private.insights_report_runs r
  where r.ad_account_id = forget_insights_report_run.ad_account_id
    and r.report_run_id = forget_insights_report_run.report_run_id;
$$;
comment on function public.forget_insights_report_run(uuid, text) is
  'Drops a report run once read, or once Meta failed it (the next try starts another).';
revoke execute on function public.forget_insights_report_run(uuid, text) from public, anon, authenticated;
grant execute on function public.forget_insights_report_run(uuid, text) to service_role;
