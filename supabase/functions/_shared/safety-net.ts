// The safety net, weekly and by hand: every final sync still owed, across all accounts, and the
// creation jobs whose worker died holding the lease.
import { z } from "zod";
import { processFinalSyncs } from "./atomic-status-handler.ts";
import { db } from "./db.ts";

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
  const finalSyncs = await processFinalSyncs({ lookbackDays });
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
