-- A creation job is updated some twenty times per launch (claims, lease heartbeats, counts,
-- transitions), and touch_updated_at changes updated_at every time: with updated_at indexed
-- (campaign_creation_jobs_status_updated_idx, which no worker query uses), not one of those
-- updates could be a HOT update, so each put a new entry into every one of the table's indexes,
-- and the claim and next-due scans of campaign_creation_jobs_claimable_idx read hundreds of dead
-- entries each. Without it, an update that leaves status, next_run_at and the other keys alone
-- (a heartbeat, a claim keeping its time, a count refresh) stays on its page and in no index.
-- The operators' views (stuck_creation_jobs) filter on status first: the partial indexes on the
-- jobs under way serve them.

drop index if exists public.campaign_creation_jobs_status_updated_idx;
