// What a run (the creation worker's, the safety net's) may still spend. Supabase ends an isolate
// at 2 s of CPU, counted over all its requests and their background work (it retires it at 1 s),
// and at its wall-clock limit (150 s; 400 s on paid plans), mid-step: what every run in it had
// claimed then waits for its lease to expire. So a run stops taking on work (a new job, a job's
// next step, the next batch of reads) once the isolate has spent its share of either, and
// releases what it holds. Runs in the same isolate at once share its budget.
//
// CPU, as the isolate can see it: Deno 2.1's process.cpuUsage() is not implemented (zeros), and
// where it is (later Deno: getrusage RUSAGE_SELF) it sums every isolate of the process; Supabase's
// runtime gives functions no CPU figure. Linux's /proc/thread-self/stat is this isolate's thread
// alone, what the CPU limit counts; where it cannot be read (Supabase's runtime lets a function
// read only its own files), each step of every run in the isolate counts for an estimate instead.
import { threadCpuMs } from "./thread-cpu.ts";

/**
 * The estimate of a job step (a Graph request and its writes, or a job's claim) where the thread's
 * CPU is unreadable: about 7 ms measured on the local stack on a loaded 2-core machine (a 1-200-1
 * run: 1,300 ms over some 190 steps), three times that for a margin.
 */
const estimatedStepCpuMs = 20;

/** Supabase's wall-clock limit per isolate on the free plan (paid plans allow 400 s). */
const isolateWallClockMs = 150_000;
/** A step under way may last a Graph write's timeout (30 s); then the run releases its jobs. */
const wallClockMarginMs = 35_000;

/** The estimated CPU of the steps this isolate's runs took, where the thread's is unreadable. */
let isolateStepsCpuMs = 0;

/** This thread's CPU time in ms, or null where it cannot be read. */
function ownCpuMs(): number | null {
  try {
    return threadCpuMs();
  } catch {
    return null;
  }
}

/**
 * The thread's CPU when the isolate's first run started, after its boot: the budget counts what
 * the isolate spends serving. Hosted boots load a bundle, far cheaper than the local runtime's
 * (100 to 400 ms here), which the budget's margin under the hard limit covers either way.
 */
let cpuAtFirstRun: number | undefined;

export type BudgetSpent = "wall_clock" | "cpu";

/** What a run asks before it takes on more work. */
export type WorkBudget = {
  /** A step taken, its CPU `estimatedMs` where the thread's CPU is unreadable. */
  step(estimatedMs?: number): void;
  /** Which budget is spent, or null while the run may take on more work. */
  spent(): BudgetSpent | null;
};

export class RunBudget implements WorkBudget {
  readonly deadline: number;
  readonly cpuBudgetMs: number;

  /**
   * `wallMs`: the run's own limit, within what is left of the isolate's wall clock; `cpuBudgetMs`:
   * the isolate's CPU at which it stops.
   */
  constructor(wallMs: number, cpuBudgetMs: number) {
    // performance.now() counts from the isolate's start: an isolate serves many requests.
    const isolateLeftMs = isolateWallClockMs - wallClockMarginMs - performance.now();
    this.deadline = Date.now() + Math.min(wallMs, isolateLeftMs);
    this.cpuBudgetMs = cpuBudgetMs;
    cpuAtFirstRun ??= ownCpuMs() ?? 0;
  }

  step(estimatedMs = estimatedStepCpuMs): void {
    isolateStepsCpuMs += estimatedMs;
  }

  /** CPU the isolate has spent since it booted: measured, else estimated from its runs' steps. */
  cpuMs(): number {
    const now = ownCpuMs();
    return now === null ? isolateStepsCpuMs : now - cpuAtFirstRun!;
  }

  spent(): BudgetSpent | null {
    if (Date.now() >= this.deadline) return "wall_clock";
    return this.cpuMs() >= this.cpuBudgetMs ? "cpu" : null;
  }
}
