// The local stack, one set-up for tests, the demo and the benchmark: the Graph API simulator (in
// process), the functions server (a process of its own, as Supabase's runtime is: it can be
// killed and started again), the pg_net relay, and the database wired to them as a hosted
// project is: the functions URL and the cron secret in Vault under the names the hosted set-up
// uses, and public.schedule_adrail_jobs() scheduling the worker and the safety net for real.
import postgres from "postgres";
import { type RunningSimulator, startSimulator } from "../../simulator/server.ts";
import { startPgNetRelay } from "../pg-net-relay.ts";
import { localStackDatabase } from "./local-db.ts";
import type { InvocationRecord } from "../functions-server.ts";
import { functionsEnv, localCronSecret } from "./local-env.ts";
import { ignoreStaleSocketWrites } from "../../supabase/functions/_shared/platform/stale-socket-writes.ts";

const root = new URL("../../", import.meta.url).pathname;

export type StackOptions = {
  databaseUrl: string;
  /** Seeds the simulator's ids and metrics: stacks with other seeds never share a Meta id. */
  seed: number;
  /** Seeds the simulator's faults instead of `seed` (a fixed storm with fresh ids). */
  faultSeed?: number;
  latencyMs?: number;
  functionsPort?: number;
  /** Settings for the functions beyond the local defaults (limits, log echo). */
  functionsEnv?: Record<string, string>;
  /** Print the functions' log lines as they come (default: keep them for `functionsLog`). */
  echoFunctionsLog?: boolean;
  /** Also append the functions' log lines to this file (the demo's: its stdout is the story). */
  functionsLogFile?: string;
};

/** The functions server, a child process. */
export type FunctionsProcess = {
  url: string;
  /** Its process id (the bench reads its CPU time). */
  pid: number;
  /** Ends the process at once (SIGKILL), as a crashed runtime: no shutdown, nothing flushed. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port; with `env`, those settings over the ones it was started
   * with (not over an earlier restart's; an empty value clears a setting).
   */
  restart(env?: Record<string, string>): Promise<void>;
  /** Every log line it printed, parsed when it is JSON. */
  log(): Record<string, unknown>[];
  /** The per-invocation records of the log (wall and CPU time). */
  invocations(): InvocationRecord[];
  close(): Promise<void>;
};

export type LocalStack = {
  databaseUrl: string;
  simulator: RunningSimulator;
  functions: FunctionsProcess;
  close(): Promise<void>;
};

export async function startFunctionsProcess(
  port: number,
  env: Record<string, string>,
  echo: boolean,
  logFile?: string,
): Promise<FunctionsProcess> {
  const lines: Record<string, unknown>[] = [];
  let child: Deno.ChildProcess;
  let output: Promise<void>;
  let url = "";

  // The test command's secret scan (dev/lib/secret-scan.ts): answers and log lines kept in files.
  const trafficDir = Deno.env.get("ADRAIL_TRAFFIC_DIR");
  const recording = trafficDir ? `${trafficDir}/functions-${crypto.randomUUID()}` : undefined;

  const spawn = async (onPort: number, overrides: Record<string, string> = {}) => {
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}dev/functions-server.ts`],
      env: {
        ...env,
        ...overrides,
        ...(recording ? { FUNCTIONS_RESPONSE_LOG: `${recording}.responses.jsonl` } : {}),
        FUNCTIONS_PORT: String(onPort),
        DENO_TLS_CA_STORE: "system",
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let listening: (url: string) => void;
    const ready = new Promise<string>((resolve) => listening = resolve);
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      let pending = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const complete = pending.split("\n");
        pending = complete.pop()!;
        for (const line of complete) {
          if (echo) console.log(line);
          if (logFile) Deno.writeTextFileSync(logFile, `${line}\n`, { append: true });
          if (recording) Deno.writeTextFileSync(`${recording}.log`, `${line}\n`, { append: true });
          try {
            const parsed = JSON.parse(line);
            if (parsed.message === "listening") listening(parsed.url);
            lines.push(parsed);
          } catch {
            lines.push({ text: line });
          }
        }
      }
    };
    output = Promise.all([collect(child.stdout), collect(child.stderr)]).then(() => {});
    const exited = child.status.then((status) => {
      throw new Error(`the functions server exited (${status.code}): ${JSON.stringify(lines)}`);
    });
    url = await Promise.race([ready, exited]);
    exited.catch(() => {});
  };

  await spawn(port);
  const boundPort = Number(new URL(url).port);
  const stop = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.status;
    await output;
  };

  return {
    get url() {
      return url;
    },
    get pid() {
      return child.pid;
    },
    kill: () => stop("SIGKILL"),
    restart: (overrides) => spawn(boundPort, overrides),
    log: () => lines,
    invocations: () => lines.filter((l) => l.message === "invocation") as InvocationRecord[],
    close: () => stop("SIGTERM"),
  };
}

const functionsUrlSecret = "adrail_functions_url";

/** Stores a Vault secret under `name` (created or replaced); returns the value it replaced. */
async function storeSecret(
  sql: postgres.Sql,
  name: string,
  secret: string,
): Promise<string | undefined> {
  const [existing] = await sql<{ id: string; value: string }[]>`
    select id, decrypted_secret as value from vault.decrypted_secrets where name = ${name}`;
  if (existing) await sql`select vault.update_secret(${existing.id}, ${secret})`;
  else await sql`select vault.create_secret(${secret}, ${name})`;
  return existing?.value;
}

/**
 * What the hosted set-up does once in the SQL editor: the functions' URL and the cron secret in
 * Vault, then the schedules. Returns the jobs scheduled (none where pg_cron is not in this
 * database: pg_cron runs in one database of a cluster) and the functions URL it replaced.
 */
export async function wireCronToFunctions(
  databaseUrl: string,
  functionsUrl: string,
): Promise<{ scheduled: string[]; replacedUrl?: string }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const replacedUrl = await storeSecret(sql, functionsUrlSecret, `${functionsUrl}/functions/v1`);
    await storeSecret(sql, "adrail_cron_secret", localCronSecret);
    const [{ jobs }] = await sql<{ jobs: string[] }[]>`
      select public.schedule_adrail_jobs() as jobs`;
    return { scheduled: jobs, replacedUrl };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Points pg_cron's calls back where they went before (a `deno task start` stack, say). */
async function restoreFunctionsUrl(databaseUrl: string, url: string | undefined): Promise<void> {
  if (!url) return;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await storeSecret(sql, functionsUrlSecret, url);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Sets the default interval of scheduled syncs (null: none); returns the one it replaced. The
 * demo, the bench and the tests count and assert what they drive themselves: a sync pg_cron
 * started in the middle (hourly, at each account's own minute) would add Graph requests to their
 * counts, and the test files share one database. So scheduled syncs are off while they run (a
 * test of the schedule gives its own account an interval) and the default comes back after;
 * `deno task start` keeps it.
 */
async function setDefaultSyncInterval(
  databaseUrl: string,
  minutes: number | null,
): Promise<number | null> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [{ previous }] = await sql<{ previous: number | null }[]>`
      select interval_minutes as previous from public.ads_sync_settings`;
    await sql`select public.set_ads_sync_interval(${minutes})`;
    return previous;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function startLocalStack(options: StackOptions): Promise<LocalStack> {
  localStackDatabase(options.databaseUrl);
  // The relay, the caller's own pools and the simulator share this process with postgres.js.
  ignoreStaleSocketWrites();
  const simulator = await startSimulator({
    port: 0,
    seed: options.seed,
    faultSeed: options.faultSeed,
    latencyMs: options.latencyMs ?? 0,
  });
  const functions = await startFunctionsProcess(
    options.functionsPort ?? 0,
    { ...functionsEnv(options.databaseUrl, simulator.url), ...options.functionsEnv },
    options.echoFunctionsLog ?? false,
    options.functionsLogFile,
  );
  const relay = await startPgNetRelay({ databaseUrl: options.databaseUrl });
  const { replacedUrl } = await wireCronToFunctions(options.databaseUrl, functions.url);
  const syncInterval = await setDefaultSyncInterval(options.databaseUrl, null);
  return {
    databaseUrl: options.databaseUrl,
    simulator,
    functions,
    async close() {
      await functions.close();
      await relay.close();
      await simulator.close();
      await restoreFunctionsUrl(options.databaseUrl, replacedUrl);
      await setDefaultSyncInterval(options.databaseUrl, syncInterval);
    },
  };
}
