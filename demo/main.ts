// deno task demo — adrail end to end on the local defaults, narrated.
// Starts Postgres (its own demo database), the Graph API simulator and the functions server,
// connects an ad account through the real function with supabase-js, then shows the
// status-change trigger and the final-sync bookkeeping capturing an ad's last metrics.
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

  step(4, "A campaign, an ad set and an ad run on Meta; the sync mirrors them as ACTIVE");
  const graph = new GraphClient({
    baseUrl: simulator.url,
    version: graphApiVersion,
    accessToken: token,
  });
  const must = <T>(result: { ok: true; data: T } | { ok: false; error: unknown }): T => {
    if (!result.ok) throw new Error(`Graph API: ${JSON.stringify(result.error)}`);
    return result.data;
  };
  const campaign = must(
    await graph.post<{ id: string }>("/act_4242/campaigns", {
      name: "Winter sale",
      objective: "OUTCOME_SALES",
      status: "ACTIVE",
      special_ad_categories: [],
    }),
  );
  const adSet = must(
    await graph.post<{ id: string }>("/act_4242/adsets", {
      name: "Winter sale — ad set 1",
      campaign_id: campaign.id,
      daily_budget: 5000,
      billing_event: "IMPRESSIONS",
      optimization_goal: "REACH",
      targeting: { geo_locations: { countries: ["FR"] } },
      status: "ACTIVE",
    }),
  );
  const ad = must(
    await graph.post<{ id: string }>("/act_4242/ads", {
      name: "Winter sale — ad 1",
      adset_id: adSet.id,
      creative: { creative_id: "120200000000000001" },
      status: "ACTIVE",
    }),
  );
  await sql`
    with c as (
      insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, objective, status, effective_status)
      values (${accountId}, ${campaign.id}, 'Winter sale', 'OUTCOME_SALES', 'ACTIVE', 'ACTIVE') returning id
    ), s as (
      insert into public.ad_sets (ad_account_id, campaign_id, platform_ad_set_id, platform_campaign_id, name, status, effective_status)
      select ${accountId}, c.id, ${adSet.id}, ${campaign.id}, 'Winter sale — ad set 1', 'ACTIVE', 'ACTIVE' from c returning id
    )
    insert into public.ads (ad_account_id, ad_set_id, platform_ad_id, platform_ad_set_id, name, status, effective_status)
    select ${accountId}, s.id, ${ad.id}, ${adSet.id}, 'Winter sale — ad 1', 'ACTIVE', 'ACTIVE' from s`;
  show("campaign / ad set / ad", [campaign.id, adSet.id, ad.id]);

  step(5, "Three days pass; then someone pauses the ad in Ads Manager and the sync sees it");
  await sim("/__sim/clock", { advanceSeconds: 3 * 86_400 });
  await sim("/__sim/status", { id: ad.id, status: "PAUSED" });
  const seen = must(await graph.get<{ status: string }>(`/${ad.id}`, { fields: "status" }));
  await sql`update public.ads set status = ${seen.status}, effective_status = ${seen.status} where platform_ad_id = ${ad.id}`;
  const [change] = await sql`
    select id, entity_type, old_status, new_status, requires_final_sync, final_sync_completed
    from public.ad_status_change_log where platform_entity_id = ${ad.id}`;
  show("trigger_log_ad_status_change wrote", change);
  show(
    "final_sync_backlog",
    await sql`select entity_type, pending, failed from public.final_sync_backlog where ad_account_id = ${accountId}`,
  );

  step(6, "Final sync: the ad's daily metrics up to the change, saved in one transaction");
  // The simulated Meta runs three days ahead of this machine's clock now: ask it for "today".
  const simNow = (await (await fetch(`${simulator.url}/__sim/clock`)).json()).now as string;
  const [{ since }] = await sql`
    select (created_at at time zone 'utc')::date::text as since from public.ads where platform_ad_id = ${ad.id}`;
  const until = simNow.slice(0, 10);
  const insights = must(
    await graph.get<{ data: Record<string, string>[] }>(`/${ad.id}/insights`, {
      fields: "impressions,clicks,spend,reach,conversions,actions",
      time_increment: 1,
      time_range: { since, until },
    }),
  );
  const metrics = insights.data.map((row) => ({
    date: row.date_start,
    impressions: Number(row.impressions ?? 0),
    clicks: Number(row.clicks ?? 0),
    spend: Number(row.spend ?? 0),
    reach: Number(row.reach ?? 0),
    conversions: Number(row.conversions ?? 0),
  }));
  const [done] =
    await sql`select final_sync_completed, metadata from public.complete_final_sync(${change.id}, ${
      sql.json(metrics)
    })`;
  show("complete_final_sync", done);
  show(
    "ad_metrics_daily",
    await sql`select date::text, impressions, clicks, spend::text from public.ad_metrics_daily where platform_entity_id = ${ad.id} order by date`,
  );
  show(
    "final_sync_backlog now",
    await sql`select entity_type, pending, failed from public.final_sync_backlog where ad_account_id = ${accountId}`,
  );

  step(7, "A bulk launch is a job with one slot per object (1 campaign, 50 ad sets, 50 ads)");
  const [job] = await sql`
    select id, status, requested_ad_sets, requested_ads from public.create_campaign_creation_job(
      ${dana}, ${accountId}, 'Spring launch', 50, 1, '{}'::jsonb, 'demo', 'demo-key')`;
  show("job", job);
  show(
    "slots by status",
    await sql`select entity_type, status, count(*)::int from public.entity_creation_slots where job_id = ${job.id} group by 1, 2 order by 1`,
  );
  console.log(
    "\nDone. `deno task start` runs the same stack in the background; `deno task status` prints its settings.",
  );
} finally {
  await functions.close();
  await simulator.close();
  await closeDb();
  await sql.end();
}
