// The webhook deliverer: claims due events of the outbox (public.claim_webhook_events), signs each
// (webhook-signature.ts) with its account's secret and POSTs it, and records every attempt
// (public.record_webhook_attempt decides: delivered, retried later with exponential backoff, or
// dead). pg_cron starts a run every minute; a run waits for a retry coming due soon, so short
// backoffs do not wait for a tick. At least once: a receiver deduplicates on the event id.
import { z } from "zod";
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { log } from "../platform/log.ts";
import { decryptSecret, secretSlots } from "../platform/token-crypto.ts";
import { checkWebhookUrl } from "./webhook-url.ts";
import { signatureHeader, signWebhook } from "./webhook-signature.ts";

/** The deliverer function's body: nothing to say (pg_cron sends {}). */
export const DelivererBody = z.object({}).strict();

/** What a receiver gets: the body of every delivery. */
export type WebhookPayload = {
  /** The event's id, the same on every attempt: deduplicate on it. */
  id: string;
  type: string;
  createdAt: string;
  adAccountId: string;
  attempt: number;
  data: Record<string, unknown>;
};

type ClaimedEvent = {
  id: string;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
  attempts: number;
  platform: string;
  platform_account_id: string;
  webhook_url: string;
  webhook_secret_ciphertext: string;
};

/** One attempt's result: the receiver's status, or why there was none. */
type Attempt = { statusCode: number; error: null } | { statusCode: null; error: string };

export type DelivererReport = {
  attempts: number;
  delivered: number;
  retrying: number;
  dead: number;
};

const eventsPerClaim = 20;
/** A receiver answers within this or the attempt failed. */
const deliveryTimeoutMs = 10_000;
/** A run waits this long at most for a retry to come due; later ones wait for pg_cron. */
const maxIdleWaitMs = 20_000;
/** Stop claiming after this long (the edge function's wall-clock limit). */
const defaultBudgetMs = 100_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function attempt(event: ClaimedEvent): Promise<Attempt> {
  // Checked again at each attempt: the rules may have changed since the URL was set.
  const url = checkWebhookUrl(event.webhook_url);
  if (!url.ok) return { statusCode: null, error: `the webhook URL ${url.reason}` };
  const secret = await decryptSecret(
    event.webhook_secret_ciphertext,
    secretSlots(event.platform, event.platform_account_id).webhookSecret,
  );
  const payload: WebhookPayload = {
    id: event.event_id,
    type: event.event_type,
    createdAt: event.created_at.toISOString(),
    adAccountId: event.platform_account_id,
    attempt: event.attempts,
    data: event.payload,
  };
  const body = JSON.stringify(payload);
  try {
    const response = await fetch(url.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "adrail-webhooks/1",
        "X-Adrail-Event": event.event_type,
        "X-Adrail-Event-Id": event.event_id,
        [signatureHeader]: await signWebhook(secret, body),
      },
      body,
      // A redirect is an answer, not a delivery: following it would let a receiver point adrail
      // at another address.
      redirect: "manual",
      signal: AbortSignal.timeout(deliveryTimeoutMs),
    });
    // Nothing of the receiver's answer but its status is kept.
    await response.body?.cancel();
    return { statusCode: response.status, error: null };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    return {
      statusCode: null,
      error: timedOut
        ? `no answer within ${deliveryTimeoutMs} ms`
        : "the receiver could not be reached",
    };
  }
}

async function deliver(runId: string, event: ClaimedEvent): Promise<string> {
  let result: Attempt;
  try {
    result = await attempt(event);
  } catch (error) {
    // The secret did not decrypt (token-crypto's message names the column, never the secret).
    result = { statusCode: null, error: error instanceof Error ? error.message : String(error) };
  }
  try {
    const [{ status }] = await db()<{ status: string }[]>`
      select public.record_webhook_attempt(${event.id}, ${runId}, ${result.statusCode},
                                           ${result.error}) as status`;
    return status;
  } catch (error) {
    // Another run took the event over (its claim had expired): that run records its own attempt.
    if (sqlState(error) === DbErrorCode.notWebhookClaimant) return "taken_over";
    throw error;
  }
}

/** Delivers due events until none is due soon or the budget is spent. */
export async function runWebhookDeliverer(
  runId: string,
  options: { budgetMs?: number } = {},
): Promise<DelivererReport> {
  const deadline = Date.now() + (options.budgetMs ?? defaultBudgetMs);
  const report: DelivererReport = { attempts: 0, delivered: 0, retrying: 0, dead: 0 };
  while (Date.now() < deadline) {
    const events = await db()<ClaimedEvent[]>`
      select * from public.claim_webhook_events(${runId}, ${eventsPerClaim})`;
    if (events.length > 0) {
      const outcomes = await Promise.all(events.map((event) => deliver(runId, event)));
      report.attempts += events.length;
      for (const outcome of outcomes) {
        if (outcome === "delivered") report.delivered++;
        else if (outcome === "dead") report.dead++;
        else if (outcome === "pending") report.retrying++;
      }
      continue;
    }
    const [{ due }] = await db()<{ due: Date | null }[]>`
      select public.next_webhook_event_due_at() as due`;
    const wait = due === null ? Infinity : due.getTime() - Date.now();
    if (wait > maxIdleWaitMs || Date.now() + wait >= deadline) break;
    await sleep(Math.max(wait, 50));
  }
  log.info("webhook deliverer run", { runId, ...report });
  return report;
}
