// Abuse limits in tests: an override of public.adrail_limits for one test user or ad account
// (so a test sets its own limits and never the defaults other tests run under), and a call to a
// function that keeps the Retry-After header.
import { type Answer, type CallInit, requestFunction } from "./refusals.ts";
import type { TestStack } from "./stack.ts";

export type LimitAction =
  | "read"
  | "connect"
  | "launch"
  | "sync"
  | "job_action"
  | "requested_entities"
  | "active_jobs";

/** adrail's id of the ad account `act` (act_...). */
export async function accountIdOf(stack: TestStack, act: string): Promise<string> {
  const [account] = await stack.sql<{ id: string }[]>`
    select id from public.ad_accounts where platform = 'facebook' and platform_account_id = ${act}`;
  return account.id;
}

/**
 * Sets `action`'s limit for one user (scope user) or one ad account (scope account, adrail's id):
 * `quota` per `windowSeconds` (null for active_jobs).
 */
export async function setLimit(
  stack: TestStack,
  action: LimitAction,
  subject: { userId: string } | { adAccountId: string },
  quota: number,
  windowSeconds: number | null = action === "active_jobs" ? null : 3600,
): Promise<void> {
  const [scope, userId, adAccountId] = "userId" in subject
    ? ["user", subject.userId, null]
    : ["account", null, subject.adAccountId];
  await stack.sql`
    insert into public.adrail_limits (action, scope, user_id, ad_account_id, quota, window_seconds)
    values (${action}, ${scope}, ${userId}, ${adAccountId}, ${quota}, ${windowSeconds})
    on conflict on constraint adrail_limits_one_per_subject
    do update set quota = excluded.quota, window_seconds = excluded.window_seconds`;
}

/** An answer with its Retry-After header (null without one). */
export type LimitedAnswer = Answer & { retryAfter: string | null };

/** Calls a function with `bearer`, JSON in and out, keeping Retry-After. */
export async function callKeepingRetryAfter(
  stack: TestStack,
  bearer: string,
  path: string,
  init: CallInit = {},
): Promise<LimitedAnswer> {
  const response = await requestFunction(stack, bearer, path, init);
  return {
    status: response.status,
    body: await response.json(),
    retryAfter: response.headers.get("Retry-After"),
  };
}
