// The failure policy of creation jobs, in one place: from a Graph failure to the next action.
// Meta's error codes are classified in graph-errors.ts (PERMANENT, RATE_LIMIT, TEMPORARY,
// UNKNOWN_OUTCOME); what each class means for a job, the backoffs and the retry budget are here.
//   - a rate limit waits until Meta's regain time, durably, and spends no retry;
//   - a transient failure or a lost answer while Meta is down for the whole account (a probe
//     failed too) waits with the account's outage backoff and spends no retry; otherwise it is
//     the job's own failure: it spends one retry of the budget, with backoff and full jitter;
//   - a refusal, or a spent budget, rolls back;
//   - a rollback never gives up. A transient failure or a lost answer is tried again soon (the
//     job backoff, a few times in one run; the outage backoff while Meta is down for the
//     account), a rate limit waits for Meta's regain time; anything else, or transient failures
//     that persist, blocks it, and it is tried again later each time (15 s doubling up to an
//     hour), for as long as it takes.
import type { GraphError } from "../meta/graph-errors.ts";
import { backoffDelayMs, type BackoffPolicy, keyedJitter } from "../meta/retry.ts";

export type FailureAction =
  /** Try again at `at`, spending one retry of the job's budget. */
  | { kind: "retry"; at: Date; reason: string }
  /** Wait until `until` without spending a retry (Meta asked for it, or Meta is down). */
  | { kind: "wait"; until: Date; reason: string }
  | { kind: "roll_back"; reason: string }
  /** The rollback cannot proceed: wait in rollback_blocked until `until`, then try again. */
  | { kind: "block_rollback"; until: Date; reason: string };

export type JobFailureContext = {
  jobId: number;
  retriesUsed: number;
  retryBudget: number;
  rollbackAttempts: number;
  /** Set when a probe of the account failed too: Meta is down for it until then. */
  outageUntil?: Date;
  /** Transient failures of this rollback in the current run, this one included. */
  transientRollbackFailures?: number;
};

/** A job's own retries: 1 s, 2 s, 4 s, 8 s, 16 s ceilings, with full jitter. */
export const jobBackoff: BackoffPolicy = { baseMs: 1000, capMs: 16_000 };

/** Meta down for an account: its jobs wait 5 s, doubling with each failed probe, 5 minutes at most. */
export const outageBackoff: BackoffPolicy = { baseMs: 5_000, capMs: 300_000 };

/** A blocked rollback's wait: 15 s, doubling, an hour at most. */
export const rollbackBackoff: BackoffPolicy = { baseMs: 15_000, capMs: 3_600_000 };

/** Transient failures a rollback retries on the job backoff in one run before it blocks. */
export const rollbackTransientRetries = 5;

/** Failures worth a probe of the account: were they the job's, or is Meta down? */
export function mayBeOutage(error: GraphError): boolean {
  return error.class === "TEMPORARY" || error.class === "UNKNOWN_OUTCOME";
}

const after = (ms: number) => new Date(Date.now() + ms);

/** What a failure while creating (or verifying) means for the job. */
export function creationFailureAction(error: GraphError, job: JobFailureContext): FailureAction {
  if (error.class === "RATE_LIMIT") {
    return { kind: "wait", until: after(error.retryAfterMs ?? 60_000), reason: error.message };
  }
  if (error.class === "PERMANENT") {
    return { kind: "roll_back", reason: `Meta refused: ${error.message}` };
  }
  if (job.outageUntil) {
    return { kind: "wait", until: job.outageUntil, reason: `Meta unavailable: ${error.message}` };
  }
  if (job.retriesUsed >= job.retryBudget) {
    return { kind: "roll_back", reason: `retry budget exhausted; last error: ${error.message}` };
  }
  const attempt = job.retriesUsed;
  const waitMs = backoffDelayMs(attempt, jobBackoff, keyedJitter(`${job.jobId}:${attempt}`));
  return { kind: "retry", at: after(waitMs), reason: `${error.class}: ${error.message}` };
}

/** What a failure while rolling back means: never the end, only a later try. */
export function rollbackFailureAction(error: GraphError, job: JobFailureContext): FailureAction {
  if (error.class === "RATE_LIMIT") {
    return { kind: "wait", until: after(error.retryAfterMs ?? 60_000), reason: error.message };
  }
  if (mayBeOutage(error)) {
    if (job.outageUntil) {
      return { kind: "wait", until: job.outageUntil, reason: `Meta unavailable: ${error.message}` };
    }
    const attempt = (job.transientRollbackFailures ?? 1) - 1;
    if (attempt < rollbackTransientRetries) {
      const waitMs = backoffDelayMs(attempt, jobBackoff, keyedJitter(`${job.jobId}:r${attempt}`));
      return { kind: "wait", until: after(waitMs), reason: `${error.class}: ${error.message}` };
    }
  }
  const backoff = rollbackBackoff.baseMs * 2 ** job.rollbackAttempts;
  return {
    kind: "block_rollback",
    until: after(Math.min(rollbackBackoff.capMs, backoff)),
    reason: error.message,
  };
}
