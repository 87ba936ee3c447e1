// The creation worker: a run takes one of the database's worker slots (creation/worker-slots.ts:
// a burst of launches cannot pile up runs and their connections), then claims due jobs and runs
// each one's pipeline (creation/job-pipeline.ts) until it ends, waits, or the run's budget
// (platform/run-budget.ts: CPU and wall clock) is spent; several jobs at once, each its own lane.
// A run with nothing due waits a little for a released job coming due, then ends: pg_cron's next
// tick (or the next launch) starts another. A run that spent its budget with jobs due starts a
// fresh run (a request of its own, with its own budget) rather than leave them to the next tick.
import { z } from "zod";
import { adAccountById } from "../accounts/ad-account-access.ts";
import { onShutdown, runInBackground } from "../platform/background-task.ts";
import { db } from "../platform/db.ts";
import { CampaignCreateBody } from "./creation-request.ts";
import { JobLease, LeaseLost, nextJobDueAt } from "./job-tracker.ts";
import { log, withLogContext } from "../platform/log.ts";
import { JobPipeline, type JobRunReport } from "./job-pipeline.ts";
import { type BudgetSpent, RunBudget } from "../platform/run-budget.ts";
import { creationWorkerCpuBudgetMs } from "../platform/config.ts";
import { WorkerSlot } from "./worker-slots.ts";

export type { JobRunReport };

/** The worker function's body: how many jobs a run takes on at once. */
export const WorkerBody = z.object({ concurrency: z.number().int().min(1).max(8).optional() })
  .strict();

export type WorkerOptions = {
  /** Stop taking on work after this long (an edge function has a wall-clock limit). */
  budgetMs?: number;
  /** Stop taking on work after this much CPU (default: CREATION_WORKER_CPU_BUDGET_MS). */
  cpuBudgetMs?: number;
  leaseSeconds?: number;
  /**
   * Jobs run at the same time (each its own campaign: one worker per job, its batches one at a
   * time). Waiting on Meta dominates, so a few in parallel multiply throughput. 4 by default: with
   * the run's slot heartbeat, 5 connections of the isolate's pool (DB_POOL_MAX, 20: the four slots'
   * runs), so that no lane waits for a connection.
   */
  concurrency?: number;
};

const defaultConcurrency = 4;
/**
 * A run with nothing due waits this long at most for a released job to come due (a backoff), so
 * short waits do not cost a whole cron period; longer ones (Meta's rate limits are minutes) are
 * left to the next pg_cron tick.
 */
const maxIdleWaitMs = 20_000;
/** How often an idle lane looks for a due job while it waits. */
const idlePollMs = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a run of this isolate, out of budget before it took on anything, asked for a run. */
let askedWithNothingDone = false;

/**
 * What a run did: the slot it worked in (null: every slot was held), its jobs' reports, and the
 * budget it spent when that ended it.
 */
export type WorkerRunReport = { slot: number | null; jobs: JobRunReport[]; spent?: BudgetSpent };

/**
 * Takes a worker slot, then claims and runs due jobs until none is left (or due soon) or the
 * budget is spent. Without a free slot it ends at once: the runs holding the slots take the job up.
 */
export async function runCreationWorker(
  runId: string,
  options: WorkerOptions = {},
): Promise<WorkerRunReport> {
  const budget = new RunBudget(
    options.budgetMs ?? 100_000,
    options.cpuBudgetMs ?? creationWorkerCpuBudgetMs(),
  );
  const report: WorkerRunReport = { slot: null, jobs: [] };
  let held: WorkerSlot | null = null;
  // Ended by the runtime: the slot is freed at once where the runtime leaves the time (else its
  // hold expires); the jobs keep their leases until they expire.
  const stopListening = onShutdown(() => void held?.release().catch(() => {}));
  try {
    for (;;) {
      held = await WorkerSlot.claim(runId);
      if (!held) return report;
      report.slot = held.slot;
      try {
        report.jobs.push(...await runLanes(held, budget, options));
      } finally {
        await held.release();
      }
      // A launch whose run found every slot held just before this one was freed: take its job.
      const dueAt = await nextJobDueAt();
      if (dueAt === null || dueAt.getTime() > Date.now()) return report;
      report.spent = budget.spent() ?? undefined;
      if (report.spent) {
        // The isolate, past its budget, is past the runtime's soft limit too and takes no new
        // request: the run asked for lands in a fresh one. A run that took on nothing asks once
        // per isolate at most, so that a budget set below the soft limit cannot loop.
        if (report.jobs.length > 0 || !askedWithNothingDone) {
          askedWithNothingDone ||= report.jobs.length === 0;
          await requestCreationRun(`run out of budget (${report.spent})`);
        }
        return report;
      }
    }
  } finally {
    stopListening();
  }
}

/**
 * Asks for a creation-worker run for the jobs due (`why`: a launch, an approval, a run out of
 * budget): the creation-worker function, called through pg_net after commit when a worker slot is
 * free (public.start_creation_worker_run); the slots' runs take the jobs up otherwise. Never a run
 * in the caller's isolate: its CPU is shared with every request it serves at once. If the call
 * cannot be queued, pg_cron's next tick takes the jobs up.
 */
export async function requestCreationRun(why: string): Promise<void> {
  try {
    const [{ requested }] = await db()<{ requested: string | null }[]>`
      select public.start_creation_worker_run() as requested`;
    log.info(
      requested === null
        ? "creation worker run not requested: every slot is held; their runs take the jobs up"
        : "creation worker run requested",
      { why },
    );
  } catch (error) {
    log.warn("creation worker run not requested: the jobs are left to the next tick", {
      why,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

async function runLanes(
  slot: WorkerSlot,
  budget: RunBudget,
  options: WorkerOptions,
): Promise<JobRunReport[]> {
  const leaseSeconds = options.leaseSeconds ?? 60;
  const maxLanes = options.concurrency ?? defaultConcurrency;
  const reports: JobRunReport[] = [];
  /** Lanes claiming or working a job (counted from the claim on, so no lane ends in a race). */
  let busy = 0;
  const lanes: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  // A lane opens once the lanes before it all have a job: a run with one job due does not open
  // (and connect) lanes that would find nothing.
  const openLane = () => {
    if (lanes.length >= maxLanes) return;
    lanes.push(lane().catch((error) => void (failure ??= { error })));
  };
  const lane = async () => {
    while (slot.held && !budget.spent()) {
      busy++;
      let lease: JobLease | null = null;
      try {
        budget.step();
        lease = await JobLease.claimNext(leaseSeconds);
        if (lease && busy === lanes.length) openLane();
        if (lease) reports.push(await runJob(lease, budget, leaseSeconds));
      } finally {
        busy--;
      }
      if (lease) continue;
      // While another lane is busy, this one stays: the run holds a slot, and a launch that found
      // every slot held counts on the holders' idle lanes to take its job up.
      if (busy === 0) {
        const dueAt = await nextJobDueAt();
        const waitMs = dueAt === null ? Infinity : dueAt.getTime() - Date.now();
        if (waitMs > maxIdleWaitMs || Date.now() + waitMs >= budget.deadline) return;
      }
      await sleep(idlePollMs);
    }
  };
  openLane();
  // Lanes open while earlier ones run, so the list grows as it is awaited.
  for (let i = 0; i < lanes.length; i++) await lanes[i];
  if (failure) throw failure.error;
  return reports;
}

/** One job's run; its log lines carry the job's id and, once it is known, its ad account's. */
function runJob(lease: JobLease, budget: RunBudget, leaseSeconds: number): Promise<JobRunReport> {
  return withLogContext({ jobId: lease.job.id }, () => runJobLogged(lease, budget, leaseSeconds));
}

async function runJobLogged(
  lease: JobLease,
  budget: RunBudget,
  leaseSeconds: number,
): Promise<JobRunReport> {
  const fields = { worker: lease.worker };
  try {
    const request = CampaignCreateBody.safeParse(lease.job.request);
    const access = await adAccountById(lease.job.ad_account_id);
    const pipeline = new JobPipeline(
      lease,
      access,
      request.success ? request.data : null,
      budget,
      leaseSeconds,
    );
    return await withLogContext({ adAccountId: access.platformAccountId }, async () => {
      const report = await pipeline.run();
      log.info("creation job run", { ...fields, ...report });
      return report;
    });
  } catch (error) {
    if (error instanceof LeaseLost) {
      log.warn("creation job lease lost: another worker owns it", fields);
      return { jobId: lease.job.id, status: lease.job.status, lost: true };
    }
    // Unexpected (the database, a bug): this job waits for its lease to expire and is taken up
    // again (the claim caps how often); the other due jobs still run.
    log.error("creation job run failed", {
      ...fields,
      error: error instanceof Error ? error.message : String(error),
    });
    return {
      jobId: lease.job.id,
      status: lease.job.status,
      error: "internal error; it will be retried",
    };
  }
}

/**
 * Starts a worker run after the response (EdgeRuntime.waitUntil on Supabase and on the local
 * gateway): the creation-worker function's own request, from pg_cron, a launch's request for a run
 * or a hand-on. Returns the run's id, which its log lines carry.
 */
export function startWorkerInBackground(options: WorkerOptions = {}): string {
  const runId = crypto.randomUUID();
  withLogContext({ runId }, () => {
    const stopListening = onShutdown((reason) => {
      // Jobs held by this run keep their leases until they expire; then any run takes them up.
      log.warn("creation worker run cut short by the runtime", { reason });
    });
    runInBackground("creation worker run", async () => {
      try {
        const { slot, jobs, spent } = await runCreationWorker(runId, options);
        if (slot === null) {
          log.info(
            "creation worker run skipped: every worker slot is held; their runs take the jobs up",
          );
        } else log.info("creation worker run finished", { slot, jobs, spent });
      } finally {
        stopListening();
      }
    });
  });
  return runId;
}
