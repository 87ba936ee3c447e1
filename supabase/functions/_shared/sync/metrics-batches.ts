// Claimed status-change rows of several accounts, read through their platforms' metrics fetchers:
// an account's rows a fetcher's batch at a time (Meta: 50 per Graph request), one after another so
// the account's usage grows by steps, and several accounts at once. A rate limit stops the
// account: every further call would be refused too, so its other rows are left for later. With a
// budget, a run takes no batch once its isolate has spent it: the rows it did not reach stay
// claimed for the caller to release.
import { db, DbErrorCode, type EntityType, sqlState } from "../platform/db.ts";
import { metaErrorCode } from "../platform/errors.ts";
import { log } from "../platform/log.ts";
import type { WorkBudget } from "../platform/run-budget.ts";
import type {
  MetricsFetcher,
  MetricsFetchError,
  MetricsRequest,
  MetricsResult,
} from "./metrics-fetcher.ts";

/** A status-change log row a run has claimed. */
export type ClaimedChange = {
  id: string;
  ad_account_id: string;
  entity_type: EntityType;
  platform_entity_id: string;
  created_at: Date;
};

export type ClaimedReads<R> = {
  /** The metrics fetcher of an account (its internal id), for its platform. */
  fetcherFor: (adAccountId: string) => Promise<MetricsFetcher>;
  /** Accounts read at once. */
  concurrency: number;
  request: (change: ClaimedChange) => MetricsRequest;
  /** Saves what the platform answered for one change. */
  save: (change: ClaimedChange, metrics: MetricsResult) => Promise<R>;
  /** A change not read because the platform rate-limited its account. */
  notRead: (change: ClaimedChange, error: MetricsFetchError) => Promise<R>;
  /** Checked before each batch; none when the run has no CPU limit of its own to keep. */
  budget?: WorkBudget;
};

/**
 * Where the thread's CPU is unreadable, a change read and saved counts for this: 0.8 ms measured on
 * the local stack (the safety net's 150 final syncs: 120 ms of CPU), three times that for a margin.
 */
const estimatedCpuPerChangeMs = 2.5;

async function readAccount<R>(
  fetcher: MetricsFetcher,
  changes: ClaimedChange[],
  reads: ClaimedReads<R>,
): Promise<R[]> {
  const outcomes: R[] = [];
  for (let start = 0; start < changes.length; start += fetcher.batchSize) {
    if (reads.budget?.spent()) break;
    const batch = changes.slice(start, start + fetcher.batchSize);
    reads.budget?.step(batch.length * estimatedCpuPerChangeMs);
    const answers = await fetcher.fetch(batch.map(reads.request));
    for (const [i, change] of batch.entries()) outcomes.push(await reads.save(change, answers[i]));
    const limited = answers.find((answer) => !answer.ok && answer.error.class === "RATE_LIMIT");
    if (limited && !limited.ok) {
      for (const waiting of changes.slice(start + fetcher.batchSize)) {
        outcomes.push(await reads.notRead(waiting, limited.error));
      }
      break;
    }
  }
  return outcomes;
}

/**
 * Reads and saves every change, or as many as the budget allows; answers the outcomes (by
 * account; none for a change not reached) and how many accounts.
 */
export async function readClaimedChanges<R>(
  changes: ClaimedChange[],
  reads: ClaimedReads<R>,
): Promise<{ outcomes: R[]; accounts: number }> {
  const byAccount = [...Map.groupBy(changes, (change) => change.ad_account_id)];
  const results: R[][] = [];
  let next = 0;
  const lane = async () => {
    while (next < byAccount.length && !reads.budget?.spent()) {
      const index = next++;
      const [accountId, accountChanges] = byAccount[index];
      results[index] = await readAccount(await reads.fetcherFor(accountId), accountChanges, reads);
    }
  };
  await Promise.all(Array.from({ length: Math.min(reads.concurrency, byAccount.length) }, lane));
  return { outcomes: results.flat(), accounts: byAccount.length };
}

/** Gives back the rows `worker` claimed and did not reach (nothing else of theirs changes). */
export async function releaseClaims(worker: string): Promise<void> {
  await db()`select public.release_status_change_claims(${worker})`;
}

/**
 * One write fenced on the run's claim token. ADR02 means another run owns the row now: it is
 * logged with the log id (`work` names what the run was doing) and answered false (stop, nothing
 * was written), never thrown.
 */
export async function claimantWrite(
  change: ClaimedChange,
  worker: string,
  work: string,
  write: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (sqlState(error) !== DbErrorCode.notClaimant) throw error;
    log.warn(`${work} claim lost: another run owns the row, nothing written`, {
      logId: Number(change.id),
      worker,
    });
    return false;
  }
}

/**
 * The platform gave no metrics (`what` happened), as final_sync_error and tail_error keep it: an
 * adrail error code, the error class and the platform's own words.
 */
export const metricsUnread = (
  error: MetricsFetchError,
  what = "the entity's metrics could not be read",
) => `${metaErrorCode(error)}: ${what} (${error.class}): ${error.message}`;
