// deno task demo — what adrail is for, end to end on the local defaults, narrated on stdout.
// Starts the local stack (dev/lib/stack.ts: the database brought up to date, the Graph API
// simulator, the functions server behind its gateway, the pg_net relay, pg_cron wired to the
// functions; the functions' log goes to its own file), then, through the real functions with
// supabase-js as a user:
//   - a sync, a pause made in Ads Manager, and the next sync capturing the ad's last metrics;
//   - a 1-50-1 launch while Meta loses an answer, fails silently, answers 503 and rate-limits
//     the account, watched live from GET /campaign-create/jobs/:id (one line per kind of object);
//   - a launch whose ad account is suspended midway, rolled back clean once Meta reinstates it;
//   - what is live on Meta per launch, and the dashboard views' rows as the user sees them.
// Nobody drives the worker: each launch starts a run in the background, pg_cron resumes jobs left
// waiting. Every claim is checked; the demo exits 1 naming each check that failed.
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { startLocalStack } from "../dev/lib/stack.ts";
import { ensureDatabase } from "../dev/lib/local-db.ts";
import { updateDatabase } from "../dev/lib/db-reset.ts";
import { graphApiVersion, localKeys, signLocalUserJwt } from "../dev/lib/local-env.ts";
import { GraphClient } from "../supabase/functions/_shared/meta/graph-client.ts";
import type {
  EntityProgress,
  JobProgress,
} from "../supabase/functions/_shared/creation/campaign-jobs.ts";
import { finalJobStatuses } from "../supabase/functions/_shared/creation/job-states.ts";

/** What an ad set needs on Meta: a budget, how it bills and optimizes, and where it shows. */
const adSetTemplate = {
  daily_budget: 2000,
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  targeting: { geo_locations: { countries: ["FR"] } },
};
const creativeId = "120200000000000001";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const step = (n: number, text: string) => console.log(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const show = (label: string, value: unknown) => console.log(`   ${label}:`, JSON.stringify(value));

const checks: { name: string; ok: boolean; detail: string }[] = [];
/** A claim the demo makes, checked: printed at once, all of them summed up at the end. */
function check(name: string, ok: boolean, detail: unknown): void {
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  checks.push({ name, ok, detail: text });
  console.log(`   ${ok ? "✓" : "✗ CHECK FAILED:"} ${name}${ok ? "" : ` (${text})`}`);
}

step(1, "Start the local stack: Postgres (migrations applied), the simulator, the functions");
// The stack's database ($DATABASE_URL, or the local cluster's, where pg_cron runs), kept: the
// demo removes only what an earlier demo left.
const databaseUrl = await ensureDatabase();
await updateDatabase(databaseUrl);
const logDir = new URL("../.local/demo/", import.meta.url).pathname;
await Deno.mkdir(logDir, { recursive: true });
const functionsLogFile = `${logDir}functions.log`;
await Deno.writeTextFile(functionsLogFile, "");
const stack = await startLocalStack({ databaseUrl, seed: 7, functionsLogFile });
const { simulator, functions } = stack;
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const sim = async <T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${simulator.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return await response.json();
};
console.log(`   database ${databaseUrl.replace(/:[^:@/]+@/, ":***@")}`);
console.log(`   simulator ${simulator.url}, functions ${functions.url}/functions/v1/`);
console.log(`   the functions' log: ${functionsLogFile}`);

type SimObject = {
  id: string;
  type: "campaign" | "adset" | "ad";
  name: string;
  campaignId: string | null;
  deleted: boolean;
};

/** What is live on Meta for one launch: its campaign (by name) and the job's own objects. */
async function liveForLaunch(act: string, campaignName: string, jobId: number) {
  const { objects } = await sim<{ objects: SimObject[] }>(`/__sim/state?account=${act}`);
  const live = objects.filter((o) => !o.deleted);
  const campaigns = new Set(
    live.filter((o) => o.type === "campaign" && o.name === campaignName).map((o) => o.id),
  );
  const ofLaunch = (type: SimObject["type"]) =>
    live.filter((o) =>
      o.type === type &&
      (campaigns.has(o.campaignId ?? "") || o.name.includes(`[adrail j${jobId} `))
    );
  const adSets = ofLaunch("adset");
  const ads = ofLaunch("ad");
  return {
    campaigns: campaigns.size,
    adSets: adSets.length,
    ads: ads.length,
    copies: adSets.length - new Set(adSets.map((o) => o.name)).size +
      ads.length - new Set(ads.map((o) => o.name)).size,
  };
}

/** The job's progress as the app reads it: GET /campaign-create/jobs/:id. */
async function progressOf(client: SupabaseClient, jobId: number): Promise<JobProgress> {
  const { data, error } = await client.functions.invoke(`campaign-create/jobs/${jobId}`, {
    method: "GET",
  });
  if (error) throw new Error(`GET jobs/${jobId}: ${await error.context?.text?.()}`);
  return data;
}

const time = (iso: string) => iso.slice(11, 19);
function progressLines(job: JobProgress): string[] {
  const line = (label: string, e: EntityProgress) =>
    `   ${label.padEnd(9)} requested ${String(e.requested).padStart(3)}   created ${
      String(e.created).padStart(3)
    }   verified ${String(e.verified).padStart(3)}   retries ${e.retries}`;
  // The last error explains a backoff or a blocked rollback; a rate limit is Meta's own wait.
  const why = job.waiting && ["retry_backoff", "rollback_blocked"].includes(job.waiting.reason)
    ? `: ${job.lastError}`
    : "";
  const waiting = job.waiting
    ? `waiting until ${time(job.waiting.until)} (${job.waiting.reason}${why})`
    : "running";
  return [
    line("campaign", job.entities.campaign),
    line("ad sets", job.entities.adSets),
    line("ads", job.entities.ads),
    `   job       ${job.status}, ${
      finalJobStatuses.includes(job.status) ? "settled" : waiting
    }; retry budget ${job.retries.used}/${job.retries.budget}, silent failures ${job.silentFailures}`,
  ];
}

/**
 * Follows a job until it settles, one line per kind of object: redrawn in place on a terminal,
 * printed again when it changes otherwise. `onPoll` sees each reading (to act as Meta would).
 */
async function watch(
  client: SupabaseClient,
  jobId: number,
  onPoll: (job: JobProgress) => Promise<void> = async () => {},
): Promise<{ job: JobProgress; seen: JobProgress[] }> {
  const live = Deno.stdout.isTerminal();
  const seen: JobProgress[] = [];
  let shown: string[] = [];
  const deadline = Date.now() + 240_000;
  for (;;) {
    const job = await progressOf(client, jobId);
    seen.push(job);
    const lines = progressLines(job);
    if (lines.join("\n") !== shown.join("\n")) {
      if (live && shown.length) {
        await Deno.stdout.write(new TextEncoder().encode(`\x1b[${shown.length}A`));
      }
      for (const l of lines) console.log(live ? `\x1b[2K${l}` : l);
      shown = lines;
    }
    if (finalJobStatuses.includes(job.status) || Date.now() > deadline) return { job, seen };
    await onPoll(job);
    await sleep(250);
  }
}

let dana: string | undefined;
try {
  step(2, "Dana signs up; Meta knows her ad accounts act_4242 and act_4243 and her access token");
  // A rerun on the same database starts over: her accounts, entities and jobs go with her.
  await sql`delete from auth.users where email in ('dana@example.com', 'sam@example.com')`;
  [{ id: dana }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), 'dana@example.com') returning id`;
  const token = `EAAB-demo-${crypto.randomUUID()}`;
  await sim("/__sim/accounts", { id: "act_4242", token, name: "Dana's shop", currency: "EUR" });
  await sim("/__sim/accounts", { id: "act_4243", token, name: "Dana's outlet", currency: "EUR" });

  step(3, "Her app connects the accounts: supabase.functions.invoke('ad-accounts', ...)");
  const { anonKey } = await localKeys();
  const supabase = createClient(functions.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${await signLocalUserJwt(dana)}` } },
  });
  const connected = await supabase.functions.invoke("ad-accounts", {
    body: { platformAccountId: "act_4242", accessToken: token },
  });
  show(`HTTP ${connected.response?.status}`, connected.data);
  const outlet = await supabase.functions.invoke("ad-accounts", {
    body: { platformAccountId: "act_4243", accessToken: token },
  });
  check(
    "both accounts connected",
    connected.response?.status === 201 && outlet.response?.status === 201,
    {
      shop: connected.response?.status,
      outlet: outlet.response?.status,
    },
  );
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
    creative: { creative_id: creativeId },
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
  const metrics = await sql`
    select date::text, impressions, clicks, spend::text from public.ad_metrics_daily
    where platform_entity_id = ${ad} order by date`;
  show("ad_metrics_daily", metrics);
  check(
    "the pause was logged and its final sync saved the ad's metrics",
    change?.requires_final_sync === true && change?.final_sync_completed === true &&
      metrics.length > 0,
    { change, metricDays: metrics.length },
  );

  step(6, "A 1-50-1 launch while Meta misbehaves, watched live from GET /campaign-create/jobs/:id");
  // Meta's bad day, on act_4242's creates only: an ad set applied whose answer is lost, an ad
  // answered with an id but never stored, a whole batch answered 503, then a rate limit.
  const storm = [
    {
      what: "lost answer",
      rule: { method: "POST", path: "^/act_4242/adsets$", nth: 5, effect: { applyThenDrop: true } },
    },
    {
      what: "silent failure",
      rule: { method: "POST", path: "^/act_4242/ads$", nth: 12, effect: { silentSuccess: true } },
    },
    {
      what: "503",
      rule: {
        method: "POST",
        path: "^/$",
        nth: 15,
        effect: { error: { code: 2, transient: true, status: 503 } },
      },
    },
    {
      what: "rate limit",
      rule: {
        method: "POST",
        path: "^/act_4242/adsets$",
        nth: 35,
        effect: { rateLimit: { regainSeconds: 30 } },
      },
    },
  ];
  await sim("/__sim/faults", { rules: storm.map((s) => s.rule) });
  console.log(`   the simulator will inject: ${storm.map((s) => s.what).join(", ")}`);
  const before = (await sim<{ total: number }>("/__sim/requests")).total;
  const launched = await supabase.functions.invoke("campaign-create", {
    headers: { "Idempotency-Key": "demo-spring-launch" },
    body: {
      adAccountId: "act_4242",
      campaign: { name: "Spring launch", objective: "OUTCOME_SALES" },
      adSets: { count: 50, template: adSetTemplate },
      ads: { perAdSet: 1, template: { creativeId } },
    },
  });
  show(`HTTP ${launched.response?.status}`, launched.data);
  const jobId = launched.data.jobId as number;
  // Nobody calls the worker: the launch started a run in the background (EdgeRuntime.waitUntil);
  // the rate limit releases the job, and pg_cron's tick (through pg_net) resumes it.
  const spring = await watch(supabase, jobId);
  const after = (await sim<{ total: number }>("/__sim/requests")).total;
  const { rules } = await sim<{ rules: { fired: number }[] }>("/__sim/faults");
  await sim("/__sim/faults", { rules: [] });
  const job = spring.job;
  show("GET /campaign-create/jobs/:id", {
    status: job.status,
    created: job.created,
    verified: job.verified,
    silentFailures: job.silentFailures,
    retries: job.retries,
  });
  const springLive = await liveForLaunch("act_4242", "Spring launch", jobId);
  show("on Meta, live for this launch", { ...springLive, graphRequests: after - before });
  check("Meta misbehaved as announced", rules.every((r) => r.fired === 1), {
    fired: Object.fromEntries(storm.map((s, i) => [s.what, rules[i]?.fired])),
  });
  check(
    "the job waited out the rate limit (no retry spent on it)",
    spring.seen.some((p) => p.waiting?.reason === "rate_limit"),
    "no progress reading showed waiting.reason rate_limit",
  );
  check("the silent failure was found by read-back and repaired", job.silentFailures >= 1, job);
  check(
    "the launch completed exactly: 1 campaign, 50 ad sets, 50 ads, all verified",
    job.status === "completed" && job.created.adSets === 50 && job.created.ads === 50 &&
      job.verified === 101,
    { status: job.status, created: job.created, verified: job.verified },
  );
  check(
    "Meta holds exactly that launch: no copy, nothing missing",
    springLive.campaigns === 1 && springLive.adSets === 50 && springLive.ads === 50 &&
      springLive.copies === 0,
    springLive,
  );

  step(7, "A 1-10-1 launch on act_4243, whose account Meta suspends midway");
  await sim("/__sim/faults", {
    rules: [{
      method: "POST",
      path: "^/act_4243/adsets$",
      nth: 6,
      effect: { suspendAccount: true },
    }],
  });
  const suspendedLaunch = await supabase.functions.invoke("campaign-create", {
    body: {
      adAccountId: "act_4243",
      campaign: { name: "Outlet clearance", objective: "OUTCOME_SALES" },
      adSets: { count: 10, template: adSetTemplate },
      ads: { perAdSet: 1, template: { creativeId } },
    },
  });
  show(`HTTP ${suspendedLaunch.response?.status}`, suspendedLaunch.data);
  const outletJob = suspendedLaunch.data.jobId as number;
  let reinstated = false;
  // Meta refuses every write to a disabled account, deletes included: the rollback blocks and
  // retries later. Some seconds after it blocks, Meta reinstates the account.
  let blockedSince: number | undefined;
  const outlet2 = await watch(supabase, outletJob, async (p) => {
    if (p.status !== "rollback_blocked" || reinstated) return;
    blockedSince ??= Date.now();
    if (Date.now() - blockedSince < 3000) return;
    console.log("   (Meta reinstates act_4243)");
    await sim("/__sim/status", { id: "act_4243", status: 1 });
    reinstated = true;
  });
  await sim("/__sim/faults", { rules: [] });
  const outletLive = await liveForLaunch("act_4243", "Outlet clearance", outletJob);
  show("GET /campaign-create/jobs/:id", {
    status: outlet2.job.status,
    rollback: outlet2.job.rollback,
    slots: outlet2.job.slots,
  });
  show("on Meta, live for this launch", outletLive);
  check(
    "the suspension stopped the launch midway, and its rollback waited for the account",
    outlet2.seen.some((p) => p.created.adSets > 0) &&
      outlet2.seen.some((p) => p.status === "rollback_blocked"),
    "never saw ad sets created, then rollback_blocked",
  );
  check(
    "the suspended launch was rolled back clean: nothing of it live on Meta",
    outlet2.job.status === "rolled_back" &&
      outletLive.campaigns + outletLive.adSets + outletLive.ads === 0,
    { status: outlet2.job.status, live: outletLive },
  );

  step(8, "Sam, a launcher on act_4242, launches; the account needs approval, and Dana approves");
  const [{ id: sam }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), 'sam@example.com') returning id`;
  // Operator SQL, as the README shows: Dana (owner) adds Sam and turns approval on, with a daily
  // budget cap the 1-50-1 above leaves room under.
  await sql`select public.set_ad_account_member(${accountId}, ${dana}, ${sam}, 'launcher')`;
  await sql`select public.set_ad_account_settings(${accountId}, ${dana}, true, 150000)`;
  const samClient = createClient(functions.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${await signLocalUserJwt(sam)}` } },
  });
  const samsLaunch = await samClient.functions.invoke("campaign-create", {
    body: {
      adAccountId: "act_4242",
      campaign: { name: "Sam's retargeting", objective: "OUTCOME_SALES" },
      adSets: { count: 2, template: adSetTemplate },
      ads: { perAdSet: 1, template: { creativeId } },
    },
  });
  show(`HTTP ${samsLaunch.response?.status}`, samsLaunch.data);
  const samsJob = samsLaunch.data.jobId as number;
  await sleep(1500);
  const waiting = await progressOf(samClient, samsJob);
  const liveWhileWaiting = await liveForLaunch("act_4242", "Sam's retargeting", samsJob);
  const ownApproval = await samClient.functions.invoke(`campaign-create/jobs/${samsJob}/approve`, {
    body: {},
  });
  show(
    `Sam approves his own launch: HTTP ${ownApproval.response?.status}`,
    await ownApproval.error?.context?.json?.(),
  );
  const approved = await supabase.functions.invoke(`campaign-create/jobs/${samsJob}/approve`, {
    body: {},
  });
  show(`Dana approves: HTTP ${approved.response?.status}`, {
    status: approved.data?.status,
    approval: approved.data?.approval,
    budget: approved.data?.budget,
  });
  const samsRun = await watch(samClient, samsJob);
  const samsLive = await liveForLaunch("act_4242", "Sam's retargeting", samsJob);
  const [budget] = await sql`
    select cap::int, reserved::int, free::int from public.ad_account_budgets
    where ad_account_id = ${accountId}`;
  const violations = await sql`select * from public.budget_invariant_violations`;
  show("ad_account_budgets (act_4242)", budget);
  check(
    "a launcher's launch waited for approval, on Meta nothing meanwhile",
    samsLaunch.response?.status === 202 && waiting.status === "awaiting_approval" &&
      liveWhileWaiting.campaigns + liveWhileWaiting.adSets + liveWhileWaiting.ads === 0,
    { status: samsLaunch.response?.status, job: waiting.status, live: liveWhileWaiting },
  );
  check("the requester may not approve his own launch", ownApproval.response?.status === 403, {
    status: ownApproval.response?.status,
  });
  check(
    "approved by Dana, the launch ran exactly: 1 campaign, 2 ad sets, 2 ads",
    approved.response?.status === 200 && samsRun.job.status === "completed" &&
      samsLive.campaigns === 1 && samsLive.adSets === 2 && samsLive.ads === 2,
    { approve: approved.response?.status, status: samsRun.job.status, live: samsLive },
  );
  check("the budget ledger balances: no invariant violated", violations.length === 0, violations);

  step(9, "Dana's dashboard: the views' rows as she reads them (security_invoker, RLS)");
  const views = await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${
      JSON.stringify({ sub: dana, role: "authenticated" })
    }, true)`;
    return {
      creation_job_outcomes_24h: await tx`
        select status, jobs::int, requested_ad_sets::int, ad_sets_created::int, requested_ads::int,
               ads_created::int from public.creation_job_outcomes_24h order by status`,
      creation_job_retry_usage: await tx`
        select job_id::int, status, retry_count, retry_budget, last_error
        from public.creation_job_retry_usage order by job_id`,
      verification_discrepancies: await tx`
        select job_id::int, status, silent_failures_detected::int, created_not_verified::int
        from public.verification_discrepancies order by job_id`,
      rollback_rate_daily: await tx`
        select day::text, jobs::int, rollbacks::int, rolled_back::int, rollback_rate_pct::float
        from public.rollback_rate_daily order by day`,
      stuck_creation_jobs:
        await tx`select job_id::int, status, reason from public.stuck_creation_jobs`,
      creation_jobs_with_live_entities: await tx`
        select job_id::int, status, live_entities::int from public.creation_jobs_with_live_entities`,
      final_sync_backlog: await tx`
        select entity_type, pending::int, failed::int from public.final_sync_backlog
        where ad_account_id = ${accountId}`,
      account_rate_limits: await tx`
        select platform_account_id, account_usage_pct::float, rate_limited, circuit_breaker,
               jobs_due_later::int, jobs_due_now::int
        from public.account_rate_limits order by platform_account_id`,
    };
  });
  for (const [view, rows] of Object.entries(views)) {
    console.log(`   ${view}: ${rows.length === 0 ? "no rows" : ""}`);
    for (const r of rows) console.log(`     ${JSON.stringify(r)}`);
  }
  show("final_sync_backlog now", views.final_sync_backlog);
  check("no final sync owed", views.final_sync_backlog.length === 0, views.final_sync_backlog);
  check(
    "nothing stuck and nothing left live by a job that did not complete",
    views.stuck_creation_jobs.length === 0 && views.creation_jobs_with_live_entities.length === 0,
    { stuck: views.stuck_creation_jobs, live: views.creation_jobs_with_live_entities },
  );
  check(
    "the dashboard counts two completed launches and one rolled back",
    views.creation_job_outcomes_24h.map((r) => `${r.status}:${r.jobs}`).join(",") ===
      "completed:2,rolled_back:1",
    views.creation_job_outcomes_24h,
  );
} finally {
  await stack.close();
  await sql.end();
}

const failed = checks.filter((c) => !c.ok);
if (failed.length > 0) {
  console.log(`\ndemo: ${failed.length} of ${checks.length} checks failed:`);
  for (const c of failed) console.log(`  ✗ ${c.name}: ${c.detail}`);
  console.log(`the functions' log: ${functionsLogFile}`);
  Deno.exit(1);
}
console.log(`\nAll ${checks.length} checks passed.`);
console.log(
  "`deno task start` runs the same stack in the background; `deno task status` prints its settings.",
);
