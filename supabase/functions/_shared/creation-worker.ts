// The creation worker: claims due jobs and runs each one's pipeline (creation/job-pipeline.ts)
// until it ends, waits, or the run's time is up; several jobs at once, each its own lane. A run
// with nothing due waits a little for a released job coming due, then ends: pg_cron's next tick
// (or the next launch) starts another.
import { z } from "zod";
import { adAccountById } from "./ad-account-access.ts";
import { onShutdown, runInBackground } from "./background-task.ts";
import { CampaignCreateBody } from "./creation-request.ts";
import { JobLease, LeaseLost, nextJobDueAt } from "./job-tracker.ts";
import { log } from "./log.ts";
import { JobPipeline, type JobRunReport } from "./creation/job-pipeline.ts";

export type { JobRunReport };

/** The worker function's body: how many jobs a run takes on at once. */
export const WorkerBody = z.object({ concurrency: z.number().int().min(1).max(8).optional() })
  .strict();

export type WorkerOptions = {
  /** Stop claiming new jobs after this long (an edge function has a wall-clock limit). */
  budgetMs?: number;
  leaseSeconds?: number;
  /**
   * Jobs run at the same time (each its own campaign: one worker per job, its batches one at a
   * time). Waiting on Meta dominates, so a few in parallel multiply throughput.
   */
  concurrency?: number;
};

/** Jobs one worker run takes on at once; the functions' database pool has 5 connections. */
const defaultConcurrency = 4;
/**
 * A run with nothing due waits this long at most for a released job to come due (a backoff), so
 * short waits do not cost a whole cron period; longer ones (Meta's rate limits are minutes) are
 * left to the next pg_cron tick.
 */
const maxIdleWaitMs = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Claims and runs due jobs until none is left (or due soon) or the budget is spent. */
export async function runCreationWorker(options: WorkerOptions = {}): Promise<JobRunReport[]> {
  const deadline = Date.now() + (options.budgetMs ?? 100_000);
  const leaseSeconds = options.leaseSeconds ?? 60;
  const reports: JobRunReport[] = [];
  const lane = async () => {
    while (Date.now() < deadline) {
      const lease = await JobLease.claimNext(leaseSeconds);
      if (lease) {
        reports.push(await runJob(lease, deadline, leaseSeconds));
        continue;
      }
      const dueAt = await nextJobDueAt();
      const waitMs = dueAt === null ? Infinity : dueAt.getTime() - Date.now();
      if (waitMs > maxIdleWaitMs || Date.now() + waitMs >= deadline) return;
      await sleep(Math.max(waitMs, 0) + 50);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? defaultConcurrency }, lane));
  return reports;
}

async function runJob(
  lease: JobLease,
  deadline: number,
  leaseSeconds: number,
): Promise<JobRunReport> {
  const fields = { jobId: lease.job.id, worker: lease.worker };
  try {
    const request = CampaignCreateBody.safeParse(lease.job.request);
    const access = await adAccountById(lease.job.ad_account_id);
    const pipeline = new JobPipeline(
      lease,
      access,
      request.success ? request.data : null,
      deadline,
      leaseSeconds,
    );
    const report = await pipeline.run();
    log.info("creation job run", { ...fields, ...report });
    return report;
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
 * gateway), so a launch starts at once rather than at the next pg_cron tick. Returns the run's
 * id, which its log lines carry.
 */
export function startWorkerInBackground(options: WorkerOptions = {}): string {
  const runId = crypto.randomUUID();
  onShutdown((reason) => {
    // Jobs held by this run keep their leases until they expire; then any run takes them up.
    log.warn("creation worker run cut short by the runtime", { runId, reason });
  });
  runInBackground("creation worker run", async () => {
    const jobs = await runCreationWorker(options);
    log.info("creation worker run finished", { runId, jobs });
  }, { runId });
  return runId;
}
