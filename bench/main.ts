// deno task bench — on the local stack (dev/lib/stack.ts) against the simulator with a realistic
// latency per request, side by side:
//  1. a 1-N-1 launch through adrail (campaign-create starts the worker in the background: one
//     Graph batch per ad set, verification and read-back batched) vs the plain way (one request
//     per object, then one read-back per object): requests and wall time, and their ratios;
//  2. many launches (one per account) one after another vs all at once: wall time and its ratio;
//  3. the CPU time the edge runtime measured per invocation (Supabase allows 2 s).
//   BENCH_AD_SETS (default 50)   BENCH_LATENCY_MS (default 40)   BENCH_LAUNCHES (default 8)
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { startLocalStack } from "../dev/lib/stack.ts";
import { ensureDatabase } from "../dev/lib/local-db.ts";
import { updateDatabase } from "../dev/lib/db-reset.ts";
import { graphApiVersion, localKeys, signLocalUserJwt } from "../dev/lib/local-env.ts";
import { GraphClient, type GraphParams } from "../supabase/functions/_shared/graph-client.ts";

const adSets = Number(Deno.env.get("BENCH_AD_SETS") ?? 50);
const latencyMs = Number(Deno.env.get("BENCH_LATENCY_MS") ?? 40);
const launches = Number(Deno.env.get("BENCH_LAUNCHES") ?? 8);

const databaseUrl = await ensureDatabase();
await updateDatabase(databaseUrl);
// A fresh seed each run: its Meta ids never meet those of an earlier run in the same database.
const stack = await startLocalStack({
  databaseUrl,
  seed: Date.now() % 1_000_000_000,
  latencyMs,
});
const { simulator, functions } = stack;
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const control = async (path: string, body?: unknown) =>
  await (await fetch(`${simulator.url}/__sim/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  })).json();
const graphRequests = async () => (await control("requests")).total as number;

/** What an ad set needs on Meta: a budget, how it bills and optimizes, and where it shows. */
const adSetTemplate = {
  daily_budget: 1000,
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  targeting: { geo_locations: { countries: ["FR"] } },
};

type Measure = { requests: number; ms: number };

async function measure(run: () => Promise<void>): Promise<Measure> {
  const before = await graphRequests();
  const started = performance.now();
  await run();
  return { requests: (await graphRequests()) - before, ms: performance.now() - started };
}

/** Waits until the job has ended, watching only the database (nobody drives the worker). */
async function completed(jobId: number): Promise<void> {
  for (;;) {
    const [{ status }] =
      await sql`select status from public.campaign_creation_jobs where id = ${jobId}`;
    if (status === "completed") return;
    if (["failed", "rolled_back"].includes(status)) throw new Error(`job ${jobId} ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  const suffix = crypto.randomUUID().slice(0, 8);
  const [{ id: user }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), ${`bench-${suffix}@example.com`}) returning id`;
  const { anonKey } = await localKeys();
  const supabase = createClient(functions.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: {
      headers: {
        Authorization: `Bearer ${await signLocalUserJwt(user)}`,
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
        adSets: { count, template: adSetTemplate },
        ads: { perAdSet: 1, template: { creativeId: "555" } },
      },
    });
    if (launched.error) throw new Error(`the launch on ${act} was refused`);
    return launched.data.jobId as number;
  };
  await connect("act_7001");
  await control("accounts", { id: "act_7002", token });

  const adrail = await measure(async () => {
    await completed(await launch("act_7001", `Bench ${suffix}`, adSets));
  });
  // The invocation's record is written once its background run has ended, just after the job.
  let firstLaunch;
  while (!(firstLaunch = functions.invocations().find((i) => i.function === "campaign-create"))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const firstLaunchCpu = firstLaunch.cpuMs;

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
      special_ad_categories: [],
      is_adset_budget_sharing_enabled: false,
    });
    for (let i = 1; i <= adSets; i++) {
      const adSet = await create("adsets", {
        name: `Plain AS ${i}`,
        campaign_id: campaign,
        ...adSetTemplate,
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

  // Many launches: each waited for before the next, then all at once (their worker runs race).
  const manyLaunches = async (first: number, together: boolean) => {
    const accounts = Array.from({ length: launches }, (_, i) => `act_${first + i}`);
    for (const act of accounts) await connect(act);
    const name = (act: string) => `Many ${suffix} ${act}`;
    return await measure(async () => {
      if (together) {
        const jobs = await Promise.all(accounts.map((act) => launch(act, name(act), 10)));
        await Promise.all(jobs.map(completed));
      } else {
        for (const act of accounts) await completed(await launch(act, name(act), 10));
      }
    });
  };
  const oneAfterAnother = await manyLaunches(7100, false);
  const allAtOnce = await manyLaunches(7200, true);

  // Each launch's record is written once its background run has ended.
  const launchRecords = () =>
    functions.invocations().filter((i) => i.function === "campaign-create" && i.method === "POST");
  while (launchRecords().length < 1 + 2 * launches) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cpu = launchRecords().map((i) => i.cpuMs).sort((a, b) => a - b);
  const warm = launchRecords().filter((i) => i.warm).length;
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
  console.log(`2. ${launches} launches of 1-10-1`);
  header();
  console.log(row("one after another", oneAfterAnother));
  console.log(row("all at once", allAtOnce));
  console.log(
    `ratio one after another/all at once: ${
      (oneAfterAnother.ms / allAtOnce.ms).toFixed(1)
    }x time\n`,
  );
  console.log(`3. CPU per campaign-create invocation, its background worker run included`);
  console.log(
    `   ${cpu.length} invocations: median ${cpu[Math.floor(cpu.length / 2)]} ms, ` +
      `max ${cpu.at(-1)} ms (the 1-${adSets}-1 launch: ${firstLaunchCpu} ms; limit 2000 ms), ` +
      `${warm} served by a warm isolate`,
  );
} finally {
  await stack.close();
  await sql.end();
}
