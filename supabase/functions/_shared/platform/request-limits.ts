// Abuse limits: how many requests of each kind a user and an ad account may make, how many
// entities their launches may ask for, and how many creation jobs they may have under way. The
// limits and their state live in Postgres (public.adrail_limits, take_request_quota, the
// active-jobs trigger); here a refusal becomes `rate_limited` (429 with Retry-After).
import { db, DbErrorCode, sqlState } from "./db.ts";
import { AdrailError, defaultRetryAfterSeconds } from "./errors.ts";

/** What a request asks for, as adrail_limits names it. */
export type LimitedAction =
  | "read"
  | "connect"
  | "launch"
  | "sync"
  | "job_action"
  | "requested_entities";

/** Whose buckets a request takes from: the user's, the ad account's (adrail's id), or both. */
export type QuotaSubject = { userId?: string; adAccountId?: string };

type Limit = { action: LimitedAction | "active_jobs"; scope: "user" | "account"; quota: number };

const scopeNames = { user: "this user", account: "this ad account" };

/** What public.take_request_quota answers. */
export type QuotaAnswer = {
  allowed: boolean;
  retry_after_seconds: number;
  scope: "user" | "account" | null;
  quota: number | null;
  window_seconds: number | null;
};

/**
 * Takes `cost` from the subject's buckets for `action`, all or nothing; `rate_limited` with the
 * wait when a bucket is short (nothing is taken then).
 */
export async function takeQuota(
  action: LimitedAction,
  subject: QuotaSubject,
  cost = 1,
): Promise<void> {
  // In a statement of its own, never inside a transaction: the bucket row stays locked only for
  // the taking (and a second pool connection taken inside a transaction could wait forever).
  const [answer] = await db()<QuotaAnswer[]>`
    select allowed, retry_after_seconds, scope, quota, window_seconds
    from public.take_request_quota(
      ${action}, ${subject.userId ?? null}, ${subject.adAccountId ?? null}, ${cost})`;
  assertQuotaAllowed(action, answer, cost);
}

/** Nothing when take_request_quota allowed the request; else `rate_limited` with the wait. */
export function assertQuotaAllowed(action: LimitedAction, answer: QuotaAnswer, cost = 1): void {
  if (answer.allowed) return;
  const limit = { action, scope: answer.scope!, quota: answer.quota! };
  const window = answer.window_seconds!;
  const what = action === "requested_entities" ? "entities" : `${action} requests`;
  const verb = action === "requested_entities" ? "ask for" : "make";
  const allowance = `${
    scopeNames[limit.scope]
  } may ${verb} ${limit.quota} ${what} every ${window} s`;
  const message = cost > limit.quota
    ? `this request asks for ${cost} ${what}, more than ${allowance}`
    : `too many ${what}: ${allowance}; try again in ${answer.retry_after_seconds} s`;
  throw new AdrailError("rate_limited", message, {
    retryAfterSeconds: answer.retry_after_seconds,
    limit: { ...limit, windowSeconds: window },
  });
}

/**
 * An active-jobs limit the database refused a new job for (ADR09) as `rate_limited`; any other
 * error as it is.
 */
export function activeJobsRefusal(error: unknown): unknown {
  if (sqlState(error) !== DbErrorCode.limitReached) return error;
  const limit = JSON.parse((error as { detail: string }).detail) as Limit;
  return new AdrailError(
    "rate_limited",
    `${scopeNames[limit.scope]} already has ${limit.quota} creation jobs under way, its limit: ` +
      "try again when one ends",
    { retryAfterSeconds: defaultRetryAfterSeconds, limit },
  );
}
