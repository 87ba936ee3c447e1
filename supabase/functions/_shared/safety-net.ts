// The safety net, weekly and by hand: every final sync still owed, across all accounts, and the
// creation jobs whose worker died holding the lease.
import { z } from "zod";
import { adAccountById } from "./ad-account-access.ts";
import { processAllPendingFinalSyncs } from "./atomic-status-handler.ts";
import { db } from "./db.ts";
import { metaMetricsFetcher } from "./insights.ts";

export const SafetyNetBody = z.object({
  lookbackDays: z.number().int().min(1).max(90).optional(),
}).strict();

export const defaultSafetyNetLookbackDays = 7;

export type SafetyNetReport = {
  success: boolean;
  accountsProcessed: number;
  totalEntities: number;
  totalMetrics: number;
  failedEntities: number;
  recoveredJobs: number;
};

export async function runSafetyNet(
  lookbackDays = defaultSafetyNetLookbackDays,
): Promise<SafetyNetReport> {
  const finalSyncs = await processAllPendingFinalSyncs({
    lookbackDays,
    fetcherFor: async (id) => metaMetricsFetcher((await adAccountById(id)).graph),
  });
  const [{ recovered }] = await db()<{ recovered: number }[]>`
    select public.recover_stalled_creation_jobs() as recovered`;
  return {
    success: finalSyncs.failed === 0,
    accountsProcessed: finalSyncs.accounts,
    totalEntities: finalSyncs.completed,
    totalMetrics: finalSyncs.metricDays,
    failedEntities: finalSyncs.failed,
    recoveredJobs: recovered,
  };
}
