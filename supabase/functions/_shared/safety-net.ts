// The safety net, weekly and by hand: every final sync still owed and every attribution tail due,
// across all accounts, and the creation jobs whose worker died holding the lease.
import { z } from "zod";
import { adAccountById } from "./ad-account-access.ts";
import { readAttributionTails, type TailReport } from "./attribution-tail.ts";
import { processAllPendingFinalSyncs } from "./atomic-status-handler.ts";
import { attributionTailReadEverySeconds } from "./config.ts";
import { db } from "./db.ts";
import { metaMetricsFetcher } from "./insights.ts";

export const SafetyNetBody = z.object({
  lookbackDays: z.number().int().min(1).max(90).optional(),
}).strict();

export const defaultSafetyNetLookbackDays = 7;
/**
 * Final syncs one safety net claims, across all accounts: 100 Graph batches, four accounts at once,
 * well inside the edge function's wall-clock limit.
 */
export const safetyNetMaxFinalSyncs = 5000;

export type SafetyNetReport = {
  success: boolean;
  accountsProcessed: number;
  totalEntities: number;
  totalMetrics: number;
  failedEntities: number;
  recoveredJobs: number;
  attributionTails: TailReport;
};

export async function runSafetyNet(
  lookbackDays = defaultSafetyNetLookbackDays,
): Promise<SafetyNetReport> {
  const fetcherFor = async (id: string) => metaMetricsFetcher((await adAccountById(id)).graph);
  // Tails first: a final sync this run completes is not read again by it.
  const attributionTails = await readAttributionTails({
    fetcherFor,
    readEverySeconds: attributionTailReadEverySeconds(),
  });
  const finalSyncs = await processAllPendingFinalSyncs({
    lookbackDays,
    fetcherFor,
    maxRows: safetyNetMaxFinalSyncs,
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
    attributionTails,
  };
}
