// The safety net, weekly and by hand: the creation jobs whose worker died holding the lease, the
// budget invariants (public.budget_invariant_violations, which must be empty: any row is an alarm,
// answered and logged), then every attribution tail due and every final sync still owed, across
// all accounts, as far as the run's budget goes. The first two are cheap and must never wait
// behind a backlog of reads: a run ended at the CPU limit would leave stalled jobs stalled.
import { z } from "zod";
import { adAccountById } from "../accounts/ad-account-access.ts";
import { readAttributionTails, type TailReport } from "./attribution-tail.ts";
import { processAllPendingFinalSyncs } from "./atomic-status-handler.ts";
import { attributionTailReadEverySeconds, safetyNetCpuBudgetMs } from "../platform/config.ts";
import { type BudgetSpent, RunBudget } from "../platform/run-budget.ts";
import { db } from "../platform/db.ts";
import { metaMetricsFetcher } from "../meta/insights.ts";
import { log } from "../platform/log.ts";

export const SafetyNetBody = z.object({
  lookbackDays: z.number().int().min(1).max(90).optional(),
}).strict();

export const defaultSafetyNetLookbackDays = 7;
/**
 * Final syncs one safety net claims, across all accounts: 100 Graph batches, four accounts at once,
 * well inside the edge function's wall-clock limit.
 */
export const safetyNetMaxFinalSyncs = 5000;
/** A run's wall clock: pg_cron's call through pg_net does not wait for the answer. */
const safetyNetWallMs = 100_000;

export type SafetyNetReport = {
  success: boolean;
  accountsProcessed: number;
  totalEntities: number;
  totalMetrics: number;
  failedEntities: number;
  recoveredJobs: number;
  attributionTails: TailReport;
  /** Rows of public.budget_invariant_violations: each a broken budget invariant. */
  budgetAlarms: BudgetAlarm[];
  /** Final syncs claimed and left, released, for the next run: its budget was spent. */
  deferredFinalSyncs: number;
  /** Which budget ended the reads early, if one did. */
  budgetSpent: BudgetSpent | null;
};

/** A budget invariant found broken (public.budget_invariant_violations). */
export type BudgetAlarm = {
  invariant: string;
  adAccountId: string | null;
  jobId: number | null;
  detail: string;
};

async function budgetAlarms(): Promise<BudgetAlarm[]> {
  const alarms = await db()<BudgetAlarm[]>`
    select invariant, ad_account_id as "adAccountId", job_id::int as "jobId", detail
    from public.budget_invariant_violations`;
  for (const alarm of alarms) log.error("budget invariant violated", alarm);
  return [...alarms];
}

export async function runSafetyNet(
  lookbackDays = defaultSafetyNetLookbackDays,
): Promise<SafetyNetReport> {
  const budget = new RunBudget(safetyNetWallMs, safetyNetCpuBudgetMs());
  const [{ recovered }] = await db()<{ recovered: number }[]>`
    select public.recover_stalled_creation_jobs() as recovered`;
  const alarms = await budgetAlarms();
  const fetcherFor = async (id: string) => metaMetricsFetcher((await adAccountById(id)).graph);
  // Tails first: a final sync this run completes is not read again by it.
  const attributionTails = await readAttributionTails({
    fetcherFor,
    readEverySeconds: attributionTailReadEverySeconds(),
    budget,
  });
  const finalSyncs = await processAllPendingFinalSyncs({
    lookbackDays,
    fetcherFor,
    maxRows: safetyNetMaxFinalSyncs,
    budget,
  });
  const budgetSpent = budget.spent();
  if (budgetSpent) {
    log.warn("safety net out of budget: reads left for the next run", {
      budgetSpent,
      deferredFinalSyncs: finalSyncs.deferred,
      deferredTails: attributionTails.deferred,
    });
  }
  return {
    success: finalSyncs.failed === 0 && alarms.length === 0,
    accountsProcessed: finalSyncs.accounts,
    totalEntities: finalSyncs.completed,
    totalMetrics: finalSyncs.metricDays,
    failedEntities: finalSyncs.failed,
    recoveredJobs: recovered,
    attributionTails,
    budgetAlarms: alarms,
    deferredFinalSyncs: finalSyncs.deferred,
    budgetSpent,
  };
}
