// Zero metric loss on status changes: for each status change that owes a final sync, read the
// entity's daily metrics up to the moment of the change (by its own id, which Meta answers even
// for deleted and archived entities) and save them with complete_final_sync, which upserts the
// metrics, marks the log row completed and stamps the entity in one transaction. Rows are
// claimed first (skip locked), so two runs never process the same change; a failure is recorded
// on the row, which stays pending for the next run.
import { type AdAccountAccess, adAccountById } from "./ad-account-access.ts";
import { db, DbErrorCode, sqlState } from "./db.ts";
import { entityDailyMetrics, rangeEndingAt } from "./insights.ts";
import { log } from "./log.ts";
import { retryRead } from "./retry.ts";

export type FinalSyncOutcome = {
  logId: number;
  entityType: string;
  platformEntityId: string;
  completed: boolean;
  days?: number;
  error?: string;
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

async function recordFailure(change: ClaimedChange, error: string): Promise<FinalSyncOutcome> {
  await db()`select public.mark_final_sync_completed(${change.id}, false, ${error})`;
  return { ...describe(change), completed: false, error };
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
      outcome: await recordFailure(change, metrics.error.message),
      graphError: metrics.error,
    };
  }
  const sql = db();
  try {
    await sql`select public.complete_final_sync(${change.id}, ${
      sql.json(metrics.data)
    }, ${worker})`;
    return { outcome: { ...describe(change), completed: true, days: metrics.data.length } };
  } catch (error) {
    // Another run took the claim over after ours expired: it owns the row now.
    if (sqlState(error) === DbErrorCode.notClaimant) {
      return {
        outcome: { ...describe(change), completed: false, error: "claim lost to another run" },
      };
    }
    return {
      outcome: await recordFailure(change, error instanceof Error ? error.message : String(error)),
    };
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
          outcomes.push(await recordFailure(waiting, `not attempted: ${graphError.message}`));
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
