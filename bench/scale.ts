// Many launches at once: 1-5-1 launches all submitted together over many ad accounts, under a
// fixed-seed storm of transient errors and lost answers, driven only by the stack itself (each
// launch starts a worker run through EdgeRuntime.waitUntil; pg_cron, through pg_net, resumes what
// is left waiting). Measured: every launch exact, time to drain, launches per second, the latency
// of POST /campaign-create, the database's transactions and rows per launch, and the CPU time of
// each function invocation. Beside it, in the same run, the latency of the same launch sent alone
// and of a second burst into a warm isolate: what the pool's admission costs, and what is left.
import type postgres from "postgres";
import { adSetTemplate, type BenchStack, percentile, sleep } from "./harness.ts";
import { finalJobStatuses } from "../supabase/functions/_shared/creation/job-states.ts";

export type ScaleOptions = {
  launches: number;
  accounts: number;
  adSets: number;
  latencyMs: number;
  faultSeed: number;
  transientRate: number;
  lostRate: number;
  /** How long the statistics collector may lag (Postgres flushes an idle backend's counters 10 s late). */
  statsFlushMs: number;
  timeoutMs: number;
};

export type ScaleResult = {
  launches: number;
  accounts: number;
  shape: string;
  latencyMs: number;
  faults: { seed: number; transientRate: number; lostRate: number; fired: Record<string, number> };
  completed: number;
  rolledBack: number;
  failed: number;
  unsettled: number;
  refused: number;
  excess: number;
  missing: number;
  orphans: number;
  exact: boolean;
  /** From the first submission to the last job settled. */
  drainMs: number;
  launchesPerSecond: number;
  /** Every POST /campaign-create answered (202s and the retried refusals alike). */
  createLatencyMs: { p50: number; p95: number; p99: number; max: number; requests: number };
  /** Submissions answered 429 or 5xx (Retry-After honoured) and sent again, same Idempotency-Key. */
  submitRetries: number;
  /**
   * The same launch beside the burst into a cold pool, once it has drained, faults off: first ten
   * one at a time (`uncontendedMs`; the first may boot a worker), then a second burst of as many at
   * once over fresh accounts into the isolate they left warm. Their launches count in `exact`.
   */
  warm: {
    uncontendedMs: { p50: number; max: number; launches: number };
    burstMs: { p50: number; p95: number; p99: number; max: number; requests: number };
    burstResent: number;
    exact: boolean;
    /** POST /campaign-create requests sent, every attempt. */
    attempts: number;
    whileAnswering: WhileAnswering;
  };
  whileAnswering: WhileAnswering;
  /**
   * Deltas over the run, the whole database (functions, pg_cron, the pg_net relay), net of the
   * idle background measured just before and of the bench's own polling: statements sent
   * (pg_stat_statements calls, top level: a function's own statements are not counted),
   * transactions (xact_commit + xact_rollback: one per autocommit statement or per
   * begin..commit), rows written (tup_inserted + tup_updated + tup_deleted) and rows read
   * (tup_returned + tup_fetched), per launch.
   */
  database: {
    statementsPerLaunch: number;
    transactionsPerLaunch: number;
    rowsWrittenPerLaunch: number;
    rowsReadPerLaunch: number;
    /**
     * The tables (system catalogs included) whose rows were read most over the run, per launch:
     * sequential scans' rows, index entries and the rows fetched through them (not net of the
     * idle background nor of the bench's polls).
     */
    rowsReadByTable: { table: string; perLaunch: number }[];
  };
  /**
   * CPU time per isolate (campaign-create's and creation-worker's) over both bursts and the
   * launches between them, what Supabase's limits count (per worker, over all its requests:
   * retired at 1 s, ended at 2 s): its last reading, at the end of its last invocation; and the
   * invocations a limit ended.
   */
  cpuMs: { isolates: number; p50: number; max: number; endedByLimit: number };
};

/** Where the machine's CPU goes: the processes of the stack, and everything else. */
type ProcessGroup = "functions" | "postgres" | "bench" | "other";

/**
 * The machine while a burst was being answered (first submission to last answer): the share of
 * its cores busy, and CPU time per launch, in all and by process: the stack's functions server
 * (the gateway and its isolates, with the worker runs they start), its Postgres (the postmaster
 * and its children), this process (the supabase-js clients, the simulator, the pg_net relay), and
 * the rest (other processes, the kernel, and processes that ended meanwhile, such as the backends
 * of closed connections). With the cores saturated the answers queue for CPU: the last cannot come
 * before launches × cpuMsPerLaunch / cores.
 */
export type WhileAnswering = {
  wallMs: number;
  cores: number;
  busyShare: number;
  cpuMsPerLaunch: number;
  cpuMsPerLaunchBy: Record<ProcessGroup, number>;
};

/** The processes whose CPU is counted apart: the functions server and the Postgres postmaster. */
type StackProcesses = { functions: number; postmaster: number };

type CpuReading = {
  at: number;
  busy: number;
  total: number;
  /** CPU time of each tracked process by pid, with its group. */
  processes: Map<number, { group: Exclude<ProcessGroup, "other">; cpuMs: number }>;
};

// USER_HZ is 100 on Linux: a jiffy is 10 ms.
const jiffyMs = 10;

/** A process's parent pid and CPU time (user + system), or null once it has ended. */
function processStat(pid: number): { parent: number; cpuMs: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // After the command's name in parentheses: ppid is field 4, utime and stime 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      parent: Number(fields[1]),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * jiffyMs,
    };
  } catch {
    return null;
  }
}

/** Machine-wide CPU time from /proc/stat and the stack's processes', in ms summed over the cores. */
function cpuReading(stack: StackProcesses): CpuReading {
  const jiffies = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = jiffies;
  const busy = user + nice + system + irq + softirq + steal;
  const processes: CpuReading["processes"] = new Map();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    const stat = processStat(pid);
    if (!stat) continue;
    const group = pid === Deno.pid
      ? "bench"
      : pid === stack.functions
      ? "functions"
      : pid === stack.postmaster || stat.parent === stack.postmaster
      ? "postgres"
      : undefined;
    if (group) processes.set(pid, { group, cpuMs: stat.cpuMs });
  }
  return {
    at: performance.now(),
    busy: busy * jiffyMs,
    total: (busy + idle + iowait) * jiffyMs,
    processes,
  };
}

/** The pids of the functions server and of the Postgres postmaster serving `sql`. */
async function stackProcesses(bench: BenchStack): Promise<StackProcesses> {
  const [{ pid }] = await bench.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const backend = processStat(pid);
  if (!backend) throw new Error("the bench reads /proc: it runs on the database's machine");
  return { functions: bench.stack.functions.pid, postmaster: backend.parent };
}

function whileAnswering(from: CpuReading, to: CpuReading, launches: number): WhileAnswering {
  const busy = to.busy - from.busy;
  const byGroup: Record<ProcessGroup, number> = { functions: 0, postgres: 0, bench: 0, other: 0 };
  // Processes alive at the end: what they spent since the start (all of it if started since).
  for (const [pid, { group, cpuMs }] of to.processes) {
    byGroup[group] += (cpuMs - (from.processes.get(pid)?.cpuMs ?? 0)) / launches;
  }
  byGroup.other = busy / launches - byGroup.functions - byGroup.postgres - byGroup.bench;
  return {
    wallMs: to.at - from.at,
    cores: navigator.hardwareConcurrency,
    busyShare: busy / (to.total - from.total),
    cpuMsPerLaunch: busy / launches,
    cpuMsPerLaunchBy: byGroup,
  };
}

type Counters = { at: number; statements: number; xacts: number; written: number; read: number };

/** Rows read so far per table of the database, system catalogs included. */
async function rowsReadByTable(sql: postgres.Sql): Promise<Map<string, number>> {
  const rows = await sql<{ table: string; read: string }[]>`
    select t.schemaname || '.' || t.relname as table,
           coalesce(t.seq_tup_read, 0) + coalesce(t.idx_tup_fetch, 0)
             + coalesce((select sum(i.idx_tup_read) from pg_stat_all_indexes i
                         where i.relid = t.relid), 0) as read
    from pg_stat_all_tables t`;
  return new Map(rows.map((r) => [r.table, Number(r.read)]));
}

/** The `count` tables read most between two readings, per launch. */
function mostRead(from: Map<string, number>, to: Map<string, number>, launches: number, count = 5) {
  return [...to]
    .map(([table, read]) => ({ table, perLaunch: (read - (from.get(table) ?? 0)) / launches }))
    .sort((a, b) => b.perLaunch - a.perLaunch)
    .slice(0, count);
}

/** The statements a bench poll sends: begin, its two selects, commit. */
const statementsPerPoll = 4;

async function counters(sql: postgres.Sql): Promise<Counters> {
  const [row] = await sql<{ statements: string; xacts: string; written: string; read: string }[]>`
    select (select coalesce(sum(s.calls), 0) from extensions.pg_stat_statements s
            where s.dbid = d.datid) as statements,
           xact_commit + xact_rollback as xacts,
           tup_inserted + tup_updated + tup_deleted as written,
           tup_returned + tup_fetched as read
    from pg_stat_database d where datname = current_database()`;
  return {
    at: performance.now(),
    statements: Number(row.statements),
    xacts: Number(row.xacts),
    written: Number(row.written),
    read: Number(row.read),
  };
}

const retryable = (status: number) => status === 429 || status >= 500;

/** A launch as its app sent it: each attempt's latency, its job, or its last refusal. */
type Submission = { act: string; jobId?: number; refused?: string; latencies: number[] };

async function submit(bench: BenchStack, act: string, key: string, name: string, adSets: number) {
  const submission: Submission = { act, latencies: [] };
  for (let attempt = 0; attempt < 20; attempt++) {
    const started = performance.now();
    const answer = await bench.invoke("campaign-create", {
      adAccountId: act,
      campaign: { name, objective: "OUTCOME_SALES" },
      adSets: { count: adSets, template: adSetTemplate },
      ads: { perAdSet: 1, template: { creativeId: "555" } },
    }, { "Idempotency-Key": key });
    submission.latencies.push(performance.now() - started);
    if (answer.status === 202) {
      submission.jobId = Number(answer.body.jobId);
      return submission;
    }
    submission.refused = `${answer.status} ${JSON.stringify(answer.body)}`;
    if (!retryable(answer.status)) break;
    // Without a Retry-After, exponential backoff with full jitter (a random share of it), as a
    // careful app does: refused together, resends must not all come back together.
    await sleep(
      answer.retryAfter
        ? answer.retryAfter * 1000
        : Math.random() * Math.min(8000, 1000 * 2 ** attempt),
    );
  }
  return submission;
}

type SimObject = { id: string; type: string; name: string; parentId: string; deleted: boolean };

/** Compares each account on Meta with its jobs: completed ones whole, nothing else left live. */
async function exactness(
  bench: BenchStack,
  accounts: string[],
  jobs: JobOutcome[],
  adSets: number,
) {
  let excess = 0, missing = 0, orphans = 0;
  for (const act of accounts) {
    const { objects } = await bench.control<{ objects: SimObject[] }>(`state?account=${act}`);
    const live = objects.filter((o) => !o.deleted);
    const completed = new Set(
      jobs.filter((j) => j.act === act && j.status === "completed").map((j) => j.campaign),
    );
    for (const campaign of live.filter((o) => o.type === "campaign")) {
      if (!completed.has(campaign.id)) {
        orphans += 1 + live.filter((o) => o.parentId === campaign.id).length;
        continue;
      }
      const sets = live.filter((o) => o.type === "adset" && o.parentId === campaign.id);
      excess += Math.max(0, sets.length - adSets);
      missing += Math.max(0, adSets - sets.length);
      for (const set of sets) {
        const ads = live.filter((o) => o.type === "ad" && o.parentId === set.id).length;
        excess += Math.max(0, ads - 1);
        missing += 1 - Math.min(1, ads);
      }
      completed.delete(campaign.id);
    }
    missing += completed.size * (1 + 2 * adSets);
  }
  return { excess, missing, orphans };
}

/** The latency summary of a set of answered requests. */
function latencySummary(latencies: number[]) {
  return {
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    max: Math.max(...latencies),
    requests: latencies.length,
  };
}

/** Connects `count` new accounts, five at a time. */
async function connectAccounts(bench: BenchStack, count: number): Promise<string[]> {
  const accounts: string[] = [];
  while (accounts.length < count) {
    accounts.push(
      ...await Promise.all(
        Array.from({ length: Math.min(5, count - accounts.length) }, () => bench.connect()),
      ),
    );
  }
  return accounts;
}

/** Launches `count` 1-N-1 at once, round robin over the accounts, each resent while refused. */
function burst(bench: BenchStack, accounts: string[], count: number, adSets: number) {
  const runTag = crypto.randomUUID().slice(0, 8);
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        submit(
          bench,
          accounts[i % accounts.length],
          `scale-${runTag}-${i}`,
          `Scale ${runTag} #${i}`,
          adSets,
        ),
    ),
  );
}

/** The jobs the submissions made (a refused one made none). */
const jobIdsOf = (submissions: Submission[]) =>
  submissions.flatMap((s) => s.jobId === undefined ? [] : [s.jobId]);

type JobOutcome = { act: string; status: string; campaign: string | null };

/** The jobs' accounts, statuses and campaigns on Meta. */
function jobOutcomes(sql: postgres.Sql, jobIds: number[]) {
  return sql<JobOutcome[]>`
    select a.platform_account_id as act, j.status, j.facebook_campaign_id as campaign
    from public.campaign_creation_jobs j join public.ad_accounts a on a.id = j.ad_account_id
    where j.id = any(${jobIds})`;
}

/** Whether every job completed with exactly its launch on Meta, and nothing else is live there. */
async function allExact(
  bench: BenchStack,
  accounts: string[],
  submissions: Submission[],
  adSets: number,
): Promise<boolean> {
  const jobIds = jobIdsOf(submissions);
  if (jobIds.length < submissions.length) return false;
  const jobs = await jobOutcomes(bench.sql, jobIds);
  const { excess, missing, orphans } = await exactness(bench, accounts, jobs, adSets);
  return excess + missing + orphans === 0 && jobs.every((j) => j.status === "completed");
}

/** How many of the jobs are not settled yet. */
async function openJobs(sql: postgres.Sql | postgres.TransactionSql, jobIds: number[]) {
  const [{ open }] = await sql<{ open: number }[]>`
    select count(*)::int as open from public.campaign_creation_jobs
    where id = any(${jobIds}) and not (status::text = any(${[...finalJobStatuses]}::text[]))`;
  return open;
}

/** Waits, watching the database only, until the jobs are settled or the deadline passes. */
async function settled(sql: postgres.Sql, jobIds: number[], deadline: number): Promise<void> {
  while (performance.now() < deadline && await openJobs(sql, jobIds) > 0) await sleep(250);
}

/** Ten launches one after another on one account, then a burst into the isolate they warmed. */
async function warmLaunches(
  bench: BenchStack,
  options: ScaleOptions,
  single: string,
  accounts: string[],
  processes: StackProcesses,
): Promise<ScaleResult["warm"]> {
  // An account takes 10 launches a minute (adrail_limits): the one-at-a-time run stays under it.
  const sequential: Submission[] = [];
  for (let i = 0; i < 10; i++) {
    sequential.push(
      await submit(bench, single, `one-${crypto.randomUUID()}`, `One #${i}`, options.adSets),
    );
  }
  const burstStart = cpuReading(processes);
  const submissions = await burst(bench, accounts, options.launches, options.adSets);
  const answered = whileAnswering(burstStart, cpuReading(processes), options.launches);
  await settled(
    bench.sql,
    jobIdsOf([...sequential, ...submissions]),
    performance.now() + options.timeoutMs,
  );
  const sequentialLatencies = sequential.flatMap((s) => s.latencies);
  const burstLatencies = submissions.flatMap((s) => s.latencies);
  return {
    uncontendedMs: {
      p50: percentile(sequentialLatencies, 0.5),
      max: Math.max(...sequentialLatencies),
      launches: sequential.length,
    },
    burstMs: latencySummary(burstLatencies),
    burstResent: burstLatencies.length - submissions.length,
    exact: await allExact(bench, [single], sequential, options.adSets) &&
      await allExact(bench, accounts, submissions, options.adSets),
    attempts: sequentialLatencies.length + burstLatencies.length,
    whileAnswering: answered,
  };
}

export async function manyLaunches(bench: BenchStack, options: ScaleOptions): Promise<ScaleResult> {
  const { sql } = bench;
  const accounts = await connectAccounts(bench, options.accounts);
  // The second burst's accounts (each takes 10 launches a minute), and one for launches one by one.
  const warmAccounts = await connectAccounts(bench, options.accounts + 1);
  const processes = await stackProcesses(bench);
  // The idle background (the relay's polls, pg_cron), once the connects' counters are flushed.
  await sleep(options.statsFlushMs);
  const idleStart = await counters(sql);
  await sleep(5000);
  const start = await counters(sql);
  const tablesAtStart = await rowsReadByTable(sql);
  const idlePerMs = (key: keyof Omit<Counters, "at">) =>
    (start[key] - idleStart[key]) / (start.at - idleStart.at);

  await bench.control("faults", {
    rules: [
      { probability: options.lostRate, effect: { applyThenDrop: true } },
      {
        probability: options.transientRate,
        effect: { error: { code: 2, transient: true, status: 503 } },
      },
    ],
  });
  const firstRequest = await bench.graphRequests();
  const invocationsBefore = bench.stack.functions.invocations().length;
  const submitted = performance.now();
  const cpuAtSubmission = cpuReading(processes);
  const submissions = await burst(bench, accounts, options.launches, options.adSets);
  const answered = whileAnswering(cpuAtSubmission, cpuReading(processes), options.launches);
  const jobIds = jobIdsOf(submissions);

  // The polls' own reads, counted in each poll's transaction (the jobs table and its indexes),
  // are taken off the database's rows read: 500 jobs read by id every 250 ms are not launch work.
  const jobRelations = (await sql<{ oid: string }[]>`
    select 'public.campaign_creation_jobs'::regclass::oid as oid
    union all select indexrelid from pg_index where indrelid = 'public.campaign_creation_jobs'::regclass`)
    .map((r) => r.oid);
  let ownPolls = 0;
  let ownRead = 0;
  let settledAt = performance.now();
  for (;;) {
    ownPolls++;
    const open = await sql.begin(async (tx) => {
      const open = await openJobs(tx, jobIds);
      const [{ read }] = await tx<{ read: string }[]>`
        select sum(pg_stat_get_xact_tuples_returned(r) + pg_stat_get_xact_tuples_fetched(r)) as read
        from unnest(${jobRelations}::oid[]) r`;
      ownRead += Number(read);
      return open;
    });
    settledAt = performance.now();
    if (open === 0 || settledAt - submitted > options.timeoutMs) break;
    await sleep(250);
  }
  // Every launch's invocation logs its record when its background run has ended.
  const attempts = submissions.reduce((n, s) => n + s.latencies.length, 0);
  const records = () =>
    bench.stack.functions.invocations().slice(invocationsBefore).filter((i) =>
      i.function === "creation-worker" || (i.function === "campaign-create" && i.method === "POST")
    );
  const recorded = async (launchAttempts: number) => {
    const waitUntil = performance.now() + 60_000;
    while (
      records().filter((r) => r.function === "campaign-create").length < launchAttempts &&
      performance.now() < waitUntil
    ) await sleep(250);
  };
  await recorded(attempts);
  const log = (await bench.requestLog()).filter((r) => r.seq > firstRequest);
  await bench.control("faults", { rules: [] });
  await sleep(options.statsFlushMs);
  const end = await counters(sql);
  const tablesAtEnd = await rowsReadByTable(sql);
  const net = (key: keyof Omit<Counters, "at">, own = 0) =>
    (end[key] - start[key] - idlePerMs(key) * (end.at - start.at) - own) / options.launches;

  const jobs = await jobOutcomes(sql, jobIds);
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  const { excess, missing, orphans } = await exactness(bench, accounts, jobs, options.adSets);
  const fired: Record<string, number> = {};
  for (const request of log) {
    for (const fault of request.faults) fired[fault.effect] = (fired[fault.effect] ?? 0) + 1;
  }
  const latencies = submissions.flatMap((s) => s.latencies);
  const warm = await warmLaunches(
    bench,
    options,
    warmAccounts[0],
    warmAccounts.slice(1),
    processes,
  );
  await recorded(attempts + warm.attempts);
  const isolateCpu = new Map<string, number>();
  for (const r of records()) {
    if (r.isolate) {
      isolateCpu.set(r.isolate, Math.max(isolateCpu.get(r.isolate) ?? 0, r.isolateCpuMs ?? 0));
    }
  }
  const cpu = [...isolateCpu.values()];
  const unsettled = jobs.filter((j) => !(finalJobStatuses as readonly string[]).includes(j.status))
    .length;
  const refused = submissions.filter((s) => s.jobId === undefined).length;
  const drainMs = settledAt - submitted;
  return {
    launches: options.launches,
    accounts: options.accounts,
    shape: `1-${options.adSets}-1`,
    latencyMs: options.latencyMs,
    faults: {
      seed: options.faultSeed,
      transientRate: options.transientRate,
      lostRate: options.lostRate,
      fired,
    },
    completed: count("completed"),
    rolledBack: count("rolled_back"),
    failed: count("failed"),
    unsettled,
    refused,
    excess,
    missing,
    orphans,
    exact: excess + missing + orphans + unsettled + refused + count("failed") === 0 && warm.exact,
    drainMs,
    launchesPerSecond: options.launches / (drainMs / 1000),
    createLatencyMs: latencySummary(latencies),
    submitRetries: attempts - submissions.length,
    warm,
    whileAnswering: answered,
    database: {
      statementsPerLaunch: net("statements", ownPolls * statementsPerPoll),
      transactionsPerLaunch: net("xacts", ownPolls),
      rowsWrittenPerLaunch: net("written"),
      rowsReadPerLaunch: net("read", ownRead),
      rowsReadByTable: mostRead(tablesAtStart, tablesAtEnd, options.launches),
    },
    cpuMs: {
      isolates: cpu.length,
      p50: percentile(cpu, 0.5),
      max: Math.max(...cpu),
      endedByLimit:
        records().filter((r) => r.outcome === "cpu" || r.outcome === "wall_clock").length,
    },
  };
}
