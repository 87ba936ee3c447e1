-- Final-sync writes are fenced on the claimant: complete_final_sync(log_id, metrics, worker) and
-- mark_final_sync_completed(log_id, success, error, worker) write only for the run whose token
-- (given to claim_final_syncs) holds the row; anyone else gets ADR02 and nothing is written. The
-- operator forms without a token (mark_final_sync_completed(log_id, success, error default null),
-- complete_final_sync without worker) write only where no live claim holds the row.
-- Every query is filtered on this file's own account.
begin;
select plan(31);

select tests.create_supabase_user('fsx_owner') as owner_id \gset
select tests.create_ad_account('fsx_owner', 'act_91000801') as acct \gset

-- Six ads leave ACTIVE: six final syncs owed.
insert into public.ads (ad_account_id, platform_ad_id, name, status)
select :'acct', 'fsx-' || i, 'ad ' || i, 'ACTIVE' from generate_series(1, 6) i;
update public.ads set status = 'PAUSED' where ad_account_id = :'acct';
select id as log1 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-1' \gset
select id as log2 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-2' \gset
select id as log3 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-3' \gset
select id as log4 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-4' \gset
select id as log5 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-5' \gset
select id as log6 from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'fsx-6' \gset

-- What a write may have touched: the log row and the ad's metrics and stamp.
create function pg_temp.fsx_state(log_id bigint) returns table (
  completed boolean, attempts integer, error text, locked_by text, locked_until timestamptz, metric_rows integer, stamped boolean
) language sql as $$
  select l.final_sync_completed, l.final_sync_attempts, l.final_sync_error, l.locked_by, l.locked_until,
         (select count(*)::int from public.ad_metrics_daily m
          where m.ad_account_id = l.ad_account_id and m.entity_type = 'ad' and m.platform_entity_id = l.platform_entity_id),
         (select a.last_final_sync_at is not null from public.ads a where a.id = l.entity_id)
  from public.ad_status_change_log l where l.id = fsx_state.log_id
$$;

select results_eq(
  format($$ select platform_entity_id, locked_by from public.claim_final_syncs('fsx-a', %L, 6, 300) order by platform_entity_id $$, :'acct'),
  $$ values ('fsx-1', 'fsx-a'), ('fsx-2', 'fsx-a'), ('fsx-3', 'fsx-a'), ('fsx-4', 'fsx-a'), ('fsx-5', 'fsx-a'), ('fsx-6', 'fsx-a') $$,
  'run fsx-a claims the six rows');

-- ---------------------------------------------------------------------------------------------
-- A zombie: the claim of fsx-a on log4 expires, run fsx-b claims it; fsx-a writes nothing.
-- ---------------------------------------------------------------------------------------------
update public.ad_status_change_log set locked_until = now() - interval '1 second' where id = :log4;
select results_eq(
  format($$ select id, locked_by from public.claim_final_syncs('fsx-b', %L) $$, :'acct'),
  format($$ values (%s::bigint, 'fsx-b'::text) $$, :log4),
  'run fsx-b takes over the expired claim');
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 1}]', 'fsx-a') $$, :log4),
  'ADR02', format('final sync %s is not claimed by fsx-a', :log4),
  'zombie: complete_final_sync is refused (ADR02)');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, false, 'late', 'fsx-a') $$, :log4),
  'ADR02', format('final sync %s is not claimed by fsx-a', :log4),
  'zombie: mark_final_sync_completed is refused (ADR02)');
select results_eq(
  format($$ select * from pg_temp.fsx_state(%s) $$, :log4),
  $$ values (false, 0, null::text, 'fsx-b'::text, now() + interval '300 seconds', 0, false) $$,
  'zombie: nothing written, fsx-b''s claim intact');
select results_eq(
  format($$ select final_sync_completed, final_sync_attempts from public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 5}]', 'fsx-b') $$, :log4),
  $$ values (true, 1) $$,
  'the new claimant completes');
select results_eq(
  format($$ select date, impressions from public.ad_metrics_daily where ad_account_id = %L and platform_entity_id = 'fsx-4' $$, :'acct'),
  $$ values ('2026-11-20'::date, 5::bigint) $$,
  'with its metrics, and only its');

-- ---------------------------------------------------------------------------------------------
-- The claimant writes.
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select final_sync_completed, locked_by from public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 10}]', 'fsx-a') $$, :log1),
  $$ values (true, null::text) $$,
  'claimant: complete_final_sync completes its row and releases the claim');
select results_eq(
  format($$ select * from pg_temp.fsx_state(%s) $$, :log1),
  $$ values (true, 1, null::text, null::text, null::timestamptz, 1, true) $$,
  'claimant: metrics, log row and stamp written');
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts, locked_by, locked_until
            from public.mark_final_sync_completed(%s, false, 'Graph API timeout', 'fsx-a') $$, :log2),
  $$ values (false, 'Graph API timeout'::text, 1, null::text, null::timestamptz) $$,
  'claimant: mark_final_sync_completed with its token records the failure and releases the claim');
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[]', 'fsx-a') $$, :log1),
  'ADR02', format('final sync %s is not claimed by fsx-a', :log1),
  'claimant: once it released the row, it cannot write it again (ADR02)');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, true, null, 'fsx-a') $$, :log2),
  'ADR02', format('final sync %s is not claimed by fsx-a', :log2),
  'claimant: nor mark it after recording the failure (ADR02)');

-- The claim of fsx-a expired, nobody took it over: the row is still fsx-a's (the token is the fence).
update public.ad_status_change_log set locked_until = now() - interval '1 second' where id = :log6;
select results_eq(
  format($$ select final_sync_completed, locked_by from public.complete_final_sync(%s, '[]', 'fsx-a') $$, :log6),
  $$ values (true, null::text) $$,
  'claimant: an expired claim nobody took over is still its own to complete');

-- ---------------------------------------------------------------------------------------------
-- A stranger (another token) writes nothing.
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 99}]', 'fsx-stranger') $$, :log3),
  'ADR02', format('final sync %s is not claimed by fsx-stranger', :log3),
  'stranger: complete_final_sync is refused (ADR02)');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, false, 'boom', 'fsx-stranger') $$, :log3),
  'ADR02', format('final sync %s is not claimed by fsx-stranger', :log3),
  'stranger: mark_final_sync_completed is refused (ADR02)');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, true, null, 'fsx-stranger') $$, :log3),
  'ADR02', format('final sync %s is not claimed by fsx-stranger', :log3),
  'stranger: marking it completed is refused too (ADR02)');
select results_eq(
  format($$ select * from pg_temp.fsx_state(%s) $$, :log3),
  $$ values (false, 0, null::text, 'fsx-a'::text, now() + interval '300 seconds', 0, false) $$,
  'stranger: nothing changed: no metrics, no stamp, log row pending and still claimed by fsx-a');
select throws_ok(
  $$ select public.mark_final_sync_completed(-1, false, 'x', 'fsx-a') $$,
  'ADR04', 'status change log row -1 not found',
  'a row that does not exist raises ADR04');

-- ---------------------------------------------------------------------------------------------
-- An operator (no token): only where no live claim holds the row.
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, true) $$, :log3),
  'ADR02', format('final sync %s is claimed by fsx-a', :log3),
  'operator: the three-argument form refuses a row a live run holds (ADR02)');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, false, 'given up') $$, :log3),
  'ADR02', format('final sync %s is claimed by fsx-a', :log3),
  'operator: with an error too');
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 3}]') $$, :log3),
  'ADR02', format('final sync %s is claimed by fsx-a', :log3),
  'operator: complete_final_sync without a worker refuses it too (ADR02)');
select results_eq(
  format($$ select * from pg_temp.fsx_state(%s) $$, :log3),
  $$ values (false, 0, null::text, 'fsx-a'::text, now() + interval '300 seconds', 0, false) $$,
  'operator: the live run''s claim is kept, nothing written');

update public.ad_status_change_log set locked_until = now() - interval '1 second' where id = :log3;
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts, locked_by, locked_until
            from public.mark_final_sync_completed(%s, false, 'given up') $$, :log3),
  $$ values (false, 'given up'::text, 1, null::text, null::timestamptz) $$,
  'operator: once the claim expired, the three-argument form records the outcome and clears the dead claim');
select results_eq(
  format($$ select final_sync_completed, final_sync_attempts from public.mark_final_sync_completed(%s, true) $$, :log3),
  $$ values (true, 2) $$,
  'operator: on an unclaimed row it records the outcome (here: done by hand)');
select results_eq(
  format($$ select final_sync_completed, final_sync_attempts from public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 2}]') $$, :log2),
  $$ values (true, 2) $$,
  'operator: complete_final_sync without a worker completes an unclaimed row');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, true, null, null) $$, :log5),
  'ADR02', format('final sync %s is claimed by fsx-a', :log5),
  'a null token in the four-argument form is the operator form: refused on a live claim');

-- ---------------------------------------------------------------------------------------------
-- Who may call the four-argument form: the service role only.
-- ---------------------------------------------------------------------------------------------
select function_privs_are('public', 'mark_final_sync_completed', array['bigint', 'boolean', 'text', 'text'], 'service_role',
  array['EXECUTE'], 'service_role can execute mark_final_sync_completed(bigint, boolean, text, text)');
select function_privs_are('public', 'mark_final_sync_completed', array['bigint', 'boolean', 'text', 'text'], 'authenticated',
  array[]::text[], 'authenticated cannot execute mark_final_sync_completed(bigint, boolean, text, text)');
select function_privs_are('public', 'mark_final_sync_completed', array['bigint', 'boolean', 'text', 'text'], 'anon',
  array[]::text[], 'anon cannot execute mark_final_sync_completed(bigint, boolean, text, text)');
select function_privs_are('private', 'assert_final_sync_claimant', array['bigint', 'text'], 'authenticated',
  array[]::text[], 'authenticated cannot execute private.assert_final_sync_claimant');
select tests.authenticate_as('fsx_owner');
select throws_ok(
  format($$ select public.mark_final_sync_completed(%s, false, 'x', 'fsx-a') $$, :log5),
  '42501', 'permission denied for function mark_final_sync_completed',
  'a signed-in client calling the four-argument form is refused');
select tests.clear_authentication();

select * from finish();
rollback;
