// Zero metric loss on status changes: for each status change that owes a final sync, read the
// entity's daily metrics up to the moment of the change (by its own id, which Meta answers even
// for deleted and archived entities) and save them with complete_final_sync, which upserts the
// metrics, marks the log row completed and stamps the entity in one transaction. Rows are
// claimed first (skip locked), so two runs never process the same change; a failure is recorded
// on the row, which stays pending for the next run. Every write names the run's claim token: when
// another run took a row over after our claim expired, the database refuses (ADR02) and this run
// leaves that row alone, having written nothing. A failure is recorded as one of adrail's error
// codes and a message members may read (Meta's words, never a database error's text: that goes to
// the log only, under an id the message names).
import { type AdAccountAccess, adAccountById } from "./ad-account-access.ts";
import { db, DbErrorCode, sqlState } from "./db.ts";
import { type ErrorCode, metaErrorCode } from "./errors.ts";
import type { GraphError } from "./graph-errors.ts";
import { entityDailyMetrics, rangeEndingAt } from "./insights.ts";
import { log } from "./log.ts";
import { retryRead } from "./retry.ts";

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
  metricDays: number;
  accounts: number;
  outcomes: FinalSyncOutcome[];
};

export type FinalSyncOptions = {
  /** Only this account's changes (its internal id); all accounts when absent. */
  adAccountId?: string;
  /** Days of metrics read up to the change, the day of the change included. */
  lookbackDays: number;
  /** The account's Graph access when the caller already has it. */
  access?: AdAccountAccess;
  maxRows?: number;
};

type ClaimedChange = {
  id: string;
  ad_account_id: string;
  entity_type: string;
  platform_entity_id: string;
  created_at: Date;
};

/**
 * One write fenced on the claim token. ADR02 means another run owns the row now: it is logged
 * with the log id and answered false (stop, nothing was written), never thrown.
 */
async function claimantWrite(
  change: ClaimedChange,
  worker: string,
  write: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (sqlState(error) !== DbErrorCode.notClaimant) throw error;
    log.warn("final sync claim lost: another run owns the row, nothing written", {
      logId: Number(change.id),
      worker,
    });
    return false;
  }
}

function claimLost(change: ClaimedChange): FinalSyncOutcome {
  return {
    ...describe(change),
    completed: false,
    error: "claim lost to another run",
    claimLost: true,
  };
}

/** A failure as final_sync_error keeps it: an adrail error code, then a message safe to show. */
const failure = (code: ErrorCode, message: string) => `${code}: ${message}`;

/** Meta did not give the metrics (`what` happened): its error class and its own words. */
const metricsUnread = (error: GraphError, what = "the entity's metrics could not be read") =>
  failure(metaErrorCode(error), `${what} (${error.class}): ${error.message}`);

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
  return failure("internal", `the metrics could not be saved (error id ${errorId}, in the log)`);
}

async function recordFailure(
  change: ClaimedChange,
  worker: string,
  error: string,
): Promise<FinalSyncOutcome> {
  const owned = await claimantWrite(
    change,
    worker,
    () => db()`select public.mark_final_sync_completed(${change.id}, false, ${error}, ${worker})`,
  );
  return owned ? { ...describe(change), completed: false, error } : claimLost(change);
}

function describe(change: ClaimedChange) {
  return {
    logId: Number(change.id),
    entityType: change.entity_type,
    platformEntityId: change.platform_entity_id,
  };
}

async function finalSync(
  access: AdAccountAccess,
  change: ClaimedChange,
  worker: string,
  lookbackDays: number,
) {
  const metrics = await retryRead(() =>
    entityDailyMetrics(
      access.graph,
      change.platform_entity_id,
      rangeEndingAt(change.created_at, lookbackDays),
    )
  );
  if (!metrics.ok) {
    return {
      outcome: await recordFailure(change, worker, metricsUnread(metrics.error)),
      graphError: metrics.error,
    };
  }
  const sql = db();
  try {
    const owned = await claimantWrite(
      change,
      worker,
      () =>
        sql`select public.complete_final_sync(${change.id}, ${sql.json(metrics.data)}, ${worker})`,
    );
    return {
      outcome: owned
        ? { ...describe(change), completed: true, days: metrics.data.length }
        : claimLost(change),
    };
  } catch (error) {
    return { outcome: await recordFailure(change, worker, notSaved(change, worker, error)) };
  }
}

export async function processFinalSyncs(options: FinalSyncOptions): Promise<FinalSyncReport> {
  const worker = `final-sync:${crypto.randomUUID()}`;
  const changes = await db()<ClaimedChange[]>`
    select id, ad_account_id, entity_type, platform_entity_id, created_at
    from public.claim_final_syncs(${worker}, ${options.adAccountId ?? null}, ${
    options.maxRows ?? 500
  })`;

  const byAccount = Map.groupBy(changes, (change) => change.ad_account_id);
  const outcomes: FinalSyncOutcome[] = [];
  for (const [accountId, accountChanges] of byAccount) {
    const access = options.access?.id === accountId
      ? options.access
      : await adAccountById(accountId);
    for (const [index, change] of accountChanges.entries()) {
      const { outcome, graphError } = await finalSync(access, change, worker, options.lookbackDays);
      outcomes.push(outcome);
      if (graphError?.class === "RATE_LIMIT") {
        // Every further call to this account would be refused too: leave the rest for later.
        for (const waiting of accountChanges.slice(index + 1)) {
          outcomes.push(
            await recordFailure(
              waiting,
              worker,
              metricsUnread(graphError, "not attempted: Meta rate-limited the account"),
            ),
          );
        }
        break;
      }
    }
  }
  const report = {
    claimed: changes.length,
    completed: outcomes.filter((o) => o.completed).length,
    failed: outcomes.filter((o) => !o.completed).length,
    metricDays: outcomes.reduce((sum, o) => sum + (o.days ?? 0), 0),
    accounts: byAccount.size,
    outcomes,
  };
  if (report.claimed > 0) {
    log.info("final syncs processed", { worker, ...report, outcomes: undefined });
  }
  return report;
}
