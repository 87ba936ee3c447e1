/**
 * Rate-limit bookkeeping and the usage headers Meta puts on its answers.
 * Header shapes: https://developers.facebook.com/docs/graph-api/overview/rate-limiting
 * (X-Business-Use-Case-Usage regain time in minutes; X-Ad-Account-Usage reset_time_duration in seconds).
 */

import { errors, GraphError } from "./errors.ts";
import { type Account, numericAccountId } from "./store.ts";

const WINDOW_MS = 3_600_000;
/** Calls per account per rolling hour that read as 100 % (informational: only faults throttle). */
const CALLS_PER_HOUR = 10_000;
const ACCESS_TIER = "standard_access";

export function recordCall(account: Account, now: number): void {
  account.calls = account.calls.filter((t) => t > now - WINDOW_MS);
  account.calls.push(now);
}

function regainSeconds(account: Account, now: number): number {
  return Math.max(0, Math.ceil((account.throttledUntil - now) / 1000));
}

export function usageHeaders(account: Account, now: number): Record<string, string> {
  const regain = regainSeconds(account, now);
  const recent = account.calls.filter((t) => t > now - WINDOW_MS).length;
  const pct = regain > 0 ? 100 : Math.min(99, Math.round((recent / CALLS_PER_HOUR) * 100));
  const bucType = account.throttleCode === 80000 ? "ads_insights" : "ads_management";
  return {
    "X-Business-Use-Case-Usage": JSON.stringify({
      [numericAccountId(account.id)]: [{
        type: bucType,
        call_count: pct,
        total_cputime: Math.round(pct / 2),
        total_time: Math.round(pct / 2),
        estimated_time_to_regain_access: Math.ceil(regain / 60),
        ads_api_access_tier: ACCESS_TIER,
      }],
    }),
    "X-Ad-Account-Usage": JSON.stringify({
      acc_id_util_pct: pct,
      reset_time_duration: regain,
      ads_api_access_tier: ACCESS_TIER,
    }),
    "X-App-Usage": JSON.stringify({ call_count: pct, total_cputime: 0, total_time: 0 }),
  };
}

/** Start a throttle window: every call on the account fails until it has passed. */
export function throttle(account: Account, now: number, seconds: number, code: number): void {
  account.throttledUntil = Math.max(account.throttledUntil, now + seconds * 1000);
  account.throttleCode = code;
}

/** The rate-limit error for a throttled account, or null when it may proceed. */
export function throttleError(account: Account, now: number): GraphError | null {
  if (regainSeconds(account, now) === 0) return null;
  return errors.rateLimited(account.throttleCode, usageHeaders(account, now));
}
