// The 28-day tail: a platform keeps attributing conversions to an entity's days for up to 28 days
// after it stopped delivering, deleted entities included, and restates those days. So after its
// final sync a stopped entity stays in its attribution tail (SQL: settles_at, settled_at on its
// status-change row): every sync of its account and the safety net re-read the 28 days up to its
// change, by its own id and in the platform's batches, at most every
// ATTRIBUTION_TAIL_READ_EVERY_SECONDS; the first read after settles_at settles it. Claims and the
// claim-token fence are the final syncs' (ADR02): a run whose claim was taken over writes nothing.
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { rangeEndingAt } from "../meta/insights.ts";
import { log } from "../platform/log.ts";
import { RunBudget, type WorkBudget } from "../platform/run-budget.ts";
import {
  claimantWrite,
  type ClaimedChange,
  metricsUnread,
  readClaimedChanges,
  releaseClaims,
} from "./metrics-batches.ts";
import type { MetricsFetcher, MetricsFetchError, MetricsResult } from "./metrics-fetcher.ts";

/** Days up to the change a tail read covers: every day the platform may still restate. */
export const attributionTailDays = 28;

export type TailReadOutcome = {
  logId: number;
  platformEntityId: string;
  read: boolean;
  /** The tail ended with this read (settles_at has passed). */
  settled?: true;
  days?: number;
  /** `<error code>: <message>`, as tail_error keeps it. */
  error?: string;
};

export type TailReport = {
  claimed: number;
  read: number;
  settled: number;
  failed: number;
  /** Claimed, not reached before the budget was spent: released for the next run. */
  deferred: number;
};

export type TailOptions = {
  fetcherFor: (adAccountId: string) => Promise<MetricsFetcher>;
  /** Only this account's tails (its internal id); all accounts when absent. */
  adAccountId?: string;
  /** A tail is re-read when its last read is at least this old. */
  readEverySeconds: number;
  /** Tails claimed at a time. */
  maxRows?: number;
  concurrency?: number;
  /** The run's budget; without one, it claims more for a minute of wall clock at most. */
  budget?: WorkBudget;
};

/** Without a budget of the caller's: a minute of wall clock, no CPU limit of its own. */
const defaultTailBudget = () => new RunBudget(60_000, Infinity);

const unread = (error: MetricsFetchError) =>
  metricsUnread(error, "the entity's metrics could not be re-read");

/**
 * A fenced tail write; false when nothing was written: another run holds the row (ADR02), or its
 * tail closed meanwhile (ADR15: a newer stop of the entity superseded it while it was read).
 */
async function tailWrite(
  change: ClaimedChange,
  worker: string,
  write: () => Promise<unknown>,
): Promise<boolean> {
  try {
    return await claimantWrite(change, worker, "attribution tail", write);
  } catch (error) {
    if (sqlState(error) !== DbErrorCode.noOpenTail) throw error;
    log.info("attribution tail closed meanwhile: nothing written", {
      logId: Number(change.id),
      worker,
    });
    return false;
  }
}

async function release(
  change: ClaimedChange,
  worker: string,
  error: string,
): Promise<TailReadOutcome> {
  await tailWrite(
    change,
    worker,
    () => db()`select public.release_attribution_tail(${change.id}, ${error}, ${worker})`,
  );
  return {
    logId: Number(change.id),
    platformEntityId: change.platform_entity_id,
    read: false,
    error,
  };
}

async function saveTailRead(
  change: ClaimedChange,
  worker: string,
  metrics: MetricsResult,
): Promise<TailReadOutcome> {
  if (!metrics.ok) return await release(change, worker, unread(metrics.error));
  const sql = db();
  let settled = false;
  const owned = await tailWrite(change, worker, async () => {
    const [row] = await sql<{ settled: boolean }[]>`
      select settled_at is not null as settled
      from public.record_attribution_tail_read(${change.id}, ${sql.json(metrics.data)}, ${worker})`;
    settled = row.settled;
  });
  return {
    logId: Number(change.id),
    platformEntityId: change.platform_entity_id,
    read: owned,
    ...(settled ? { settled: true as const } : {}),
    days: metrics.data.length,
  };
}

/**
 * Re-reads every open attribution tail that is due (one account's, or all), `maxRows` claimed at a
 * time; claims again while a full page came back and the budget lasts, never taking a tail this
 * run already tried.
 */
export async function readAttributionTails(options: TailOptions): Promise<TailReport> {
  const worker = `attribution-tail:${crypto.randomUUID()}`;
  const maxRows = options.maxRows ?? 1000;
  const budget = options.budget ?? defaultTailBudget();
  const [{ startedAt }] = await db()<{ startedAt: Date }[]>`select now() as "startedAt"`;
  const outcomes: TailReadOutcome[] = [];
  let claimed = 0;
  let deferred = 0;
  for (let page = maxRows; page === maxRows && !budget.spent();) {
    const changes = await db()<ClaimedChange[]>`
      select id, ad_account_id, entity_type, platform_entity_id, created_at
      from public.claim_attribution_tails(
        ${worker}, ${options.adAccountId ?? null}, ${maxRows}, ${options.readEverySeconds},
        attempted_before => ${startedAt})`;
    const read = await readClaimedChanges(changes, {
      fetcherFor: options.fetcherFor,
      concurrency: options.concurrency ?? 4,
      request: (change) => ({
        entityType: change.entity_type,
        platformEntityId: change.platform_entity_id,
        range: rangeEndingAt(change.created_at, attributionTailDays),
      }),
      save: (change, metrics) => saveTailRead(change, worker, metrics),
      notRead: (change, error) => release(change, worker, unread(error)),
      budget,
    });
    outcomes.push(...read.outcomes);
    deferred += changes.length - read.outcomes.length;
    claimed += changes.length;
    page = changes.length;
  }
  const report = {
    claimed,
    read: outcomes.filter((o) => o.read).length,
    settled: outcomes.filter((o) => o.settled).length,
    failed: outcomes.filter((o) => o.error).length,
    deferred,
  };
  if (deferred > 0) await releaseClaims(worker);
  if (report.claimed > 0) log.info("attribution tails read", { worker, ...report });
  return report;
}
