// deno task demo — adrail end to end on the local defaults, narrated.
// Starts Postgres (its own demo database), the Graph API simulator and the functions server,
// connects an ad account and syncs it through the real functions with supabase-js, then shows
// the status-change trigger and the final sync capturing a paused ad's last metrics, and a
// 1-50-1 launch through campaign-create and its worker.
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { startSimulator } from "../simulator/server.ts";
import { startFunctionsServer } from "../dev/functions-server.ts";
import { ensureDatabase, runSql } from "../dev/lib/local-db.ts";
import { resetDatabase } from "../dev/lib/db-reset.ts";
import { functionsEnv, graphApiVersion, localKeys, signLocalJwt } from "../dev/lib/local-env.ts";
import { GraphClient } from "../supabase/functions/_shared/graph-client.ts";
import { closeDb } from "../supabase/functions/_shared/db.ts";

const step = (n: number, text: string) => console.log(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const show = (label: string, value: unknown) => console.log(`   ${label}:`, JSON.stringify(value));

/** The demo gets a database of its own on the local cluster, rebuilt each run. */
async function demoDatabase(): Promise<string> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) {
    const migrated = (await runSql(given, "select to_regclass('public.ad_accounts') is not null"))
      .trim();
    if (migrated !== "t") await resetDatabase(given);
    return given;
  }
  const cluster = await ensureDatabase();
  const exists = (await runSql(cluster, "select 1 from pg_database where datname = 'adrail_demo'"))
    .trim();
  if (!exists) await runSql(cluster, "create database adrail_demo");
  const url = cluster.replace(/\/postgres$/, "/adrail_demo");
  await resetDatabase(url);
  return url;
}

step(1, "Start Postgres (migrations applied), the Graph API simulator and the functions server");
const databaseUrl = await demoDatabase();
const simulator = await startSimulator({ port: 0, seed: 7 });
const functions = await startFunctionsServer({
  port: 0,
  env: functionsEnv(databaseUrl, simulator.url),
});
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const sim = async (path: string, body: unknown) => {
  const response = await fetch(`${simulator.url}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return await response.json();
};
console.log(`   database ${databaseUrl.replace(/:[^:@/]+@/, ":***@")}`);
console.log(`   simulator ${simulator.url}, functions ${functions.url}/functions/v1/`);

try {
  step(2, "Dana signs up; Meta knows her ad account act_4242 and its access token");
  // A rerun on the same database starts over: her account, entities and jobs go with her.
  await sql`delete from auth.users where email = 'dana@example.com'`;
  const [{ id: dana }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), 'dana@example.com') returning id`;
  const token = `EAAB-demo-${crypto.randomUUID()}`;
  await sim("/__sim/accounts", { id: "act_4242", token, name: "Dana's shop", currency: "EUR" });

  step(3, "Her app connects the account: supabase.functions.invoke('ad-accounts', ...)");
  const { anonKey } = await localKeys();
  const supabase = createClient(functions.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: {
      headers: {
        Authorization: `Bearer ${await signLocalJwt({ sub: dana, role: "authenticated" })}`,
      },
    },
  });
  const connected = await supabase.functions.invoke("ad-accounts", {
    body: { platformAccountId: "act_4242", accessToken: token },
  });
  show(`HTTP ${connected.response?.status}`, connected.data);
  const [stored] =
    await sql`select access_token_ciphertext from public.ad_accounts where platform_account_id = 'act_4242'`;
  show("token at rest (AES-256-GCM)", `${stored.access_token_ciphertext.slice(0, 24)}…`);
  const accountId = connected.data.id as string;

  const syncNow = async () => {
    const { data, error } = await supabase.functions.invoke("facebook-ads-sync", {
      body: { adAccountId: "act_4242" },
    });
    if (error) throw new Error(`facebook-ads-sync: ${await error.context?.text?.()}`);
    return data;
  };

  step(4, "Three days ago a campaign, an ad set and an ad went live on Meta; a sync mirrors them");
  const graph = new GraphClient({
    baseUrl: simulator.url,
    version: graphApiVersion,
    accessToken: token,
  });
  const create = async (edge: string, params: Record<string, unknown>) => {
    const created = await graph.post<{ id: string }>(`/act_4242/${edge}`, {
      status: "ACTIVE",
      ...params,
    });
    if (!created.ok) throw new Error(`Graph API: ${JSON.stringify(created.error)}`);
    return created.data.id;
  };
  await sim("/__sim/clock", { now: new Date(Date.now() - 3 * 86_400_000).toISOString() });
  const campaign = await create("campaigns", { name: "Winter sale", objective: "OUTCOME_SALES" });
  const adSet = await create("adsets", { name: "Winter sale — ad set 1", campaign_id: campaign });
  const ad = await create("ads", {
    name: "Winter sale — ad 1",
    adset_id: adSet,
    creative: { creative_id: "120200000000000001" },
  });
  await sim("/__sim/clock", { now: new Date().toISOString() });
  const first = await syncNow();
  show("facebook-ads-sync: entities", first.entities);
  show("facebook-ads-sync: daily metric rows", first.metrics);

  step(
    5,
    "Someone pauses the ad in Ads Manager; the next sync sees it and captures its last metrics",
  );
  await sim("/__sim/status", { id: ad, status: "PAUSED" });
  const second = await syncNow();
  show("facebook-ads-sync: status changes", second.entities.statusChanges);
  show("facebook-ads-sync: final syncs", {
    claimed: second.finalSyncsUncovered.claimed,
    completed: second.finalSyncsUncovered.completed,
    metricDays: second.finalSyncsUncovered.metricDays,
  });
  const [change] = await sql`
    select id, entity_type, old_status, new_status, requires_final_sync, final_sync_completed
    from public.ad_status_change_log where platform_entity_id = ${ad}`;
  show("trigger_log_ad_status_change wrote", change);
  show(
    "ad_metrics_daily",
    await sql`select date::text, impressions, clicks, spend::text from public.ad_metrics_daily
              where platform_entity_id = ${ad} order by date`,
  );
  show(
    "final_sync_backlog now",
    await sql`select entity_type, pending, failed from public.final_sync_backlog where ad_account_id = ${accountId}`,
  );

  step(6, "A 1-50-1 launch: verified, queued as a job with one slot per object, run by the worker");
  const launched = await supabase.functions.invoke("campaign-create", {
    headers: { "Idempotency-Key": "demo-spring-launch" },
    body: {
      adAccountId: "act_4242",
      campaign: { name: "Spring launch", objective: "OUTCOME_SALES" },
      adSets: {
        count: 50,
        template: { daily_budget: 2000, billing_event: "IMPRESSIONS", optimization_goal: "REACH" },
      },
      ads: { perAdSet: 1, template: { creativeId: "120200000000000001" } },
    },
  });
  show(`HTTP ${launched.response?.status}`, launched.data);
  const jobId = launched.data.jobId as number;
  show(
    "slots by status, queued",
    await sql`select entity_type, status, count(*)::int from public.entity_creation_slots
              where job_id = ${jobId} group by 1, 2 order by 1`,
  );
  // What pg_cron does every minute (and Supabase's EdgeRuntime.waitUntil right after the launch).
  const before = (await (await fetch(`${simulator.url}/__sim/requests`)).json()).total as number;
  const worker = await fetch(`${functions.url}/functions/v1/campaign-create/worker`, {
    method: "POST",
    headers: { Authorization: `Bearer ${(await localKeys()).serviceRoleKey}` },
  });
  show("worker run", (await worker.json()).jobs);
  const after = (await (await fetch(`${simulator.url}/__sim/requests`)).json()).total as number;
  const { data: job } = await supabase.functions.invoke(`campaign-create/jobs/${jobId}`, {
    method: "GET",
  });
  show("GET /campaign-create/jobs/:id", {
    status: job.status,
    ad_sets_created: job.ad_sets_created,
    ads_created: job.ads_created,
    slots_verified: job.slots_verified,
    retries: job.retry_count,
  });
  const state = await (await fetch(`${simulator.url}/__sim/state?account=act_4242`)).json();
  show("on Meta, live", {
    campaigns: state.counts.campaign,
    adSets: state.counts.adset,
    ads: state.counts.ad,
    graphRequests: after - before,
  });
  console.log(
    "\nDone. `deno task start` runs the same stack in the background; `deno task status` prints its settings.",
  );
} finally {
  await functions.close();
  await simulator.close();
  await closeDb();
  await sql.end();
}
