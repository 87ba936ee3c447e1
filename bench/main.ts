// deno task bench — against the simulator with a realistic latency per request, side by side:
//  1. a 1-N-1 launch through adrail (campaign-create and its worker: one Graph batch per ad set,
//     verification and read-back batched) vs the plain way (one request per object, then one
//     read-back per object): requests and wall time, and their ratios;
//  2. many launches at once (one per account), one worker run taking them one at a time vs
//     several at a time: wall time and its ratio.
//   BENCH_AD_SETS (default 50)   BENCH_LATENCY_MS (default 40)   BENCH_LAUNCHES (default 8)
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { startSimulator } from "../simulator/server.ts";
import { startFunctionsServer } from "../dev/functions-server.ts";
import { ensureDatabase, runSql } from "../dev/lib/local-db.ts";
import { resetDatabase } from "../dev/lib/db-reset.ts";
import { functionsEnv, graphApiVersion, localKeys, signLocalJwt } from "../dev/lib/local-env.ts";
import { GraphClient, type GraphParams } from "../supabase/functions/_shared/graph-client.ts";
import { closeDb } from "../supabase/functions/_shared/db.ts";
import { runCreationWorker } from "../supabase/functions/_shared/creation-worker.ts";

const adSets = Number(Deno.env.get("BENCH_AD_SETS") ?? 50);
const latencyMs = Number(Deno.env.get("BENCH_LATENCY_MS") ?? 40);
const launches = Number(Deno.env.get("BENCH_LAUNCHES") ?? 8);

/** The benchmark's own database: DATABASE_URL when given, else one on the local cluster, rebuilt. */
async function benchDatabase(): Promise<string> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) return given;
  const cluster = await ensureDatabase();
  if (!(await runSql(cluster, "select 1 from pg_database where datname = 'adrail_bench'")).trim()) {
    await runSql(cluster, "create database adrail_bench");
  }
  const url = cluster.replace(/\/postgres$/, "/adrail_bench");
  await resetDatabase(url);
  return url;
}

const databaseUrl = await benchDatabase();
// A fresh seed each run: its Meta ids never meet those of an earlier run in the same database.
const simulator = await startSimulator({ port: 0, seed: Date.now() % 1_000_000_000, latencyMs });
const functions = await startFunctionsServer({
  port: 0,
  env: functionsEnv(databaseUrl, simulator.url),
});
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const control = async (path: string, body?: unknown) =>
  await (await fetch(`${simulator.url}/__sim/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  })).json();
const graphRequests = async () => (await control("requests")).total as number;

type Measure = { requests: number; ms: number };

async function measure(run: () => Promise<void>): Promise<Measure> {
  const before = await graphRequests();
  const started = performance.now();
  await run();
  return { requests: (await graphRequests()) - before, ms: performance.now() - started };
}

try {
  const suffix = crypto.randomUUID().slice(0, 8);
  const [{ id: user }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), ${`bench-${suffix}@example.com`}) returning id`;
  const { anonKey, serviceRoleKey } = await localKeys();
  const supabase = createClient(functions.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: {
      headers: {
        Authorization: `Bearer ${await signLocalJwt({ sub: user, role: "authenticated" })}`,
      },
    },
  });
  const token = `EAAB-bench-${suffix}`;
  const connect = async (act: string) => {
    await control("accounts", { id: act, token });
    const connected = await supabase.functions.invoke("ad-accounts", {
      body: { platformAccountId: act, accessToken: token },
    });
    if (connected.error) throw new Error(`could not connect ${act}`);
  };
  const launch = async (act: string, name: string, count: number) => {
    const launched = await supabase.functions.invoke("campaign-create", {
      body: {
        adAccountId: act,
        campaign: { name, objective: "OUTCOME_SALES" },
        adSets: { count, template: { daily_budget: 1000 } },
        ads: { perAdSet: 1, template: { creativeId: "555" } },
      },
    });
    if (launched.error) throw new Error(`the launch on ${act} was refused`);
  };
  await connect("act_7001");
  await control("accounts", { id: "act_7002", token });

  const adrail = await measure(async () => {
    await launch("act_7001", `Bench ${suffix}`, adSets);
    const worker = await fetch(`${functions.url}/functions/v1/campaign-create/worker`, {
      method: "POST",
      headers: { Authorization: `Bearer ${serviceRoleKey}` },
    });
    const [run] = (await worker.json()).jobs;
    if (run?.status !== "completed") {
      throw new Error(`the launch did not complete: ${JSON.stringify(run)}`);
    }
  });

  // The plain way: each object on its own request, then each read back on its own.
  const graph = new GraphClient({
    baseUrl: simulator.url,
    version: graphApiVersion,
    accessToken: token,
  });
  const plain = await measure(async () => {
    const created: string[] = [];
    const create = async (edge: string, params: GraphParams) => {
      const result = await graph.post<{ id: string }>(`/act_7002/${edge}`, params);
      if (!result.ok) throw new Error(result.error.message);
      created.push(result.data.id);
      return result.data.id;
    };
    const campaign = await create("campaigns", {
      name: `Plain ${suffix}`,
      objective: "OUTCOME_SALES",
    });
    for (let i = 1; i <= adSets; i++) {
      const adSet = await create("adsets", {
        name: `Plain AS ${i}`,
        campaign_id: campaign,
        daily_budget: 1000,
      });
      await create("ads", {
        name: `Plain AD ${i}`,
        adset_id: adSet,
        creative: { creative_id: "555" },
      });
    }
    for (const id of created) {
      if (!(await graph.get(`/${id}`, { fields: "id" })).ok) throw new Error(`${id} is missing`);
    }
  });

  // Many launches at once: the same jobs, taken one at a time, then four at a time.
  const manyLaunches = async (first: number, concurrency: number) => {
    const accounts = Array.from({ length: launches }, (_, i) => `act_${first + i}`);
    for (const act of accounts) await connect(act);
    for (const act of accounts) await launch(act, `Many ${suffix} ${act}`, 10);
    return await measure(async () => {
      const runs = await runCreationWorker({ concurrency });
      const done = runs.filter((run) => run.status === "completed").length;
      if (done !== launches) throw new Error(`${done} of ${launches} launches completed`);
    });
  };
  const oneAtATime = await manyLaunches(7100, 1);
  const fourAtATime = await manyLaunches(7200, 4);

  const row = (name: string, m: Measure) =>
    `${name.padEnd(48)}${String(m.requests).padStart(9)}${(m.ms / 1000).toFixed(2).padStart(10)} s`;
  const header = () =>
    console.log(`${"".padEnd(48)}${"requests".padStart(9)}${"time".padStart(12)}`);
  console.log(`\nsimulator latency ${latencyMs} ms per request\n`);
  console.log(`1. one 1-${adSets}-1 launch (${1 + 2 * adSets} objects)`);
  header();
  console.log(row("adrail: one batch per ad set, verified", adrail));
  console.log(row("plain: one request per object + read-back", plain));
  console.log(
    `ratio plain/adrail: ${(plain.requests / adrail.requests).toFixed(1)}x requests, ` +
      `${(plain.ms / adrail.ms).toFixed(1)}x time\n`,
  );
  console.log(`2. ${launches} launches of 1-10-1 at once, one worker run`);
  header();
  console.log(row("one job at a time", oneAtATime));
  console.log(row("four jobs at a time", fourAtATime));
  console.log(`ratio one/four at a time: ${(oneAtATime.ms / fourAtATime.ms).toFixed(1)}x time`);
} finally {
  await functions.close();
  await simulator.close();
  await closeDb();
  await sql.end();
}
