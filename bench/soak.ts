// deno task soak — a seeded chaos soak of 1-5-1 launches on the local stack (dev/lib/stack.ts).
// Many launches through campaign-create, several at a time, each on an ad account of its own
// (connected through ad-accounts), under a storm of seeded faults of every kind mixed: transient
// errors (~10 % of requests and batch items), lost answers (~2 % of POST items and ~1 % of batch
// envelopes applied, then the answer cut), silent successes (~1 % of POST items), a few rate
// limits (early: adrail waits a whole minute for each) and a few suspensions the harness lifts
// 2-10 s after it sees them. Nobody drives the worker: launches start worker runs, and pg_cron's
// ticks (through pg_net, as on Supabase) resume released jobs; the soak refuses a database where
// pg_cron does not run (a cluster runs it in one database: cron.database_name).
// Then every account is read back from the simulator:
//   excess    live objects beyond what a completed job asked for, copies sharing a name, or
//             objects outside the job's campaign;
//   missing   what a completed job asked for and Meta lacks;
//   orphans   live objects of a rolled-back (or unsettled, or failed) job;
//   lost      for each completed launch (launched ACTIVE), the account is synced, one of its ads
//             paused on Meta, the account synced again (facebook-ads-sync, under the storm): a
//             pause never logged, or whose final sync never completed, or with no daily metrics
//             saved for the ad, even after one calm sync once the storm is over, is lost (changes
//             still owed after the storm and captured by that calm sync: `deferred_final_syncs`).
// One summary line; a non-zero exit on any excess, missing, orphan, lost, unsettled, failed or
// refused run (a launch that never got its 202), or a database row that disagrees with Meta.
// How many of each fault fired comes from the simulator's request log.
//   SOAK_RUNS (1000)  SOAK_SEED (1)  SOAK_CONCURRENCY (6: runs in flight; a run only waiting
//   for a Retry-After or for a job released for longer than 20 s gives its place up)
//   SOAK_FAULT_SCALE (1: multiplies every fault probability)  SOAK_JOB_TIMEOUT_S (600: a job
//   not settled that long after its launch is given up on; unsettled unless it has settled by
//   the end)  SOAK_METRICS (1; 0 skips the lost-metrics part)  SOAK_LATENCY_MS (0)
//   SOAK_KEEP_LOGS (0; 1 writes the functions' log and the simulator's requests to .local/soak/
//   even when nothing failed: they are written whenever something did)
// Deterministic where it can be: the simulator draws its faults from its PRNG, seeded with
// SOAK_SEED (the stack's seed, which also fixes the Meta ids: reset the database between two
// soaks of one seed), and the harness's own choices (which accounts are suspended, at which ad
// set, for how long) come from a PRNG of the same seed. What cannot be: concurrent runs (and the
// worker's own lanes) interleave their requests differently every time, so which request a
// probability rule hits, hence the exact counts, differ between two soaks of the same seed; the
// invariants must hold for every order.
// Connections: every launch starts a worker run, but only as many work at once as the database
// has worker slots (creation_worker_slots); the rest end at once. The summary reports the peak of
// the functions' connections (application_name adrail-functions) and of live invocations.
import postgres from "postgres";
import type { SupabaseClient } from "@supabase/supabase-js";
import { startLocalStack } from "../dev/lib/stack.ts";
import { bulkClient, invokeFunction } from "./harness.ts";
import { createRng } from "../simulator/random.ts";
import { ensureDatabase } from "../dev/lib/local-db.ts";
import { updateDatabase } from "../dev/lib/db-reset.ts";

const env = (name: string, fallback: number) => {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
  return value;
};
const runs = env("SOAK_RUNS", 1000);
const seed = env("SOAK_SEED", 1);
const concurrency = env("SOAK_CONCURRENCY", 6);
const jobTimeoutMs = env("SOAK_JOB_TIMEOUT_S", 600) * 1000;
const checkMetrics = env("SOAK_METRICS", 1) !== 0;
const latencyMs = env("SOAK_LATENCY_MS", 0);
const faultScale = env("SOAK_FAULT_SCALE", 1);
const keepLogs = env("SOAK_KEEP_LOGS", 0) !== 0;

const adSets = 5;
const adsPerAdSet = 1;
const expected = { campaign: 1, adset: adSets, ad: adSets * adsPerAdSet } as const;
type ObjectType = keyof typeof expected;

/** The harness's own seeded choices. */
const random = createRng(seed ^ 0x5eed);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the storm -------------------------------------------------------------------------------

/** Each run's own ad account; the seed is in the id, so soaks of other seeds never share one. */
const actOf = (run: number) => `act_88${seed}${String(run).padStart(6, "0")}`;
const scaled = (probability: number) => Math.min(1, probability * faultScale);

/**
 * A few accounts suspended at one of their ad-set creates, lifted some seconds later; among the
 * first 60 % of the runs, so that their rollbacks (which back off) overlap the other runs.
 */
const suspensions = new Map<number, { nth: number; liftAfterMs: number }>();
{
  const count = Math.max(2, Math.round(runs / 100));
  const among = Math.max(count, Math.ceil(runs * 0.6));
  while (suspensions.size < Math.min(count, runs)) {
    const run = Math.floor(random() * Math.min(among, runs));
    if (!suspensions.has(run)) {
      suspensions.set(run, {
        nth: 1 + Math.floor(random() * adSets),
        liftAfterMs: 2000 + Math.floor(random() * 8000),
      });
    }
  }
}
/** Rate limits: a few, early (`times` caps them): adrail waits a whole minute for each. */
const rateLimits = Math.max(2, Math.round(runs / 100));

const faultRules = [
  // Suspensions first: a rule is only asked whether it fires while no earlier rule has fired.
  ...[...suspensions].map(([run, s]) => ({
    method: "POST",
    path: `^/${actOf(run)}/adsets$`,
    nth: s.nth,
    effect: { suspendAccount: true },
  })),
  {
    method: "POST",
    path: "^/act_[0-9]+/(adsets|ads)$",
    probability: scaled(0.01),
    times: rateLimits,
    effect: { rateLimit: { regainSeconds: 10 } },
  },
  // Lost answers: a create applied whose batch item comes back null, or a whole batch applied
  // whose connection is cut before the answer.
  { method: "POST", probability: scaled(0.02), effect: { applyThenDrop: true } },
  { method: "POST", path: "^/$", probability: scaled(0.01), effect: { applyThenDrop: true } },
  { method: "POST", probability: scaled(0.01), effect: { silentSuccess: true } },
  { probability: scaled(0.1), effect: { error: { code: 2, transient: true, status: 503 } } },
];
const faultKinds = ["error", "applyThenDrop", "silentSuccess", "rateLimit", "suspendAccount"];

// ---- the stack -------------------------------------------------------------------------------

const databaseUrl = await ensureDatabase();
await updateDatabase(databaseUrl);
const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
const [{ earlier }] = await sql<{ earlier: number }[]>`
  select count(*)::int as earlier from public.ad_accounts
  where platform_account_id = any(${Array.from({ length: runs }, (_, run) => actOf(run))})`;
if (earlier > 0) {
  console.warn(
    `soak: ${earlier} of this seed's ad accounts are already in the database: an earlier soak ` +
      "with the same seed made objects with the same Meta ids; reset it first " +
      "(DATABASE_URL=... deno task db:reset)",
  );
}
// Released jobs are resumed by pg_cron alone, as on Supabase: without it the soak would wait
// for ticks that never come.
const [{ cron }] = await sql<{ cron: boolean }[]>`
  select to_regclass('cron.job') is not null as cron`;
if (!cron) {
  console.error(
    "soak: pg_cron does not run in this database (it runs in the cluster's cron.database_name); " +
      "use the local cluster's postgres database",
  );
  await sql.end();
  Deno.exit(2);
}
const stack = await startLocalStack({ databaseUrl, seed, latencyMs });
const { simulator, functions } = stack;

async function control<T = unknown>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${simulator.url}/__sim/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`simulator /__sim/${path} answered ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}

type SimObject = {
  id: string;
  type: ObjectType;
  name: string;
  parentId: string | null;
  deleted: boolean;
};
type SimState = { accounts: { id: string; status: number }[]; objects: SimObject[] };
const stateOf = (act: string) => control<SimState>(`state?account=${act}`);
const accountActive = async (act: string) => (await stateOf(act)).accounts[0]?.status === 1;

/**
 * Meta did not answer (503 meta_unavailable; 502 before it), the runtime's limit (546), or an
 * abuse limit of adrail's (429 rate_limited: an account's sync limit while its sync is retried).
 */
const tryAgain = (answer: { status: number; body: Record<string, unknown> }) =>
  answer.status === 502 || answer.status === 546 || answer.status === 429 ||
  (answer.status === 503 && answer.body.code !== "BOOT_ERROR");

/**
 * Calls a user function as an app would under a flaky Meta: "try again" answers are tried again
 * after the Retry-After they name (else a short backoff), at most `attempts` times.
 */
async function invokeRetrying(
  client: SupabaseClient,
  name: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  park: () => void = () => {},
  attempts = 12,
): Promise<{ status: number; body: Record<string, unknown>; retries: number }> {
  for (let attempt = 1;; attempt++) {
    const answer = await invokeFunction(client, name, body, headers);
    if (!tryAgain(answer) || attempt >= attempts) return { ...answer, retries: attempt - 1 };
    const waitMs = answer.retryAfter !== undefined
      ? answer.retryAfter * 1000
      : Math.min(4000, 250 * 2 ** (attempt - 1));
    stats.retryAfterWaitMs += waitMs;
    if (waitMs > 5000) park();
    await sleep(waitMs);
  }
}

// ---- the runs --------------------------------------------------------------------------------

type RunResult = {
  run: number;
  act: string;
  jobId?: number;
  /** The launch never got a 202: its last answer. */
  refused?: string;
  status?: string;
  settledMs?: number;
  pausedAd?: string;
  /** The metrics part could not run (a sync never answered 200): its last answer. */
  syncFailure?: string;
  /** Wall time of each phase (ms). */
  phases: Record<string, number>;
};

const started = performance.now();
const stats = {
  connectRetries: 0,
  launchRetries: 0,
  syncRetries: 0,
  reinstated: 0,
  retryAfterWaitMs: 0,
};
const finalStatuses = ["completed", "failed", "rolled_back"];

async function jobStatus(jobId: number): Promise<string> {
  return (await jobState(jobId)).status;
}

/** The job's status, and whether it waits long (a rate limit, a blocked rollback's backoff). */
async function jobState(jobId: number): Promise<{ status: string; waitsLong: boolean }> {
  const [row] = await sql<{ status: string; waitsLong: boolean }[]>`
    select status, coalesce(next_run_at > now() + interval '20 seconds', false) as "waitsLong"
    from public.campaign_creation_jobs where id = ${jobId}`;
  return row;
}

/**
 * One run: its account connected, the launch, the wait for its job, the metrics check. `park`
 * frees the run's place among the `concurrency` in flight while it only waits (a Retry-After, a
 * job released for long): the waiting holds nothing, and the next run may start.
 */
async function soakRun(
  run: number,
  client: SupabaseClient,
  token: string,
  park: () => void,
): Promise<RunResult> {
  const act = actOf(run);
  const result: RunResult = { run, act, phases: {} };
  let phaseStart = Date.now();
  const phase = (name: string) => {
    result.phases[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };
  await control("accounts", { id: act, token });
  const connected = await invokeRetrying(
    client,
    "ad-accounts",
    {
      platformAccountId: act,
      accessToken: token,
    },
    {},
    park,
  );
  stats.connectRetries += connected.retries;
  if (connected.status !== 201) {
    result.refused = `ad-accounts ${connected.status} ${JSON.stringify(connected.body)}`;
    return result;
  }
  phase("connect");
  const launchedAt = Date.now();
  const launched = await invokeRetrying(
    client,
    "campaign-create",
    {
      adAccountId: act,
      campaign: { name: `Soak ${seed} #${run}`, objective: "OUTCOME_SALES", status: "ACTIVE" },
      adSets: {
        count: adSets,
        template: {
          daily_budget: 1000,
          billing_event: "IMPRESSIONS",
          optimization_goal: "REACH",
          targeting: { geo_locations: { countries: ["FR"] } },
          status: "ACTIVE",
        },
      },
      ads: { perAdSet: adsPerAdSet, template: { creativeId: "555", status: "ACTIVE" } },
    },
    { "Idempotency-Key": `soak-${seed}-${run}` },
    park,
  );
  stats.launchRetries += launched.retries;
  if (launched.status !== 202) {
    result.refused = `campaign-create ${launched.status} ${JSON.stringify(launched.body)}`;
    return result;
  }
  const jobId = Number(launched.body.jobId);
  result.jobId = jobId;
  phase("launch");

  // Wait for the job, watching the database only; lift a suspension after its delay.
  const suspension = suspensions.get(run);
  let suspendedAt: number | undefined;
  let lifted = false;
  for (;;) {
    const { status, waitsLong } = await jobState(jobId);
    if (finalStatuses.includes(status) || status === "awaiting_confirmation") {
      result.status = status;
      break;
    }
    if (waitsLong) park();
    if (Date.now() - launchedAt > jobTimeoutMs) break;
    if (suspension && !lifted) {
      if (suspendedAt === undefined) {
        if (!await accountActive(act)) suspendedAt = Date.now();
      } else if (Date.now() - suspendedAt >= suspension.liftAfterMs) {
        await control("status", { id: act, status: 1 });
        stats.reinstated++;
        lifted = true;
      }
    }
    await sleep(250);
  }
  if (suspension && !lifted && !await accountActive(act)) {
    // Suspended after the job had settled (or while it was given up on): lifted all the same.
    await control("status", { id: act, status: 1 });
    stats.reinstated++;
  }
  result.settledMs = Date.now() - launchedAt;
  phase("settle");
  if (result.status !== "completed" || !checkMetrics) return result;

  // Zero metric loss: the account synced (its objects recorded ACTIVE), one ad paused on Meta,
  // synced again: the change is logged and its final sync captures the ad's metrics.
  const sync = async () => {
    const answer = await invokeRetrying(
      client,
      "facebook-ads-sync",
      { adAccountId: act },
      {},
      park,
    );
    stats.syncRetries += answer.retries;
    if (answer.status !== 200) {
      result.syncFailure = `facebook-ads-sync ${answer.status} ${JSON.stringify(answer.body)}`;
    }
    return answer.status === 200;
  };
  const synced = await sync();
  phase("sync1");
  if (!synced) return result;
  const ads = (await stateOf(act)).objects.filter((o) => o.type === "ad" && !o.deleted);
  result.pausedAd = ads[run % ads.length].id;
  await control("status", { id: result.pausedAd, status: "PAUSED" });
  await sync();
  phase("sync2");
  return result;
}

/** Samples, every second, how many connections the functions hold (their peak is reported). */
function sampleConnections(): { peak: () => number; stop: () => void } {
  let peak = 0;
  const timer = setInterval(async () => {
    try {
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = 'adrail-functions'`;
      peak = Math.max(peak, n);
    } catch {
      // a refused connection is seen in the functions' answers, not here
    }
  }, 1000);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

/** The most invocations the functions server had running at once (worker runs included). */
function peakInvocations(): number {
  const edges = functions.invocations().flatMap((i) => {
    const end = Date.parse((i as unknown as { time: string }).time);
    return [[end - i.wallMs, 1], [end, -1]];
  }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, live += step);
  return peak;
}

// ---- the checks ------------------------------------------------------------------------------

type Verdict = {
  excess: number;
  missing: number;
  orphans: number;
  dbMismatch: number;
  notes: string[];
};

async function check(result: RunResult, status: string | undefined): Promise<Verdict> {
  const verdict: Verdict = { excess: 0, missing: 0, orphans: 0, dbMismatch: 0, notes: [] };
  const { objects } = await stateOf(result.act);
  const live = objects.filter((o) => !o.deleted);
  if (status === "completed") {
    for (const type of Object.keys(expected) as ObjectType[]) {
      const ofType = live.filter((o) => o.type === type);
      const names = new Set(ofType.map((o) => o.name)).size;
      const over = Math.max(ofType.length - expected[type], ofType.length - names, 0);
      const under = Math.max(expected[type] - names, 0);
      if (over) verdict.notes.push(`${over} ${type}(s) too many (${ofType.length} live)`);
      if (under) verdict.notes.push(`${under} ${type}(s) missing (${ofType.length} live)`);
      verdict.excess += over;
      verdict.missing += under;
    }
    const [campaign] = live.filter((o) => o.type === "campaign");
    const liveIds = new Set(live.map((o) => o.id));
    const misplaced = live.filter((o) =>
      (o.type === "adset" && o.parentId !== campaign?.id) ||
      (o.type === "ad" && !liveIds.has(o.parentId ?? ""))
    );
    if (misplaced.length) verdict.notes.push(`${misplaced.length} object(s) outside the campaign`);
    verdict.excess += misplaced.length;
    const [job] = await sql`
      select ad_sets_created, ads_created, locked_by from public.campaign_creation_jobs
      where id = ${result.jobId!}`;
    if (
      job.ad_sets_created !== expected.adset || job.ads_created !== expected.ad || job.locked_by
    ) {
      verdict.dbMismatch++;
      verdict.notes.push(`the job row says ${JSON.stringify(job)}`);
    }
  } else if (result.jobId !== undefined) {
    // Rolled back, failed or never settled: nothing of it may be left live.
    verdict.orphans = live.length;
    if (live.length) verdict.notes.push(`${live.length} live object(s) left`);
  }
  return verdict;
}

type ChangeRow = { platform_entity_id: string; completed: boolean; metric_days: number };

async function finalSyncsOf(adIds: string[]): Promise<Map<string, ChangeRow>> {
  const rows = await sql<ChangeRow[]>`
    select l.platform_entity_id, bool_or(l.final_sync_completed) as completed,
           (select count(*)::int from public.ad_metrics_daily m
            where m.entity_type = 'ad' and m.platform_entity_id = l.platform_entity_id) as metric_days
    from public.ad_status_change_log l
    where l.entity_type = 'ad' and l.requires_final_sync and l.platform_entity_id = any(${adIds})
    group by l.platform_entity_id`;
  return new Map(rows.map((r) => [r.platform_entity_id, r]));
}

// ---- main ------------------------------------------------------------------------------------

let exitCode = 0;
const connections = sampleConnections();
try {
  const suffix = `${seed}-${crypto.randomUUID().slice(0, 8)}`;
  // One user drives every run: its own limits are lifted; each run's account keeps the defaults.
  const { client } = await bulkClient(sql, functions.url, `soak-${suffix}`);
  const token = `EAAB-soak-${suffix}`;

  await control("faults", { rules: faultRules });
  const results: RunResult[] = [];
  let done = 0;
  const progressEvery = Math.max(1, Math.round(runs / 10));
  // At most `concurrency` runs in flight; a parked run hands its place to the next one.
  let inFlight = 0;
  const queue: (() => void)[] = [];
  const acquire = async () => {
    if (inFlight < concurrency) inFlight++;
    else await new Promise<void>((resolve) => queue.push(resolve));
  };
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else inFlight--;
  };
  const pending: Promise<void>[] = [];
  for (let run = 0; run < runs; run++) {
    await acquire();
    let freed = false;
    const free = () => {
      if (!freed) {
        freed = true;
        release();
      }
    };
    pending.push(
      soakRun(run, client, token, free).then((result) => {
        results.push(result);
        if (++done % progressEvery === 0 || done === runs) {
          console.error(
            `soak: ${done}/${runs} runs, ${((performance.now() - started) / 1000).toFixed(0)} s`,
          );
        }
      }).finally(free),
    );
  }
  await Promise.all(pending);
  // The storm is over: what fired, then Meta calm for the last checks.
  const requestLog = await control<{
    total: number;
    requests: { faults: { effect: string }[]; throttled: boolean }[];
  }>("requests");
  await control("faults", { rules: [] });
  const fired = Object.fromEntries(faultKinds.map((kind) => [kind, 0]));
  for (const request of requestLog.requests) {
    for (const fault of request.faults) fired[fault.effect] = (fired[fault.effect] ?? 0) + 1;
  }
  const throttled = requestLog.requests.filter((r) => r.throttled).length;
  const faultsFired = Object.values(fired).reduce((a, b) => a + b, 0);

  // A job given up on counts as unsettled only if it is still unsettled now.
  const totals = {
    completed: 0,
    rolled_back: 0,
    failed: 0,
    unsettled: 0,
    refused: 0,
    excess: 0,
    missing: 0,
    orphans: 0,
    dbMismatch: 0,
  };
  const problems: { result: RunResult; status?: string; notes: string[] }[] = [];
  results.sort((a, b) => a.run - b.run);
  for (const result of results) {
    if (result.refused) {
      totals.refused++;
      problems.push({ result, notes: [`launch refused: ${result.refused}`] });
      continue;
    }
    const status = await jobStatus(result.jobId!);
    if (status === "completed" || status === "rolled_back" || status === "failed") {
      totals[status]++;
    } else totals.unsettled++;
    const verdict = await check(result, status);
    totals.excess += verdict.excess;
    totals.missing += verdict.missing;
    totals.orphans += verdict.orphans;
    totals.dbMismatch += verdict.dbMismatch;
    const notes = [...verdict.notes];
    if (status === "failed") notes.push("failed (the soak never declines a rollback)");
    if (!finalStatuses.includes(status)) notes.push(`unsettled: still ${status}`);
    if (notes.length) problems.push({ result, status, notes });
  }

  // Lost metrics: each paused ad's change must have its final sync completed, with metrics.
  let lost = 0;
  let deferred = 0;
  let metricsChecked = 0;
  let syncFailures = 0;
  if (checkMetrics) {
    const paused = results.filter((r) => r.pausedAd);
    syncFailures = results.filter((r) => r.syncFailure).length;
    for (const r of results.filter((r) => r.syncFailure)) {
      problems.push({ result: r, status: "completed", notes: [`sync: ${r.syncFailure}`] });
    }
    let changes = await finalSyncsOf(paused.map((r) => r.pausedAd!));
    const owed = paused.filter((r) => !changes.get(r.pausedAd!)?.completed);
    deferred = owed.length;
    if (owed.length > 0) {
      // One calm sync of each account that still owes one, as its next sync would.
      for (const r of owed) {
        await invokeFunction(client, "facebook-ads-sync", { adAccountId: r.act });
      }
      changes = await finalSyncsOf(paused.map((r) => r.pausedAd!));
    }
    for (const r of paused) {
      metricsChecked++;
      const change = changes.get(r.pausedAd!);
      const reason = !change
        ? "its pause was never logged"
        : !change.completed
        ? "its final sync never completed"
        : change.metric_days === 0
        ? "no daily metrics saved for it"
        : undefined;
      if (reason) {
        lost++;
        problems.push({ result: r, status: "completed", notes: [`ad ${r.pausedAd}: ${reason}`] });
      }
    }
  }

  const seconds = (performance.now() - started) / 1000;
  const settle = results.filter((r) => r.settledMs !== undefined).map((r) => r.settledMs!)
    .sort((a, b) => a - b);
  const pct = (p: number) => ((settle[Math.floor((settle.length - 1) * p)] ?? 0) / 1000).toFixed(1);

  for (const { result, status, notes } of problems) {
    console.log(
      `soak problem: run=${result.run} account=${result.act} job=${result.jobId ?? "-"} ` +
        `status=${status ?? "-"}: ${notes.join("; ")}`,
    );
  }
  const badJobs = problems.map((p) => p.result.jobId).filter((id) => id !== undefined);
  if (badJobs.length > 0 || keepLogs) {
    const dir = new URL("../.local/soak/", import.meta.url).pathname;
    await Deno.mkdir(dir, { recursive: true });
    const file = `${dir}seed-${seed}-runs-${runs}-${Date.now()}`;
    await Deno.writeTextFile(
      `${file}.functions.jsonl`,
      functions.log().map((line) => JSON.stringify(line)).join("\n") + "\n",
    );
    await Deno.writeTextFile(`${file}.requests.json`, JSON.stringify(requestLog));
    const mentions = (line: Record<string, unknown>) =>
      badJobs.some((id) => JSON.stringify(line).includes(`"jobId":${id}`));
    for (const line of functions.log().filter(mentions).slice(0, 200)) {
      console.log(`soak log: ${JSON.stringify(line)}`);
    }
    console.log(
      `soak: the functions' whole log is in ${file}.functions.jsonl, ` +
        `the simulator's requests in ${file}.requests.json`,
    );
  }

  const phaseNames = [...new Set(results.flatMap((r) => Object.keys(r.phases)))];
  console.log(
    `soak phases (mean s per run): ${
      phaseNames.map((name) => {
        const times = results.map((r) => r.phases[name]).filter((t) => t !== undefined);
        return `${name}=${(times.reduce((a, b) => a + b, 0) / times.length / 1000).toFixed(2)}`;
      }).join(" ")
    }`,
  );
  console.log(
    `soak faults: ${faultKinds.map((k) => `${k}=${fired[k]}`).join(" ")} ` +
      `throttled=${throttled} requests=${requestLog.total}`,
  );
  console.log(
    `soak detail: connect_retries=${stats.connectRetries} launch_retries=${stats.launchRetries} ` +
      `sync_retries=${stats.syncRetries} sync_failures=${syncFailures} ` +
      `retry_after_wait_s=${(stats.retryAfterWaitMs / 1000).toFixed(0)} ` +
      `metrics_checked=${metricsChecked} deferred_final_syncs=${deferred} ` +
      `reinstated=${stats.reinstated} ` +
      `settle_s_p50=${pct(0.5)} p90=${pct(0.9)} max=${pct(1)} ` +
      `functions_connections_peak=${connections.peak()} invocations_peak=${peakInvocations()} ` +
      `seed=${seed} concurrency=${concurrency}`,
  );
  console.log(
    `soak: runs=${runs} completed=${totals.completed} rolled_back=${totals.rolled_back} ` +
      `failed=${totals.failed} refused=${totals.refused} unsettled=${totals.unsettled} ` +
      `excess=${totals.excess} missing=${totals.missing} orphans=${totals.orphans} ` +
      `db_mismatch=${totals.dbMismatch} lost_metrics=${checkMetrics ? lost : "skipped"} ` +
      `faults_fired=${faultsFired} seconds=${seconds.toFixed(1)}`,
  );
  const failures = totals.failed + totals.refused + totals.unsettled + totals.excess +
    totals.missing + totals.orphans + totals.dbMismatch + lost + syncFailures;
  if (failures > 0) exitCode = 1;
} finally {
  connections.stop();
  await stack.close();
  await sql.end({ timeout: 5 });
}
Deno.exit(exitCode);
