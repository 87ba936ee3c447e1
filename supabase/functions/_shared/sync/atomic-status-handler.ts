// Zero metric loss on status changes: for each status change that owes a final sync, read the
// entity's daily metrics up to the moment of the change (by its own id, which Meta answers even
// for deleted and archived entities) and save them with complete_final_sync, which upserts the
// metrics, marks the log row completed and stamps the entity in one transaction. Rows are
// claimed first (skip locked), so two runs never process the same change; a failure is recorded
// on the row, which stays pending for the next run. Every write names the run's claim token: when
// another run took a row over after our claim expired, the database refuses (ADR02) and this run
// leaves that row alone, having written nothing. A failure is recorded as one of adrail's error
// codes and a message members may read (the platform's words, never a database error's text: that
// goes to the log only, under an id the message names).
//
// The metrics come from a MetricsFetcher, one per platform, passed in by the caller: an account's
// pending changes are read a fetcher's batch at a time (Meta: 50 per Graph request), accounts
// concurrently.
import { db, type EntityType, sqlState } from "../platform/db.ts";
import { rangeEndingAt } from "../meta/insights.ts";
import { log } from "../platform/log.ts";
import type { WorkBudget } from "../platform/run-budget.ts";
import {
  claimantWrite,
  type ClaimedChange,
  metricsUnread,
  readClaimedChanges,
  releaseClaims,
} from "./metrics-batches.ts";
import type { MetricData, MetricsFetcher, MetricsResult } from "./metrics-fetcher.ts";

export type { MetricData, MetricsFetcher };

export type FinalSyncOutcome = {
  logId: number;
  entityType: string;
  platformEntityId: string;
  completed: boolean;
  days?: number;
  /** `<error code>: <message>`, as the log row's final_sync_error keeps it. */
  error?: string;
  /** Another run holds the row now (our claim expired and was taken over): nothing was written. */
  claimLost?: true;
};

export type FinalSyncReport = {
  claimed: number;
  completed: number;
  failed: number;
  /** Claimed, not reached before the budget was spent: released for the next run. */
  deferred: number;
  metricDays: number;
  accounts: number;
  outcomes: FinalSyncOutcome[];
};

export type FinalSyncOptions = {
  /** The metrics fetcher of an account (its internal id), for its platform. */
  fetcherFor: (adAccountId: string) => Promise<MetricsFetcher>;
  /** Only this account's changes (its internal id); all accounts when absent. */
  adAccountId?: string;
  /** Days of metrics read up to the change, the day of the change included. */
  lookbackDays: number;
  /** The most changes one run claims. */
  maxRows?: number;
  /** Accounts read at once (each account's batches go one after another). */
  concurrency?: number;
  /** The run's budget: no batch is read once it is spent (all of them without one). */
  budget?: WorkBudget;
};

/** A status-change log row owing a final sync, as claim_final_syncs hands it to a run. */
export type PendingFinalSync = ClaimedChange;

function claimLost(change: ClaimedChange): FinalSyncOutcome {
  return {
    ...describe(change),
    completed: false,
    error: "claim lost to another run",
    claimLost: true,
  };
}

/**
 * The database refused to save the metrics: the details go to the log under an id, and the row
 * says only that, with the id.
 */
function notSaved(change: ClaimedChange, worker: string, error: unknown): string {
  const errorId = crypto.randomUUID();
  log.error("final sync not saved", {
    logId: Number(change.id),
    worker,
    errorId,
    sqlState: sqlState(error),
    error: error instanceof Error ? error.message : String(error),
  });
  return `internal: the metrics could not be saved (error id ${errorId}, in the log)`;
}

/**
 * Records one attempt's outcome on the row claimed by `worker` and releases the claim; false when
 * another run holds the row now (nothing written).
 */
export async function markFinalSyncCompleted(
  change: PendingFinalSync,
  worker: string,
  success: boolean,
  error: string | null = null,
): Promise<boolean> {
  return await claimantWrite(
    change,
    worker,
    "final sync",
    () =>
      db()`select public.mark_final_sync_completed(${change.id}, ${success}, ${error}, ${worker})`,
  );
}

async function recordFailure(
  change: ClaimedChange,
  worker: string,
  error: string,
): Promise<FinalSyncOutcome> {
  return await markFinalSyncCompleted(change, worker, false, error)
    ? { ...describe(change), completed: false, error }
    : claimLost(change);
}

function describe(change: ClaimedChange) {
  return {
    logId: Number(change.id),
    entityType: change.entity_type,
    platformEntityId: change.platform_entity_id,
  };
}

/** Whether a change from `oldStatus` to `newStatus` owes a final sync (the triggers' rule, in SQL). */
export async function requiresFinalSync(oldStatus: string, newStatus: string): Promise<boolean> {
  const [{ required }] = await db()<{ required: boolean }[]>`
    select public.requires_final_sync(${oldStatus}, ${newStatus}) as required`;
  return required;
}

/** The account's status changes still owing a final sync, oldest first (claimed or not). */
export async function getEntitiesNeedingFinalSync(
  adAccountId: string,
  entityType: EntityType | null = null,
): Promise<PendingFinalSync[]> {
  return await db()<PendingFinalSync[]>`
    select id, ad_account_id, entity_type, platform_entity_id, created_at
    from public.get_entities_needing_final_sync(${adAccountId}, ${entityType})`;
}

const metricsRequest = (change: ClaimedChange, lookbackDays: number) => ({
  entityType: change.entity_type,
  platformEntityId: change.platform_entity_id,
  range: rangeEndingAt(change.created_at, lookbackDays),
});

/** Saves what the fetcher answered for one claimed change: its metrics, or the failure. */
async function saveFinalSync(
  change: ClaimedChange,
  worker: string,
  metrics: MetricsResult,
): Promise<FinalSyncOutcome> {
  if (!metrics.ok) return await recordFailure(change, worker, metricsUnread(metrics.error));
  const sql = db();
  try {
    const owned = await claimantWrite(
      change,
      worker,
      "final sync",
      () =>
        sql`select public.complete_final_sync(${change.id}, ${sql.json(metrics.data)}, ${worker})`,
    );
    return owned
      ? { ...describe(change), completed: true, days: metrics.data.length }
      : claimLost(change);
  } catch (error) {
    return await recordFailure(change, worker, notSaved(change, worker, error));
  }
}

/** One claimed change, read on its own and saved (claimed by `worker`). */
export async function processFinalSyncForEntity(
  fetcher: MetricsFetcher,
  change: PendingFinalSync,
  worker: string,
  lookbackDays: number,
): Promise<FinalSyncOutcome> {
  const [metrics] = await fetcher.fetch([metricsRequest(change, lookbackDays)]);
  return await saveFinalSync(change, worker, metrics);
}

/** Claims the pending final syncs (one account's, or all) and processes them, accounts at once. */
export async function processAllPendingFinalSyncs(
  options: FinalSyncOptions,
): Promise<FinalSyncReport> {
  const worker = `final-sync:${crypto.randomUUID()}`;
  const changes = await db()<ClaimedChange[]>`
    select id, ad_account_id, entity_type, platform_entity_id, created_at
    from public.claim_final_syncs(${worker}, ${options.adAccountId ?? null}, ${
    options.maxRows ?? 1000
  })`;

  const { outcomes, accounts } = await readClaimedChanges(changes, {
    fetcherFor: options.fetcherFor,
    concurrency: options.concurrency ?? 4,
    request: (change) => metricsRequest(change, options.lookbackDays),
    save: (change, metrics) => saveFinalSync(change, worker, metrics),
    notRead: (change, error) =>
      recordFailure(
        change,
        worker,
        metricsUnread(error, "not attempted: the platform rate-limited the account"),
      ),
    budget: options.budget,
  });
  const deferred = changes.length - outcomes.length;
  if (deferred > 0) await releaseClaims(worker);
  const report = {
    claimed: changes.length,
    completed: outcomes.filter((o) => o.completed).length,
    failed: outcomes.filter((o) => !o.completed).length,
    deferred,
    metricDays: outcomes.reduce((sum, o) => sum + (o.days ?? 0), 0),
    accounts,
    outcomes,
  };
  if (report.claimed > 0) {
    log.info("final syncs processed", { worker, ...report, outcomes: undefined });
  }
  return report;
}
