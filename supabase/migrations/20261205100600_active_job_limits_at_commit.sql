-- The active-jobs limits (ADR09) are checked when a new job's transaction commits, not when its row
-- is inserted. The check serializes per user and per account on locks held until the commit: taken
-- at the insert, they were held over the job's slots, its budget reservation and its verification
-- link too, so one bulk client's launches queued behind each other's writes (8.5 ms a launch on
-- the lock alone at 100 launches at once, pg_stat_statements). At the commit, only the two counts
-- are serialized. Each count still sees every job committed before it, and the new one: the same
-- guarantee, a shorter critical section. A transaction that wants the error at the insert sets
-- `set constraints enforce_active_job_limits immediate` first (the pgTAP tests do).

drop trigger if exists enforce_active_job_limits on public.campaign_creation_jobs;
create constraint trigger enforce_active_job_limits after insert on public.campaign_creation_jobs
  deferrable initially deferred
  for each row execute function private.enforce_active_job_limits();

comment on function private.enforce_active_job_limits() is
  'When a transaction that created a creation job commits: ADR09 (the transaction undone) when its user or its ad account now has more jobs under way than its limit (adrail_limits active_jobs), serialized per user and per account. After the insert, so that row-level security refuses a client first and an idempotent replay that inserts nothing is never counted; at the commit, so that the locks are held only over the counts.';
