-- The status-change log's account key had no index of its own: only partial ones (owed and open
-- final syncs), so deleting an ad account (the key cascades) and sync_ad_entities' count of the
-- changes a sync just logged (account and created_at, after every sync) read the whole log, which
-- is never pruned. Supabase's linter lists it (0001 unindexed_foreign_keys; schema_lint.test.sql).
create index if not exists ad_status_change_log_account_created_idx
  on public.ad_status_change_log (ad_account_id, created_at);
comment on index public.ad_status_change_log_account_created_idx is
  'Covers the ad_account_id foreign key (cascading deletes) and sync_ad_entities'' count of the changes a sync logged (account, created_at).';
