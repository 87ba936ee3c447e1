-- The 28-day attribution tail: requires_final_sync (the rule the status triggers use), tails opened
-- by changes that owe a final sync (settles_at = change + 28 days), claimed for re-reads only once
-- the final sync is done and the last read is old enough, re-read by the claimant alone (metrics
-- restated, the claim released), settled by the first read after settles_at, superseded by a newer
-- stop of the same entity; a failed re-read keeps the tail due. Queries filter on this file's rows.
begin;
select plan(29);

select tests.create_supabase_user('tail_owner') as owner_id \gset
select tests.create_ad_account('tail_owner', 'act_91000701') as acct \gset
insert into public.ads (ad_account_id, platform_ad_id, name, status) values
  (:'acct', 'tail-ad', 'ad', 'ACTIVE'), (:'acct', 'tail-ad2', 'ad2', 'ACTIVE');

-- ---------------------------------------------------------------------------------------------
-- The rule
-- ---------------------------------------------------------------------------------------------
select ok(public.requires_final_sync('ACTIVE', 'PAUSED'), 'ACTIVE to PAUSED owes a final sync');
select ok(public.requires_final_sync('active', 'Deleted'), 'in any letter case');
select ok(public.requires_final_sync('ACTIVE', 'ARCHIVED'), 'ACTIVE to ARCHIVED too');
select ok(not public.requires_final_sync('PAUSED', 'DELETED'), 'an entity already stopped owes none');
select ok(not public.requires_final_sync('PAUSED', 'ACTIVE'), 'nor one coming back');
select ok(not public.requires_final_sync(null, 'PAUSED'), 'nor one without an old status');

-- ---------------------------------------------------------------------------------------------
-- A stop opens a tail, which waits for the final sync
-- ---------------------------------------------------------------------------------------------
update public.ads set status = 'DELETED' where platform_ad_id in ('tail-ad', 'tail-ad2');
select id as log_ad from public.ad_status_change_log where platform_entity_id = 'tail-ad' and ad_account_id = :'acct' \gset
select id as log_ad2 from public.ad_status_change_log where platform_entity_id = 'tail-ad2' and ad_account_id = :'acct' \gset
select is((select settles_at - created_at from public.ad_status_change_log where id = :log_ad),
  interval '28 days', 'the tail settles 28 days after the change');
select is_empty(
  format($$ select * from public.claim_attribution_tails('run-1', %L, read_every_seconds => 0) $$, :'acct'),
  'no tail read before the final sync is done');

select public.complete_final_sync(:log_ad, '[{"date": "2026-11-20", "impressions": 100, "conversions": 1}]');
select public.complete_final_sync(:log_ad2, '[]');
select is_empty(
  format($$ select * from public.claim_attribution_tails('run-1', %L, read_every_seconds => 3600) $$, :'acct'),
  'the final sync was the first read: none due within the interval');

-- ---------------------------------------------------------------------------------------------
-- Claims and re-reads
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select platform_entity_id from public.claim_attribution_tails('run-1', %L, read_every_seconds => 0) order by 1 $$, :'acct'),
  $$ values ('tail-ad'), ('tail-ad2') $$,
  'due tails are claimed');
select is_empty(
  format($$ select * from public.claim_attribution_tails('run-2', %L, read_every_seconds => 0) $$, :'acct'),
  'a second run gets none of them');
select throws_ok(
  format($$ select public.record_attribution_tail_read(%s, '[]', 'run-2') $$, :log_ad),
  'ADR02', format('final sync %s is not claimed by run-2', :log_ad),
  'a run that does not hold the claim writes nothing');
select lives_ok(
  format($$ select public.record_attribution_tail_read(%s, '[{"date": "2026-11-20", "impressions": 100, "conversions": 5}]', 'run-1') $$, :log_ad),
  'the claimant records its re-read');
select is(
  (select conversions from public.ad_metrics_daily where platform_entity_id = 'tail-ad' and ad_account_id = :'acct' and date = '2026-11-20'),
  5::numeric, 'the restated day is overwritten');
select results_eq(
  format($$ select tail_reads, tail_read_at is not null, settled_at is null, locked_by is null from public.ad_status_change_log where id = %s $$, :log_ad),
  $$ values (1, true, true, true) $$,
  'one read counted, the tail still open, the claim released');

select lives_ok(
  format($$ select public.release_attribution_tail(%s, 'meta_unavailable: no answer', 'run-1') $$, :log_ad2),
  'a failed re-read releases the claim');
select results_eq(
  format($$ select tail_reads, tail_error, locked_by is null from public.ad_status_change_log where id = %s $$, :log_ad2),
  $$ values (0, 'meta_unavailable: no answer', true) $$,
  'with its error, nothing read');
select results_eq(
  format($$ select tail_read_at is null, tail_attempted_at is not null, settled_at is null from public.ad_status_change_log where id = %s $$, :log_ad2),
  $$ values (true, true, true) $$,
  'the tail stays open, due as if the read had not happened, its attempt noted');
-- Fixture: tail-ad2 was last attempted an hour ago, tail-ad just now.
update public.ad_status_change_log set tail_attempted_at = now() - interval '1 hour' where id = :log_ad2;
select results_eq(
  format($$ select platform_entity_id from public.claim_attribution_tails('run-3', %L, max_rows => 1, read_every_seconds => 0) $$, :'acct'),
  $$ values ('tail-ad2') $$,
  'the least recently attempted tail is claimed first: a failing one never starves the rest');
select public.release_attribution_tail(:log_ad2, null, 'run-3');
select is_empty(
  format($$ select * from public.claim_attribution_tails('run-3', %L, read_every_seconds => 0,
            attempted_before => now() - interval '2 hours') $$, :'acct'),
  'with attempted_before, tails attempted since are not claimed again (a run claiming page after page)');

-- ---------------------------------------------------------------------------------------------
-- Settling
-- ---------------------------------------------------------------------------------------------
-- Fixture: 28 days have passed since tail-ad's change.
update public.ad_status_change_log set settles_at = now() - interval '1 second' where id = :log_ad;
select results_eq(
  format($$ select platform_entity_id from public.claim_attribution_tails('run-4', %L, read_every_seconds => 0) order by 1 $$, :'acct'),
  $$ values ('tail-ad'), ('tail-ad2') $$,
  'a tail past settles_at is read once more');
select ok(
  (public.record_attribution_tail_read(:log_ad, '[]', 'run-4')).settled_at is not null,
  'that read settles it');
select public.release_attribution_tail(:log_ad2, null, 'run-4');
select results_eq(
  format($$ select platform_entity_id from public.claim_attribution_tails('run-5', %L, read_every_seconds => 0) $$, :'acct'),
  $$ values ('tail-ad2') $$,
  'a settled tail is never claimed again');
select throws_ok(
  format($$ select public.record_attribution_tail_read(%s, '[]', null) $$, :log_ad),
  'ADR15', format('status change %s has no open attribution tail', :log_ad),
  'nor re-read');
select throws_ok(
  $$ select public.record_attribution_tail_read(-1, '[]', 'run-5') $$,
  'ADR04', 'status change log row -1 not found',
  'a row that does not exist');
select public.release_attribution_tail(:log_ad2, null, 'run-5');

-- ---------------------------------------------------------------------------------------------
-- A newer stop supersedes the tail
-- ---------------------------------------------------------------------------------------------
update public.ads set status = 'ACTIVE' where platform_ad_id = 'tail-ad2';
update public.ads set status = 'PAUSED' where platform_ad_id = 'tail-ad2';
select results_eq(
  format($$ select settled_at is not null, (metadata ->> 'superseded_by')::bigint is not null
            from public.ad_status_change_log where id = %s $$, :log_ad2),
  $$ values (true, true) $$,
  'the older tail is settled, superseded');
select results_eq(
  format($$ select new_status, settled_at is null, settles_at - created_at from public.ad_status_change_log
            where platform_entity_id = 'tail-ad2' and ad_account_id = %L and requires_final_sync and id <> %s $$, :'acct', :log_ad2),
  $$ values ('PAUSED', true, interval '28 days') $$,
  'the newer stop opens its own');
select is_empty(
  format($$ select * from public.claim_attribution_tails('run-6', %L, read_every_seconds => 0) $$, :'acct'),
  'its tail waits for its own final sync');
select results_eq(
  format($$ select count(*)::int from public.get_entities_needing_final_sync(%L) $$, :'acct'),
  $$ values (1) $$,
  'which is owed');

select * from finish();
rollback;
