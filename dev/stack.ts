// deno task start | stop | status — the local stack, like `supabase start` without Docker:
// Postgres (adrail's own cluster unless DATABASE_URL is set) with pending migrations applied, the
// Graph API simulator, the functions server (gateway and edge runtime) and the pg_net relay, each
// a background process with its log in .local/stack-<port>/; then the functions URL and the cron
// secret go into Vault and public.schedule_adrail_jobs() schedules the worker, as on a hosted
// project.
import { ensureDatabase, run } from "./lib/local-db.ts";
import { MigrationError } from "./lib/migrations.ts";
import { updateDatabase } from "./lib/db-reset.ts";
import { functionsEnv, localJwtSecret, localKeys, ports } from "./lib/local-env.ts";
import { wireCronToFunctions } from "./lib/stack.ts";

const root = new URL("..", import.meta.url).pathname;
const functionsPort = Number(Deno.env.get("FUNCTIONS_PORT") ?? ports.functions);
const simulatorPort = Number(Deno.env.get("SIM_PORT") ?? ports.simulator);
const stateDir = `${root}.local/stack-${functionsPort}`;
const functionsUrl = `http://127.0.0.1:${functionsPort}`;
const simulatorUrl = `http://127.0.0.1:${simulatorPort}`;

/** A background process; `url` answers once it is up (none for the relay, which serves nothing). */
type Service = { name: string; script: string; url?: string; env: Record<string, string> };

function services(databaseUrl: string): Service[] {
  return [
    {
      name: "simulator",
      script: "simulator/main.ts",
      url: `${simulatorUrl}/__sim/state`,
      env: {
        SIM_PORT: String(simulatorPort),
        SIM_LATENCY_MS: Deno.env.get("SIM_LATENCY_MS") ?? "0",
      },
    },
    {
      name: "functions",
      script: "dev/functions-server.ts",
      url: `${functionsUrl}/functions/v1/`,
      env: { FUNCTIONS_PORT: String(functionsPort), ...functionsEnv(databaseUrl, simulatorUrl) },
    },
    { name: "pg-net-relay", script: "dev/pg-net-relay.ts", env: { DATABASE_URL: databaseUrl } },
  ];
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function running(service: Service): Promise<boolean> {
  if (service.url) return await answers(service.url);
  try {
    const pid = (await Deno.readTextFile(`${stateDir}/${service.name}.pid`)).trim();
    return (await new Deno.Command("kill", { args: ["-0", pid] }).output()).success;
  } catch {
    return false;
  }
}

async function startService(service: Service): Promise<void> {
  if (await running(service)) return;
  const log = `${stateDir}/${service.name}.log`;
  await run("bash", [
    `${root}dev/daemon.sh`,
    `${stateDir}/${service.name}.pid`,
    log,
    Deno.execPath(),
    "run",
    "-A",
    `${root}${service.script}`,
  ], { ...service.env, DENO_TLS_CA_STORE: "system" });
  // A minute: on a fresh machine (or a new checkout) Deno first compiles every module it loads.
  for (let i = 0; i < 300; i++) {
    if (await running(service)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${service.name} did not start within a minute; see ${log}`);
}

async function start(): Promise<void> {
  const databaseUrl = await ensureDatabase();
  await Deno.mkdir(stateDir, { recursive: true });
  const applied = await updateDatabase(databaseUrl).catch((error) => {
    if (!(error instanceof MigrationError)) throw error;
    console.error(`deno task start: ${error.message}`);
    return Deno.exit(1);
  });
  for (const m of applied) console.log(`migration applied: ${m.file}`);
  for (const service of services(databaseUrl)) await startService(service);
  const { scheduled } = await wireCronToFunctions(databaseUrl, functionsUrl);
  if (scheduled.length === 0) {
    console.log("pg_cron is not in this database: released jobs resume only when a launch runs");
  }
  console.log("adrail local stack is running:\n");
  await status();
}

/** Waits for a stopped service's process to be gone (its port free), killing it after 5 s. */
async function exited(pid: number): Promise<void> {
  const alive = async () =>
    (await new Deno.Command("kill", { args: ["-0", String(pid)] }).output()).success;
  for (let i = 0; i < 50 && await alive(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (await alive()) Deno.kill(-pid, "SIGKILL");
}

async function stop(): Promise<void> {
  for (const service of services("")) {
    const pidFile = `${stateDir}/${service.name}.pid`;
    try {
      const pid = Number(await Deno.readTextFile(pidFile));
      Deno.kill(-pid, "SIGTERM");
      await exited(pid);
    } catch {
      // not running
    }
    await Deno.remove(pidFile).catch(() => {});
  }
  if (!Deno.env.get("DATABASE_URL")) await run("bash", [`${root}dev/postgres.sh`, "stop"]);
  console.log("adrail local stack stopped");
}

async function status(): Promise<void> {
  const { anonKey, serviceRoleKey } = await localKeys();
  const databaseUrl = Deno.env.get("DATABASE_URL") ??
    (await run("bash", [`${root}dev/postgres.sh`, "url"])).trim();
  const settings = {
    SUPABASE_URL: functionsUrl,
    SUPABASE_ANON_KEY: anonKey,
    SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
    SUPABASE_JWT_SECRET: localJwtSecret,
    DATABASE_URL: databaseUrl,
    GRAPH_BASE_URL: simulatorUrl,
  };
  for (const [key, value] of Object.entries(settings)) console.log(`${key}=${value}`);
}

const commands: Record<string, () => Promise<void>> = { start, stop, status };
const command = commands[Deno.args[0]];
if (!command) {
  console.error("usage: deno run -A dev/stack.ts start|stop|status");
  Deno.exit(2);
}
await command();
