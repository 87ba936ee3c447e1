// deno task start | stop | status — the local stack, like `supabase start` without Docker:
// Postgres (adrail's own cluster unless DATABASE_URL is set), the Graph API simulator, and the
// local functions server, each a background process with its log in .local/logs/.
import { ensureDatabase, run, runSql } from "./lib/local-db.ts";
import { resetDatabase } from "./lib/db-reset.ts";
import { functionsEnv, localJwtSecret, localKeys, ports } from "./lib/local-env.ts";

const root = new URL("..", import.meta.url).pathname;
const stateDir = `${root}.local/stack`;
const logDir = `${root}.local/logs`;
const functionsUrl = `http://127.0.0.1:${ports.functions}`;
const simulatorUrl = `http://127.0.0.1:${ports.simulator}`;

type Service = { name: string; script: string; url: string; env: Record<string, string> };

function services(databaseUrl: string): Service[] {
  return [
    {
      name: "simulator",
      script: "simulator/main.ts",
      url: `${simulatorUrl}/__sim/state`,
      env: {
        SIM_PORT: String(ports.simulator),
        SIM_LATENCY_MS: Deno.env.get("SIM_LATENCY_MS") ?? "0",
      },
    },
    {
      name: "functions",
      script: "dev/functions-server.ts",
      url: `${functionsUrl}/functions/v1/`,
      env: { FUNCTIONS_PORT: String(ports.functions), ...functionsEnv(databaseUrl, simulatorUrl) },
    },
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

async function startService(service: Service): Promise<void> {
  if (await answers(service.url)) return;
  const log = `${logDir}/${service.name}.log`;
  // setsid + exec: the service outlives this task, in its own process group, logging to a file.
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", `exec "$0" run -A "$1" >>"$2" 2>&1`, Deno.execPath(), service.script, log],
    cwd: root,
    env: { ...service.env, DENO_TLS_CA_STORE: "system" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  await Deno.writeTextFile(`${stateDir}/${service.name}.pid`, String(child.pid));
  for (let i = 0; i < 100; i++) {
    if (await answers(service.url)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${service.name} did not start; see ${log}`);
}

async function start(): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.mkdir(logDir, { recursive: true });
  const databaseUrl = await ensureDatabase();
  const migrated =
    (await runSql(databaseUrl, "select to_regclass('public.campaign_creation_jobs') is not null"))
      .trim();
  if (migrated !== "t") await resetDatabase(databaseUrl);
  for (const service of services(databaseUrl)) await startService(service);
  console.log("adrail local stack is running:\n");
  await status();
}

async function stop(): Promise<void> {
  for (const service of services("")) {
    const pidFile = `${stateDir}/${service.name}.pid`;
    try {
      const pid = Number(await Deno.readTextFile(pidFile));
      Deno.kill(-pid, "SIGTERM");
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
