// deno task demo — adrail end to end on the local defaults, narrated.
// Starts the local stack (dev/lib/stack.ts: the database brought up to date, the Graph API
// simulator, the functions server behind its gateway, the pg_net relay, pg_cron wired to the
// functions), connects an ad account and syncs it through the real functions with supabase-js,
// then shows the status-change trigger and the final sync capturing a paused ad's last metrics,
// and a 1-50-1 launch through campaign-create that finishes with nobody driving the worker.
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { startLocalStack } from "../dev/lib/stack.ts";
import { ensureDatabase } from "../dev/lib/local-db.ts";
import { updateDatabase } from "../dev/lib/db-reset.ts";
import { graphApiVersion, localKeys, signLocalUserJwt } from "../dev/lib/local-env.ts";
import { GraphClient } from "../supabase/functions/_shared/graph-client.ts";
import type { JobProgress } from "../supabase/functions/_shared/campaign-jobs.ts";
import { finalJobStatuses } from "../supabase/functions/_shared/creation/job-states.ts";

/** What an ad set needs on Meta: a budget, how it bills and optimizes, and where it shows. */
const adSetTemplate = {
  daily_budget: 2000,
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  targeting: { geo_locations: { countries: ["FR"] } },
};

const step = (n: number, text: string) => console.log(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const show = (label: string, value: unknown) => console.log(`   ${label}:`, JSON.stringify(value));

step(1, "Start the local stack: Postgres (migrations applied), the simulator, the functions");
// The stack's database ($DATABASE_URL, or the local cluster's, where pg_cron runs), kept: the
// demo removes only what an earlier demo left.
const databaseUrl = await ensureDatabase();
await updateDatabase(databaseUrl);
const stack = await startLocalStack({ databaseUrl, seed: 7 });
const { simulator, functions } = stack;
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
        Authorization: `Bearer ${await signLocalUserJwt(dana)}`,
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
  const campaign = await create("campaigns", {
    name: "Winter sale",
    objective: "OUTCOME_SALES",
    special_ad_categories: [],
    is_adset_budget_sharing_enabled: false,
  });
  const adSet = await create("adsets", {
    name: "Winter sale — ad set 1",
    campaign_id: campaign,
    ...adSetTemplate,
  });
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

  step(6, "A 1-50-1 launch: verified, queued as a job with one slot per object, and watched");
  const before = (await (await fetch(`${simulator.url}/__sim/requests`)).json()).total as number;
  const launched = await supabase.functions.invoke("campaign-create", {
    headers: { "Idempotency-Key": "demo-spring-launch" },
    body: {
      adAccountId: "act_4242",
      campaign: { name: "Spring launch", objective: "OUTCOME_SALES" },
      adSets: {
        count: 50,
        template: adSetTemplate,
      },
      ads: { perAdSet: 1, template: { creativeId: "120200000000000001" } },
    },
  });
  show(`HTTP ${launched.response?.status}`, launched.data);
  const jobId = launched.data.jobId as number;
  // Nobody calls the worker: the launch started a run in the background (EdgeRuntime.waitUntil),
  // and pg_cron's tick would resume it if it had to wait. The app only watches its progress.
  let job = {} as JobProgress;
  for (let polls = 0; polls < 600; polls++) {
    const { data } = await supabase.functions.invoke(`campaign-create/jobs/${jobId}`, {
      method: "GET",
    });
    job = data;
    show("progress", { status: job.status, created: job.created });
    if (finalJobStatuses.includes(job.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const after = (await (await fetch(`${simulator.url}/__sim/requests`)).json()).total as number;
  show("GET /campaign-create/jobs/:id", {
    status: job.status,
    created: job.created,
    verified: job.verified,
    retries: job.retries,
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
  await stack.close();
  await sql.end();
}
