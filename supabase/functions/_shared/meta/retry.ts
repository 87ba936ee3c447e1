// Backoff for retried Graph calls. Full jitter (AWS "Exponential Backoff and Jitter"): a random
// wait in [0, min(cap, base * 2^attempt)], so many workers retrying at once do not stampede.
import type { GraphResult } from "./graph-errors.ts";

export type BackoffPolicy = { baseMs: number; capMs: number };

/** Short in-process retries, for idempotent reads only. */
export const readBackoff: BackoffPolicy = { baseMs: 200, capMs: 1000 };

export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Retries an idempotent read on TEMPORARY failures, a few times, in process. Anything longer
 * (a rate limit, a create) is the durable job's business, not this loop's.
 */
export async function retryRead<T>(
  read: () => Promise<GraphResult<T>>,
  attempts = 3,
  policy: BackoffPolicy = readBackoff,
): Promise<GraphResult<T>> {
  let result = await read();
  for (
    let attempt = 1;
    attempt < attempts && !result.ok && result.error.class === "TEMPORARY";
    attempt++
  ) {
    await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, policy)));
    result = await read();
  }
  return result;
}

/**
 * A jitter source fixed by `key` (a job and its attempt): jobs still spread their retries apart,
 * and the same job retries on the same schedule, so a run can be replayed.
 */
export function keyedJitter(key: string): () => number {
  let hash = 0x811c9dc5;
  for (const char of key) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return () => hash / 0x1_0000_0000;
}
