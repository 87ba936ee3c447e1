-- Async insights report runs a sync left unread: one per account, level and range, continued by
-- the next sync (pending_insights_report_run), replaced by a run of the same level for another
-- range, dropped once read or failed (forget_insights_report_run), gone with their account.
begin;
select plan(8);

select tests.create_supabase_user('irr_owner') as owner_id \gset
select tests.create_ad_account('irr_owner', 'act_91000801') as acct \gset
select tests.create_ad_account('irr_owner', 'act_91000802') as other \gset

select public.record_insights_report_run(:'acct', 'ad', '2026-11-01', '2026-11-28', 'run-1');
select public.record_insights_report_run(:'acct', 'campaign', '2026-11-01', '2026-11-28', 'run-2');
select public.record_insights_report_run(:'other', 'ad', '2026-11-01', '2026-11-28', 'run-3');

select is(public.pending_insights_report_run(:'acct', 'ad', '2026-11-01', '2026-11-28'), 'run-1',
  'the next sync of the same account, level and range finds the run');
select is(public.pending_insights_report_run(:'acct', 'ad', '2026-11-02', '2026-11-29'), null,
  'a sync over another range does not');
select is(public.pending_insights_report_run(:'acct', 'ad_set', '2026-11-01', '2026-11-28'), null,
  'nor one at another level');

select public.record_insights_report_run(:'acct', 'ad', '2026-11-02', '2026-11-29', 'run-4');
select is(public.pending_insights_report_run(:'acct', 'ad', '2026-11-01', '2026-11-28'), null,
  'a run of the same level for a later range replaces the older one');
select is(public.pending_insights_report_run(:'acct', 'campaign', '2026-11-01', '2026-11-28'), 'run-2',
  'other levels keep theirs');

select public.forget_insights_report_run(:'acct', 'run-4');
select is(public.pending_insights_report_run(:'acct', 'ad', '2026-11-02', '2026-11-29'), null,
  'a run read (or failed) is forgotten');
select is(public.pending_insights_report_run(:'other', 'ad', '2026-11-01', '2026-11-28'), 'run-3',
  'another account''s runs are its own');

delete from public.ad_accounts where id = :'acct';
select is((select count(*)::int from private.insights_report_runs where ad_account_id = :'acct'), 0,
  'runs go with their account');

select * from finish();
rollback;
