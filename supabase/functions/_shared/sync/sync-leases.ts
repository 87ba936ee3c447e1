// One sync per ad account at a time (public.ads_sync_schedules): a sync holds its account's lease
// from start to finish, scheduled (pg_cron claims it, private.start_due_ads_syncs) or asked for by
// a user (claimUserSync). Each step first extends the lease, and the finish names it: a sync whose
// lease expired and was taken over stops instead of writing beside the new one.
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { AdrailError } from "../platform/errors.ts";
import type { Json } from "../platform/db.ts";

/** How a sync ended, as public.finish_ads_sync records it (and the webhook event names it). */
export type SyncOutcome = "completed" | "failed";

/** How long a caller turned away by a running sync should wait: about one sync. */
const syncRetryAfterSeconds = 30;

/** Starts a user's sync: the lease id, or sync_in_progress while another sync holds the account. */
export async function claimUserSync(adAccountId: string): Promise<string> {
  try {
    const [{ lease }] = await db()<{ lease: string }[]>`
      select public.claim_ads_sync(${adAccountId}) as lease`;
    return lease;
  } catch (error) {
    if (sqlState(error) !== DbErrorCode.syncRunning) throw error;
    throw new AdrailError("sync_in_progress", "a sync of this ad account is running already", {
      retryAfterSeconds: syncRetryAfterSeconds,
    });
  }
}

function leaseLost(error: unknown): unknown {
  return sqlState(error) === DbErrorCode.syncLeaseLost
    ? new AdrailError(
      "sync_in_progress",
      "this sync's lease on the ad account expired and another sync holds it now",
    )
    : error;
}

/** Extends the lease before a step; returns the ad account's id. Lease gone: sync_in_progress. */
export async function extendSyncLease(leaseId: string): Promise<string> {
  try {
    const [{ account }] = await db()<{ account: string }[]>`
      select public.extend_ads_sync_lease(${leaseId}) as account`;
    return account;
  } catch (error) {
    throw leaseLost(error);
  }
}

/** Records how the sync ended and frees the account. Lease gone: sync_in_progress. */
export async function finishSync(leaseId: string, outcome: SyncOutcome, report: Json) {
  try {
    await db()`select public.finish_ads_sync(${leaseId}, ${outcome}, ${db().json(report)})`;
  } catch (error) {
    throw leaseLost(error);
  }
}
