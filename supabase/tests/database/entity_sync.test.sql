-- Mirroring from the platform: sync_ad_entities (parents linked, statuses upserted, the
-- triggers firing), upsert_daily_metrics (restated days overwritten), and
-- recover_stalled_creation_jobs (leases of dead workers freed).
begin;
select plan(14);

select tests.create_supabase_user('es_owner') as owner_id \gset
select tests.create_ad_account('es_owner', 'act_91000501') as acct \gset

-- ---------------------------------------------------------------------------------------------
-- sync_ad_entities
-- ---------------------------------------------------------------------------------------------
select is(
  public.sync_ad_entities(:'acct',
    '[{"id": "es-c1", "name": "C", "status": "ACTIVE", "effective_status": "ACTIVE", "objective": "OUTCOME_SALES"}]',
    '[{"id": "es-s1", "name": "S", "status": "ACTIVE", "effective_status": "ACTIVE", "campaign_id": "es-c1"}]',
    '[{"id": "es-a1", "name": "A1", "status": "ACTIVE", "effective_status": "ACTIVE", "adset_id": "es-s1", "creative": {"id": "cr1"}},
      {"id": "es-a2", "name": "A2", "status": "ACTIVE", "effective_status": "ACTIVE", "adset_id": "es-s1", "creative": {"id": "cr1"}}]'),
  '{"campaigns": 1, "adSets": 1, "ads": 2, "statusChanges": 0}'::jsonb,
  'a first sync inserts the entities and logs no status change');
select results_eq(
  $$ select s.platform_campaign_id, c.platform_campaign_id, a.platform_ad_set_id, a.creative_id, a.last_synced_at is not null
     from public.ads a join public.ad_sets s on s.id = a.ad_set_id join public.ad_campaigns c on c.id = s.campaign_id
     where a.platform_ad_id = 'es-a1' $$,
  $$ values ('es-c1'::text, 'es-c1'::text, 'es-s1'::text, 'cr1'::text, true) $$,
  'ads are linked to their ad set, ad sets to their campaign, by platform id');
select is((select objective from public.ad_campaigns where platform_campaign_id = 'es-c1'), 'OUTCOME_SALES', 'campaign fields are kept');

select is(
  public.sync_ad_entities(:'acct', '[]', '[]',
    '[{"id": "es-a1", "name": "A1 renamed", "status": "ACTIVE", "effective_status": "ACTIVE", "adset_id": "es-s1"},
      {"id": "es-a2", "name": "A2", "status": "DELETED", "effective_status": "DELETED", "adset_id": "es-s1"}]'),
  '{"campaigns": 0, "adSets": 0, "ads": 2, "statusChanges": 1}'::jsonb,
  'a later sync upserts: one status changed, one only renamed');
select results_eq(
  $$ select entity_type, platform_entity_id, old_status, new_status, requires_final_sync
     from public.ad_status_change_log l join public.ad_accounts a on a.id = l.ad_account_id
     where a.platform_account_id = 'act_91000501' $$,
  $$ values ('ad'::text, 'es-a2'::text, 'ACTIVE'::text, 'DELETED'::text, true) $$,
  'the status change fired the trigger and flagged a final sync');
select results_eq(
  $$ select name, status, previous_status from public.ads where platform_ad_id in ('es-a1', 'es-a2') order by platform_ad_id $$,
  $$ values ('A1 renamed'::text, 'ACTIVE'::text, null::text), ('A2', 'DELETED', 'ACTIVE') $$,
  'names and statuses are updated in place');

-- ---------------------------------------------------------------------------------------------
-- upsert_daily_metrics
-- ---------------------------------------------------------------------------------------------
select is(
  public.upsert_daily_metrics(:'acct', '[
    {"entity_type": "ad", "platform_entity_id": "es-a1", "date": "2026-11-01", "impressions": 100, "clicks": 3, "spend": 1.5, "reach": 80, "conversions": 0, "actions": []},
    {"entity_type": "ad", "platform_entity_id": "es-a1", "date": "2026-11-02", "impressions": 50}]'),
  2, 'two daily rows written');
select is(
  public.upsert_daily_metrics(:'acct', '[
    {"entity_type": "ad", "platform_entity_id": "es-a1", "date": "2026-11-02", "impressions": 70, "conversions": 2}]'),
  1, 'a restated day is written again');
select results_eq(
  $$ select date::text, impressions, clicks, conversions from public.ad_metrics_daily
     where platform_entity_id = 'es-a1' order by date $$,
  $$ values ('2026-11-01'::text, 100::bigint, 3::bigint, 0::numeric), ('2026-11-02', 70, 0, 2) $$,
  'the latest read of a day wins; missing numbers are 0');
select throws_ok(
  $$ select public.upsert_daily_metrics(gen_random_uuid(), '[{"entity_type": "ad", "platform_entity_id": "x", "date": "2026-11-01"}]') $$,
  '23503', null, 'metrics of an unknown account are refused');

-- ---------------------------------------------------------------------------------------------
-- recover_stalled_creation_jobs
-- ---------------------------------------------------------------------------------------------
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as dead from public.create_campaign_creation_job(:'owner_id', :'acct', 'dead worker', 1, 1, '{}', 'h') \gset
select id as alive from public.create_campaign_creation_job(:'owner_id', :'acct', 'live worker', 1, 1, '{}', 'h') \gset
select tests.advance_job(:dead, 'verifying', 'in_progress');
update public.campaign_creation_jobs set locked_by = 'gone', locked_until = now() - interval '1 minute',
  next_run_at = now() + interval '1 hour' where id = :dead;
update public.campaign_creation_jobs set locked_by = 'busy', locked_until = now() + interval '1 minute' where id = :alive;

select is(public.recover_stalled_creation_jobs() >= 1, true, 'the stalled job is recovered');
select results_eq(
  format($$ select locked_by, locked_until, next_run_at <= now(), status from public.campaign_creation_jobs where id = %s $$, :dead),
  $$ values (null::text, null::timestamptz, true, 'in_progress'::text) $$,
  'its lease is freed and it is due at once, its status untouched');
select results_eq(
  format($$ select locked_by from public.campaign_creation_jobs where id = %s $$, :alive),
  $$ values ('busy'::text) $$,
  'a job whose worker still holds a live lease is left alone');
select is(
  (select id from public.claim_campaign_creation_job('resumer')), :dead::bigint,
  'the next claim resumes the recovered job');

select * from finish();
rollback;
