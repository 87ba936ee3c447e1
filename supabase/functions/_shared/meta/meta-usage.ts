// Meta's usage percentages (graph-errors.ts reads them from its headers), kept for the rate-limit
// dashboard (public.account_rate_limits): a recorder that stores them for an ad account through
// public.record_meta_usage without a write per request.
import { db } from "../platform/db.ts";
import type { MetaUsage } from "./graph-errors.ts";
import { log } from "../platform/log.ts";

/** A reading is stored when a percentage moved by this many points since the last one stored... */
export const usageChangePoints = 5;
/** ...or when this long has passed since. */
export const usageRecordIntervalMs = 10_000;

/** Whether `next` moved by usageChangePoints or more from `last` on any percentage (pure). */
export function usageMoved(last: MetaUsage, next: MetaUsage): boolean {
  return (["appPct", "accountPct", "businessPct"] as const).some((key) => {
    const [before, after] = [last[key], next[key]];
    if (after === null) return false;
    return before === null || Math.abs(after - before) >= usageChangePoints;
  });
}

/**
 * A reading to store is written this long after it came, the latest one by then: its write does
 * not compete for a connection with the request that read it (the next statement of a launch
 * or a worker's step would otherwise open a new one).
 */
export const usageWriteDelayMs = 250;

/** The last reading stored per ad account by this function instance. */
const lastStored = new Map<string, { usage: MetaUsage; at: number }>();
/** Readings waiting for their write, per ad account. */
const waiting = new Map<string, MetaUsage>();

/**
 * A callback for the Graph client of ad account `adAccountId`: stores a reading when it moved by
 * usageChangePoints or usageRecordIntervalMs has passed since the last one this instance stored.
 * The write runs beside the Graph calls, usageWriteDelayMs later; a failure is logged and never
 * fails a call.
 */
export function usageRecorder(adAccountId: string): (usage: MetaUsage) => void {
  return (usage) => {
    if (waiting.has(adAccountId)) {
      waiting.set(adAccountId, usage);
      return;
    }
    const now = Date.now();
    const last = lastStored.get(adAccountId);
    if (last && now - last.at < usageRecordIntervalMs && !usageMoved(last.usage, usage)) return;
    waiting.set(adAccountId, usage);
    setTimeout(() => {
      const latest = waiting.get(adAccountId)!;
      waiting.delete(adAccountId);
      lastStored.set(adAccountId, { usage: latest, at: Date.now() });
      store(adAccountId, latest);
    }, usageWriteDelayMs);
  };
}

function store(adAccountId: string, usage: MetaUsage): void {
  db()`select public.record_meta_usage(
    ${adAccountId}, ${usage.appPct}, ${usage.accountPct}, ${usage.businessPct})`
    .catch((error: unknown) => {
      log.warn("meta usage not recorded", {
        adAccountId,
        error: error instanceof Error ? error.message : String(error),
      });
    });
}
