// facebook-ads-sync for one ad account, in the order that loses nothing:
//   0. final syncs already owed (a previous run may have died before them), and the attribution
//      tails due: stopped entities whose last 28 days Meta may still restate (before step 3, so a
//      final sync is not read again by the run that made it);
//   1. campaigns, ad sets, ads (a changed status fires the triggers);
//   2. daily metrics over a lookback window (Meta restates recent days), as async reports where
//      Meta finds a level too big, polled for INSIGHTS_REPORT_WAIT_SECONDS at most;
//   3. the final syncs step 1 uncovered.
// The whole sync holds the account's lease (sync-leases.ts): one sync per account at a time.
import { z } from "zod";
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import { readAttributionTails, type TailReport } from "./attribution-tail.ts";
import { type FinalSyncReport, processAllPendingFinalSyncs } from "./atomic-status-handler.ts";
import { attributionTailReadEverySeconds, insightsReportWaitSeconds } from "../platform/config.ts";
import { type EntitySyncCounts, syncEntities } from "./entity-sync.ts";
import { AdrailError, metaError } from "../platform/errors.ts";
import { type DateRange, metaMetricsFetcher, rangeEndingAt } from "../meta/insights.ts";
import { withLogContext } from "../platform/log.ts";
import { type MetricsSyncCounts, syncDailyMetrics } from "./metrics-sync.ts";
import { extendSyncLease, finishSync } from "./sync-leases.ts";

/** Meta restates up to 28 days back (attribution): the default window re-reads them all. */
export const defaultMetricsLookbackDays = 28;
/** Days of metrics a final sync re-reads up to the moment of the change. */
export const finalSyncLookbackDays = 7;
/** The most days of metrics one sync reads (since..until, both included). */
export const maxMetricsRangeDays = 90;
/** Meta keeps daily insights this many months: a sync asks for none older. */
export const insightsRetentionMonths = 37;

const isoDate = z.iso.date();
const dayMs = 86_400_000;
const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);

export const FacebookAdsSyncBody = z.object({
  adAccountId: z.string().regex(/^act_[0-9]{1,20}$/, "must look like act_<digits>"),
  since: isoDate.optional(),
  until: isoDate.optional(),
}).strict().superRefine((body, ctx) => {
  // Only once both dates are dates (a malformed one is already an issue).
  const now = new Date();
  // Tomorrow in UTC is today somewhere: the latest day an account's time zone can have metrics for.
  const latest = dayOf(now.getTime() + dayMs);
  const earliest = dayOf(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - insightsRetentionMonths, now.getUTCDate()),
  );
  const { since, until } = metricsRange(body, now);
  const days = (Date.parse(until) - Date.parse(since)) / dayMs + 1;
  const issue = (path: "since" | "until", message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  if (until > latest) issue("until", `must not be after ${latest} (tomorrow, UTC)`);
  else if (since > until) issue("since", "since must not be after until");
  else if (since < earliest) {
    issue("since", `must not be before ${earliest}: Meta keeps ${insightsRetentionMonths} months`);
  } else if (days > maxMetricsRangeDays) {
    issue("since", `since..until may span at most ${maxMetricsRangeDays} days (here ${days})`);
  }
}, { when: (payload) => payload.issues.length === 0 });
export type FacebookAdsSyncInput = z.infer<typeof FacebookAdsSyncBody>;

/** What pg_cron sends for a scheduled sync (private.start_due_ads_syncs): the account and its lease. */
export const ScheduledSyncBody = z.object({
  adAccountId: FacebookAdsSyncBody.shape.adAccountId,
  leaseId: z.uuid(),
}).strict();

export type AdsSyncReport = {
  adAccountId: string;
  finalSyncsOwed: FinalSyncReport;
  attributionTails: TailReport;
  entities: EntitySyncCounts;
  metrics: DateRange & MetricsSyncCounts;
  finalSyncsUncovered: FinalSyncReport;
};

export function metricsRange(
  input: Pick<FacebookAdsSyncInput, "since" | "until">,
  now = new Date(),
): DateRange {
  const until = input.until ?? rangeEndingAt(now, 1).until;
  const since = input.since ??
    rangeEndingAt(new Date(`${until}T00:00:00Z`), defaultMetricsLookbackDays).since;
  return { since, until };
}

/**
 * Syncs the account under the lease `leaseId` (already claimed), then records the outcome and
 * frees the account: the report when it completed, the error's code and message when it failed.
 * Every line it logs names the account.
 */
export function syncAdAccount(
  access: AdAccountAccess,
  range: DateRange,
  leaseId: string,
): Promise<AdsSyncReport> {
  return withLogContext({ adAccountId: access.platformAccountId }, async () => {
    let report: AdsSyncReport;
    try {
      report = await syncSteps(access, range, () => extendSyncLease(leaseId));
    } catch (error) {
      const known = error instanceof AdrailError && error.code !== "internal";
      // A sync whose lease was taken over has nothing of its own to finish.
      if (!(known && error.code === "sync_in_progress")) {
        await finishSync(leaseId, "failed", {
          error: known ? error.code : "internal",
          message: known ? error.message : "internal error",
        });
      }
      throw error;
    }
    await finishSync(leaseId, "completed", report);
    return report;
  });
}

async function syncSteps(
  access: AdAccountAccess,
  range: DateRange,
  extendLease: () => Promise<unknown>,
): Promise<AdsSyncReport> {
  const fetcher = metaMetricsFetcher(access.graph);
  const finalSyncs = async () => {
    await extendLease();
    return await processAllPendingFinalSyncs({
      adAccountId: access.id,
      fetcherFor: () => Promise.resolve(fetcher),
      lookbackDays: finalSyncLookbackDays,
    });
  };

  const finalSyncsOwed = await finalSyncs();
  await extendLease();
  const attributionTails = await readAttributionTails({
    adAccountId: access.id,
    fetcherFor: () => Promise.resolve(fetcher),
    readEverySeconds: attributionTailReadEverySeconds(),
  });
  await extendLease();
  const entities = await syncEntities(access);
  if (!entities.ok) {
    throw metaError(
      entities.error,
      "Meta refused to list this account's campaigns, ad sets or ads",
    );
  }
  await extendLease();
  const metrics = await syncDailyMetrics(
    access,
    range,
    Date.now() + insightsReportWaitSeconds() * 1000,
  );
  if (!metrics.ok) throw metaError(metrics.error, "Meta refused this account's insights");
  const finalSyncsUncovered = await finalSyncs();

  return {
    adAccountId: access.platformAccountId,
    finalSyncsOwed,
    attributionTails,
    entities: entities.data,
    metrics: { ...range, ...metrics.data },
    finalSyncsUncovered,
  };
}
