-- Final-sync functions: get_entities_needing_final_sync, mark_final_sync_completed,
-- claim_final_syncs and complete_final_sync (one transaction: metrics, log row, entity stamp;
-- a failure leaves nothing written). Every query is filtered on this file's own accounts.
begin;
select plan(42);

select tests.create_supabase_user('fsf_owner') as owner_id \gset
select tests.create_supabase_user('fsf_stranger') as stranger_id \gset
select tests.create_ad_account('fsf_owner', 'act_91000101') as acct_a \gset
select tests.create_ad_account('fsf_owner', 'act_91000102') as acct_b \gset

-- Account A: a campaign, two ad sets and three ads leave ACTIVE; one campaign comes back to
-- ACTIVE (logged, no final sync). Account B: one ad leaves ACTIVE.
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status) values
  (:'acct_a', 'fsf-c', 'c', 'ACTIVE'), (:'acct_a', 'fsf-c2', 'c2', 'PAUSED');
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values
  (:'acct_a', 'fsf-as', 'as', 'ACTIVE'), (:'acct_a', 'fsf-as2', 'as2', 'ACTIVE');
insert into public.ads (ad_account_id, platform_ad_id, name, status) values
  (:'acct_a', 'fsf-ad', 'ad', 'ACTIVE'), (:'acct_a', 'fsf-ad2', 'ad2', 'ACTIVE'),
  (:'acct_a', 'fsf-ad3', 'ad3', 'ACTIVE'), (:'acct_b', 'fsf-b-ad', 'b-ad', 'ACTIVE');

update public.ad_campaigns set status = 'PAUSED' where platform_campaign_id = 'fsf-c';
update public.ad_sets set status = 'ARCHIVED' where platform_ad_set_id = 'fsf-as';
update public.ads set status = 'DELETED' where platform_ad_id = 'fsf-ad';
update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'fsf-c2';
update public.ads set status = 'PAUSED' where platform_ad_id = 'fsf-b-ad';
-- fsf-ad's change is the oldest: listed and claimed first.
update public.ad_status_change_log set created_at = now() - interval '1 hour'
where ad_account_id = :'acct_a' and platform_entity_id = 'fsf-ad';

select id as log_c from public.ad_status_change_log where platform_entity_id = 'fsf-c' and ad_account_id = :'acct_a' \gset
select id as log_as from public.ad_status_change_log where platform_entity_id = 'fsf-as' and ad_account_id = :'acct_a' \gset
select id as log_ad from public.ad_status_change_log where platform_entity_id = 'fsf-ad' and ad_account_id = :'acct_a' \gset
select id as log_b_ad from public.ad_status_change_log where platform_entity_id = 'fsf-b-ad' and ad_account_id = :'acct_b' \gset

-- ---------------------------------------------------------------------------------------------
-- get_entities_needing_final_sync
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select entity_type, platform_entity_id from public.get_entities_needing_final_sync(%L) $$, :'acct_a'),
  $$ values ('ad', 'fsf-ad'), ('campaign', 'fsf-c'), ('ad_set', 'fsf-as') $$,
  'without entity_type: every pending final sync of the account, oldest first; a change back to ACTIVE is not listed'
);
select results_eq(
  format($$ select entity_type, platform_entity_id from public.get_entities_needing_final_sync(%L, 'ad_set') $$, :'acct_a'),
  $$ values ('ad_set', 'fsf-as') $$,
  'entity_type ad_set: only the ad set'
);
select results_eq(
  format($$ select entity_type, platform_entity_id from public.get_entities_needing_final_sync(%L, 'campaign') $$, :'acct_a'),
  $$ values ('campaign', 'fsf-c') $$,
  'entity_type campaign: only the campaign that left ACTIVE'
);
select results_eq(
  format($$ select entity_type, platform_entity_id from public.get_entities_needing_final_sync(%L, entity_type => 'ad') $$, :'acct_a'),
  $$ values ('ad', 'fsf-ad') $$,
  'entity_type ad (named argument): only the ad'
);
select results_eq(
  format($$ select entity_type, platform_entity_id from public.get_entities_needing_final_sync(%L) $$, :'acct_b'),
  $$ values ('ad', 'fsf-b-ad') $$,
  'another account lists only its own pending final syncs'
);

-- It runs as the caller: RLS applies.
select tests.authenticate_as('fsf_owner');
select is(
  (select count(*)::int from public.get_entities_needing_final_sync(tests.get_ad_account_id('act_91000101'))),
  3, 'a member of the account gets its pending final syncs');
select tests.authenticate_as('fsf_stranger');
select is_empty(
  $$ select * from public.get_entities_needing_final_sync(tests.get_ad_account_id('act_91000101')) $$,
  'a non-member gets nothing for the account');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- mark_final_sync_completed
-- ---------------------------------------------------------------------------------------------
-- The operator form (no worker token) writes only where no live claim holds the row: here the
-- claim of 'w-mark' expired (final_sync_fence.test.sql covers the live and claimant cases).
update public.ad_status_change_log set locked_by = 'w-mark', locked_until = now() - interval '1 second'
where id = :log_as;

select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts, final_sync_attempted_at = now(),
                   locked_by, locked_until
            from public.mark_final_sync_completed(%s, false, 'Graph API timeout') $$, :log_as),
  $$ values (false, 'Graph API timeout'::text, 1, true, null::text, null::timestamptz) $$,
  'a failed attempt: not completed, error and attempt recorded, the expired claim released'
);
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts from public.ad_status_change_log where id = %s $$, :log_as),
  $$ values (false, 'Graph API timeout'::text, 1) $$,
  'the failed attempt is stored'
);
select results_eq(
  format($$ select platform_entity_id from public.get_entities_needing_final_sync(%L, 'ad_set') $$, :'acct_a'),
  $$ values ('fsf-as') $$,
  'after a failed attempt the final sync is still owed'
);
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts from public.mark_final_sync_completed(%s, false) $$, :log_as),
  $$ values (false, 'final sync failed'::text, 2) $$,
  'a failure without an error message records a default one and counts the attempt'
);
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts, final_sync_attempted_at = now()
            from public.mark_final_sync_completed(%s, true) $$, :log_as),
  $$ values (true, null::text, 3, true) $$,
  'a successful attempt: completed, error cleared, attempt counted'
);
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts from public.ad_status_change_log where id = %s $$, :log_as),
  $$ values (true, null::text, 3) $$,
  'the success is stored'
);
select is_empty(
  format($$ select * from public.get_entities_needing_final_sync(%L, 'ad_set') $$, :'acct_a'),
  'a completed final sync is no longer listed');
select throws_ok(
  'select public.mark_final_sync_completed(-1, true)',
  'ADR04', 'status change log row -1 not found',
  'marking a log row that does not exist raises ADR04');

-- ---------------------------------------------------------------------------------------------
-- claim_final_syncs. Pending in A now: fsf-ad (oldest), fsf-c, then fsf-ad2, fsf-ad3, fsf-as2.
-- ---------------------------------------------------------------------------------------------
update public.ads set status = 'PAUSED' where platform_ad_id in ('fsf-ad2', 'fsf-ad3');
update public.ad_sets set status = 'PAUSED' where platform_ad_set_id = 'fsf-as2';
select id as log_ad2 from public.ad_status_change_log where platform_entity_id = 'fsf-ad2' and ad_account_id = :'acct_a' \gset
select id as log_ad3 from public.ad_status_change_log where platform_entity_id = 'fsf-ad3' and ad_account_id = :'acct_a' \gset
select id as log_as2 from public.ad_status_change_log where platform_entity_id = 'fsf-as2' and ad_account_id = :'acct_a' \gset

select results_eq(
  format($$ select platform_entity_id, locked_by, locked_until = now() + interval '300 seconds'
            from public.claim_final_syncs('w1', %L, 2, 300) order by created_at, id $$, :'acct_a'),
  $$ values ('fsf-ad', 'w1', true), ('fsf-c', 'w1', true) $$,
  'claims up to max_rows pending rows of the account, oldest first, with the worker token and lease'
);
select results_eq(
  format($$ select platform_entity_id, locked_by from public.ad_status_change_log where id in (%s, %s) order by created_at, id $$, :log_ad, :log_c),
  $$ values ('fsf-ad', 'w1'), ('fsf-c', 'w1') $$,
  'the claim is stored on the log rows'
);
select results_eq(
  format($$ select platform_entity_id from public.claim_final_syncs('w2', %L, 100, 60) order by id $$, :'acct_a'),
  $$ values ('fsf-ad2'), ('fsf-ad3'), ('fsf-as2') $$,
  'a second claimer skips rows already claimed, completed rows and changes that need no final sync'
);
select is_empty(
  format($$ select * from public.claim_final_syncs('w3', %L) $$, :'acct_a'),
  'when every pending row is claimed, nothing is left to claim');
select is(
  (select locked_by from public.ad_status_change_log where id = :log_b_ad),
  null,
  'claims for account A left account B''s row alone');
select results_eq(
  format($$ select platform_entity_id, locked_by from public.claim_final_syncs('w5', null, 2147483647)
            where ad_account_id in (%L, %L) $$, :'acct_a', :'acct_b'),
  $$ values ('fsf-b-ad', 'w5') $$,
  'without an account, claims across accounts (here: B''s still unclaimed row)'
);
update public.ad_status_change_log set locked_until = now() - interval '1 second' where id = :log_c;
select results_eq(
  format($$ select platform_entity_id, locked_by from public.claim_final_syncs('w6', %L) $$, :'acct_a'),
  $$ values ('fsf-c', 'w6') $$,
  'an expired claim is taken over by the next claimer, and only that one'
);

-- ---------------------------------------------------------------------------------------------
-- complete_final_sync. Claims now: fsf-ad w1, fsf-c w6, fsf-ad2/fsf-ad3/fsf-as2 w2, fsf-b-ad w5.
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select final_sync_completed, final_sync_error, final_sync_attempts, final_sync_attempted_at = now(),
                   locked_by, locked_until, metadata ->> 'final_sync_days'
            from public.complete_final_sync(%s, %L::jsonb, 'w1') $$, :log_ad,
         '[{"date": "2026-11-20", "impressions": 1000, "clicks": 50, "spend": 12.34, "reach": 800, "conversions": 3,
            "actions": [{"action_type": "purchase", "value": "3"}]},
           {"date": "2026-11-21", "impressions": 400, "clicks": 10, "spend": 5.5}]'),
  $$ values (true, null::text, 1, true, null::text, null::timestamptz, '2') $$,
  'the claimant completes: log row completed, attempt counted, claim released, days recorded'
);
select results_eq(
  format($$ select entity_type, platform_entity_id, ad_account_id, date, impressions, clicks, spend, reach, conversions, actions, synced_at = now()
            from public.ad_metrics_daily where platform_entity_id = 'fsf-ad' and ad_account_id = %L order by date $$, :'acct_a'),
  format($$ values ('ad'::text, 'fsf-ad'::text, %L::uuid, '2026-11-20'::date, 1000::bigint, 50::bigint, 12.34::numeric, 800::bigint, 3::numeric,
                    '[{"action_type": "purchase", "value": "3"}]'::jsonb, true),
                   ('ad', 'fsf-ad', %L::uuid, '2026-11-21', 400, 10, 5.50, 0, 0, '[]'::jsonb, true) $$, :'acct_a', :'acct_a'),
  'the final metrics are upserted, one row per day, missing fields as zero'
);
select results_eq(
  format($$ select last_final_sync_at = now() from public.ads where platform_ad_id = 'fsf-ad' $$),
  $$ values (true) $$,
  'the ad''s last_final_sync_at is stamped'
);

select lives_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 7}]', 'w6') $$, :log_c),
  'the campaign''s final sync completes');
select lives_ok(
  format($$ select public.complete_final_sync(%s, '[]', 'w2') $$, :log_as2),
  'an ad set''s final sync completes with no metrics');
select results_eq(
  format($$ select 'campaign', platform_campaign_id from public.ad_campaigns where ad_account_id = %1$L and last_final_sync_at = now()
            union all select 'ad_set', platform_ad_set_id from public.ad_sets where ad_account_id = %1$L and last_final_sync_at = now()
            union all select 'ad', platform_ad_id from public.ads where ad_account_id = %1$L and last_final_sync_at = now()
            union all select 'unstamped-elsewhere', 'x' where exists (
              select 1 from public.ad_campaigns where ad_account_id = %1$L and last_final_sync_at is not null and platform_campaign_id <> 'fsf-c'
              union all select 1 from public.ad_sets where ad_account_id = %1$L and last_final_sync_at is not null and platform_ad_set_id <> 'fsf-as2'
              union all select 1 from public.ads where ad_account_id = %1$L and last_final_sync_at is not null and platform_ad_id <> 'fsf-ad') $$,
         :'acct_a'),
  $$ values ('campaign', 'fsf-c'), ('ad_set', 'fsf-as2'), ('ad', 'fsf-ad') $$,
  'last_final_sync_at is stamped on the right table and row for each entity type, and nowhere else'
);
select results_eq(
  format($$ select final_sync_completed, metadata ->> 'final_sync_days' from public.ad_status_change_log where id = %s $$, :log_as2),
  $$ values (true, '0') $$,
  'completing with no metrics still completes the log row'
);

-- A restated day: the sync already stored 2026-11-20 for fsf-ad2; the final sync overwrites it.
insert into public.ad_metrics_daily (entity_type, platform_entity_id, ad_account_id, date, impressions, clicks, spend)
values ('ad', 'fsf-ad2', :'acct_a', '2026-11-20', 10, 1, 1.00);
select lives_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 25, "clicks": 2, "spend": 3.5},
                                                   {"date": "2026-11-21", "impressions": 5}]', 'w2') $$, :log_ad2),
  'a final sync over a day already stored succeeds');
select results_eq(
  format($$ select date, impressions, clicks, spend from public.ad_metrics_daily
            where platform_entity_id = 'fsf-ad2' and ad_account_id = %L order by date $$, :'acct_a'),
  $$ values ('2026-11-20'::date, 25::bigint, 2::bigint, 3.50::numeric), ('2026-11-21', 5, 0, 0) $$,
  'the restated day is overwritten in place (one row per day), the new day added'
);

-- Not the claimant.
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 1}]', 'w-intruder') $$, :log_ad3),
  'ADR02', format('final sync %s is not claimed by w-intruder', :log_ad3),
  'another worker cannot complete a final sync claimed by someone else (ADR02)');
select results_eq(
  format($$ select l.final_sync_completed, l.final_sync_attempts, l.locked_by,
                   (select count(*)::int from public.ad_metrics_daily m where m.platform_entity_id = 'fsf-ad3' and m.ad_account_id = %L),
                   (select a.last_final_sync_at from public.ads a where a.platform_ad_id = 'fsf-ad3')
            from public.ad_status_change_log l where l.id = %s $$, :'acct_a', :log_ad3),
  $$ values (false, 0, 'w2'::text, 0, null::timestamptz) $$,
  'the refused completion wrote nothing: no metrics, log row pending and still claimed, entity not stamped'
);
select throws_ok(
  $$ select public.complete_final_sync(-1, '[]', 'w1') $$,
  'ADR04', 'status change log row -1 not found',
  'completing a log row that does not exist raises ADR04');

-- Failure midway, in the metrics: the last element breaks a check constraint.
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 5, "spend": 1},
                                                   {"date": "2026-11-21", "impressions": -1}]', 'w5') $$, :log_b_ad),
  '23514', 'new row for relation "ad_metrics_daily" violates check constraint "ad_metrics_daily_impressions_check"',
  'metrics whose last element violates a check constraint make the whole call fail');
select results_eq(
  format($$ select l.final_sync_completed, l.final_sync_attempts, l.final_sync_attempted_at, l.locked_by,
                   (select count(*)::int from public.ad_metrics_daily m where m.platform_entity_id = 'fsf-b-ad' and m.ad_account_id = %L),
                   (select a.last_final_sync_at from public.ads a where a.platform_ad_id = 'fsf-b-ad')
            from public.ad_status_change_log l where l.id = %s $$, :'acct_b', :log_b_ad),
  $$ values (false, 0, null::timestamptz, 'w5'::text, 0, null::timestamptz) $$,
  'nothing half-written: no metric row (not even the valid first day), log still pending, last_final_sync_at null'
);

-- Failure midway, at the very end: stamping the entity fails after metrics and log row were written.
create function tests.fsf_refuse_stamp() returns trigger language plpgsql as $$
begin
  raise exception 'stamp refused for %', new.platform_ad_id using errcode = 'P0001';
end;
$$;
create trigger fsf_refuse_stamp before update of last_final_sync_at on public.ads
  for each row when (new.platform_ad_id = 'fsf-ad3') execute function tests.fsf_refuse_stamp();
select throws_ok(
  format($$ select public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 9}]', 'w2') $$, :log_ad3),
  'P0001', 'stamp refused for fsf-ad3',
  'a failure in the last step (stamping the entity) makes the whole call fail');
select results_eq(
  format($$ select l.final_sync_completed, l.final_sync_attempts, l.final_sync_attempted_at, l.locked_by, l.metadata ? 'final_sync_days',
                   (select count(*)::int from public.ad_metrics_daily m where m.platform_entity_id = 'fsf-ad3' and m.ad_account_id = %L),
                   (select a.last_final_sync_at from public.ads a where a.platform_ad_id = 'fsf-ad3')
            from public.ad_status_change_log l where l.id = %s $$, :'acct_a', :log_ad3),
  $$ values (false, 0, null::timestamptz, 'w2'::text, false, 0, null::timestamptz) $$,
  'nothing half-written: the metrics and the log update made before the failure are gone too'
);
drop trigger fsf_refuse_stamp on public.ads;

-- After the failures the same claimant can retry and succeed.
select results_eq(
  format($$ select final_sync_completed, final_sync_attempts from public.complete_final_sync(%s, '[{"date": "2026-11-20", "impressions": 5}]', 'w5') $$, :log_b_ad),
  $$ values (true, 1) $$,
  'a retry after the failed call completes'
);
select results_eq(
  format($$ select date, impressions from public.ad_metrics_daily where platform_entity_id = 'fsf-b-ad' and ad_account_id = %L $$, :'acct_b'),
  $$ values ('2026-11-20'::date, 5::bigint) $$,
  'and writes exactly its metrics'
);
select is_empty(
  format($$ select * from public.get_entities_needing_final_sync(%L) where id in (%s, %s, %s, %s, %s) $$,
         :'acct_a', :log_ad, :log_c, :log_as, :log_ad2, :log_as2),
  'every completed final sync left the work list; only the refused one (fsf-ad3) remains owed');
select results_eq(
  format($$ select platform_entity_id from public.get_entities_needing_final_sync(%L) $$, :'acct_a'),
  $$ values ('fsf-ad3') $$,
  'fsf-ad3 is still owed after its failed attempts'
);

select * from finish();
rollback;
