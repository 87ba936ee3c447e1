// The platform's health, for anyone to read: is the database reachable, does pg_cron still tick
// while creation jobs wait, has any job waited too long. Counts and ages only (public.adrail_health
// returns nothing else): no id, name, account or error text ever leaves here.
import { db } from "./db.ts";
import { log } from "./log.ts";

/** A creation job due for longer than this means no worker is taking jobs. */
export const overdueJobSeconds = 5 * 60;
/** pg_cron ticks every minute: a last tick older than this, with jobs due, means it stopped. */
export const staleCronTickSeconds = 3 * 60;
/** How long the database may take to answer before it counts as unreachable. */
export const databaseTimeoutMs = 5_000;

/** What public.adrail_health() returns. */
export type DatabaseHealth = {
  cronInstalled: boolean;
  lastCronTickAgeSeconds: number | null;
  dueJobs: number;
  oldestDueJobAgeSeconds: number | null;
  jobsByStatus: Record<string, number>;
  pendingFinalSyncs: number;
  openCircuitBreakers: number;
};

export type HealthProblem = "database_unreachable" | "cron_stale" | "job_overdue";

export type HealthReport =
  & { healthy: boolean; problems: HealthProblem[]; checkedAt: string }
  & ({ database: "reachable" } & DatabaseHealth | { database: "unreachable" });

/** The problems in a database's answer (pure). */
export function problemsOf(health: DatabaseHealth): HealthProblem[] {
  const problems: HealthProblem[] = [];
  const tickAge = health.lastCronTickAgeSeconds;
  if (
    health.cronInstalled && health.dueJobs > 0 &&
    (tickAge === null || tickAge > staleCronTickSeconds)
  ) problems.push("cron_stale");
  if ((health.oldestDueJobAgeSeconds ?? 0) > overdueJobSeconds) problems.push("job_overdue");
  return problems;
}

async function readDatabaseHealth(): Promise<DatabaseHealth> {
  let timer: number | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), databaseTimeoutMs);
  });
  try {
    const query = db()<{ health: DatabaseHealth }[]>`select public.adrail_health() as health`;
    const [{ health }] = await Promise.race([query, timeout]);
    return health;
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(): Promise<HealthReport> {
  const checkedAt = new Date().toISOString();
  let health: DatabaseHealth;
  try {
    health = await readDatabaseHealth();
  } catch (error) {
    // The error's name and SQLSTATE only: a connection error's text can name the host.
    log.error("health: database unreachable", {
      error: error instanceof Error ? error.name : typeof error,
      sqlState: (error as { code?: unknown } | null)?.code,
    });
    return {
      healthy: false,
      problems: ["database_unreachable"],
      checkedAt,
      database: "unreachable",
    };
  }
  const problems = problemsOf(health);
  return { healthy: problems.length === 0, problems, checkedAt, database: "reachable", ...health };
}
