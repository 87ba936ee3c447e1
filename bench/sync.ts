// Big accounts synced: campaigns, ad sets and ads live on the simulator (spread over accounts of
// at most 5,000 objects each: Meta's limit is 5,000 ads per account), mirrored by a first
// facebook-ads-sync each; then some ads paused on Meta's side and every account synced, all at
// once, until no final sync is owed (each sync takes what it owes, then what it uncovers). Measured: the syncs' time,
// final syncs per second, the Graph requests that read final syncs' metrics (per-id /insights,
// plain or inside batches), and what the status-change triggers cost on the sync's upsert of
// every entity (the same upsert with the triggers and without them, rolled back each time).
import { adSetTemplate, type BenchStack, median, sleep } from "./harness.ts";
import type { BatchOperation } from "../supabase/functions/_shared/meta/graph-client.ts";

export type SyncShape = {
  accounts: number;
  /** Per account. */
  campaigns: number;
  adSetsPerCampaign: number;
  adsPerAdSet: number;
  statusChanges: number;
  triggerTrials: number;
};

export type SyncResult = {
  entities: number;
  accounts: number;
  statusChanges: number;
  latencyMs: number;
  /** The first syncs, all accounts at once: every entity new. */
  firstSyncMs: number;
  /** The syncs after the changes, all accounts at once, until no final sync is owed. */
  syncMs: number;
  syncCalls: number;
  /** Sync calls answered other than 200 (the wall-clock limit's 546, a 429) and sent again. */
  syncsNotAnswered: number;
  /** Final syncs completed during those syncs, counted in ad_status_change_log. */
  finalSyncs: number;
  finalSyncsPerSecond: number;
  finalSyncRequests: number;
  finalSyncRequestsPer1000: number;
  /** sync_ad_entities over every entity in one statement, `statusChanges` changing status. */
  triggerOverhead: { rows: number; withMs: number; withoutMs: number; ratio: number };
};

const entityCount = (s: SyncShape) =>
  s.accounts * s.campaigns * (1 + s.adSetsPerCampaign * (1 + s.adsPerAdSet));

async function run(bench: BenchStack, ops: BatchOperation[]): Promise<string[]> {
  const answer = await bench.graph.batch(ops);
  if (!answer.ok) throw new Error(`set-up batch: ${answer.error.message}`);
  return answer.data.map((item) => {
    if (!item.ok) throw new Error(`set-up item: ${item.error.message}`);
    return (item.data as { id: string }).id;
  });
}

/** The account's objects, created ACTIVE three (simulated) days ago, in batches Meta accepts. */
async function populate(bench: BenchStack, act: string, shape: SyncShape): Promise<string[]> {
  const day = 86_400_000;
  await bench.control("clock", { now: new Date(Date.now() - 3 * day).toISOString() });
  const campaigns = await run(
    bench,
    Array.from({ length: shape.campaigns }, (_, c) => ({
      method: "POST" as const,
      path: `/${act}/campaigns`,
      params: {
        name: `Sync C${c}`,
        objective: "OUTCOME_SALES",
        special_ad_categories: [],
        is_adset_budget_sharing_enabled: false,
        status: "ACTIVE",
      },
    })),
  );
  // One ad set of a campaign per batch (Meta's rule): each batch takes one of every campaign.
  const adSets: string[] = [];
  for (let s = 0; s < shape.adSetsPerCampaign; s++) {
    adSets.push(
      ...await run(
        bench,
        campaigns.map((campaign, c) => ({
          method: "POST" as const,
          path: `/${act}/adsets`,
          params: {
            name: `Sync C${c} S${s}`,
            campaign_id: campaign,
            status: "ACTIVE",
            ...adSetTemplate,
          },
        })),
      ),
    );
  }
  const adOps: BatchOperation[] = adSets.flatMap((adSet, s) =>
    Array.from({ length: shape.adsPerAdSet }, (_, a) => ({
      method: "POST" as const,
      path: `/${act}/ads`,
      params: {
        name: `Sync S${s} A${a}`,
        adset_id: adSet,
        creative: { creative_id: "555" },
        status: "ACTIVE",
      },
    }))
  );
  const chunks = Array.from(
    { length: Math.ceil(adOps.length / 50) },
    (_, i) => adOps.slice(i * 50, i * 50 + 50),
  );
  const ads: string[] = [];
  for (let i = 0; i < chunks.length; i += 4) {
    for (const ids of await Promise.all(chunks.slice(i, i + 4).map((c) => run(bench, c)))) {
      ads.push(...ids);
    }
  }
  await bench.control("clock", { now: new Date().toISOString() });
  return ads;
}

/**
 * facebook-ads-sync as an app calls it: a 429 or 5xx is sent again after its Retry-After.
 * Returns the answers that were not 200 (a sync ended by the runtime's wall-clock limit answers
 * 546: the final syncs it completed are saved, its report is lost).
 */
async function syncOnce(bench: BenchStack, act: string): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const answer = await bench.invoke("facebook-ads-sync", { adAccountId: act });
    if (answer.status === 200) return attempt;
    if (attempt >= 5 || !(answer.status === 429 || answer.status >= 500)) {
      throw new Error(`facebook-ads-sync answered ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    await sleep((answer.retryAfter ?? 1) * 1000);
  }
}

/** Final syncs the accounts owe, and those completed (counted in the database, not reports). */
async function finalSyncCounts(bench: BenchStack, accounts: string[]) {
  const [counts] = await bench.sql<{ owed: number; completed: number }[]>`
    select count(*) filter (where not l.final_sync_completed)::int as owed,
           count(*) filter (where l.final_sync_completed)::int as completed
    from public.ad_status_change_log l
    join public.ad_accounts a on a.id = l.ad_account_id
    where a.platform_account_id = any(${accounts}) and l.requires_final_sync`;
  return counts;
}

/** A per-id insights read (a final sync's), not the account-level /act_…/insights. */
const perIdInsights = /^\/v\d+\.\d+\/\d+\/insights/;

/**
 * sync_ad_entities over every account's entities as stored, `changes` active ads of each paused,
 * in one statement, with the status triggers and without them (each in a transaction rolled
 * back), alternating; the ratio is the median of each pair's. Without means dropped inside the
 * transaction, not disabled: a disabled trigger with transition tables still has Postgres copy
 * every updated row for it, a cost of the triggers the ratio would hide.
 */
async function triggerOverhead(
  bench: BenchStack,
  accounts: string[],
  changes: number,
  trials: number,
) {
  const conn = await bench.sql.reserve();
  try {
    await conn`
      create temp table bench_payload on commit preserve rows as
      select acc.id as account_id,
        (select jsonb_agg(jsonb_build_object('id', platform_campaign_id, 'name', name, 'status', status,
                 'effective_status', effective_status, 'objective', objective))
         from public.ad_campaigns where ad_account_id = acc.id) as campaigns,
        (select jsonb_agg(jsonb_build_object('id', platform_ad_set_id, 'name', name,
                 'campaign_id', platform_campaign_id, 'status', status, 'effective_status', effective_status))
         from public.ad_sets where ad_account_id = acc.id) as ad_sets,
        (select jsonb_agg(jsonb_build_object('id', platform_ad_id, 'name', name, 'adset_id', platform_ad_set_id,
                 'creative', jsonb_build_object('id', creative_id),
                 'status', case when n <= ${changes} then 'PAUSED' else status end,
                 'effective_status', case when n <= ${changes} then 'PAUSED' else effective_status end))
         from (select *, row_number() over (partition by status = 'ACTIVE' order by platform_ad_id)
                 * (case when status = 'ACTIVE' then 1 else ${changes + 1} end) as n
               from public.ads where ad_account_id = acc.id) a) as ads
      from public.ad_accounts acc where acc.platform_account_id = any(${accounts})`;
    // The status triggers of the three tables, whatever their names.
    const triggers = await conn<{ table: string; name: string }[]>`
      select c.relname as table, t.tgname as name from pg_trigger t
      join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relname in ('ad_campaigns', 'ad_sets', 'ads')
        and not t.tgisinternal and t.tgname like '%status%'`;
    const upsert = async (withTriggers: boolean) => {
      await conn`begin`;
      try {
        if (!withTriggers) {
          for (const t of triggers) {
            await conn`drop trigger ${conn(t.name)} on ${conn("public." + t.table)}`;
          }
        }
        const started = performance.now();
        const answers = await conn<{ counts: { statusChanges: number } }[]>`
          select public.sync_ad_entities(p.account_id, p.campaigns, p.ad_sets, p.ads) as counts
          from bench_payload p`;
        const ms = performance.now() - started;
        const logged = answers.reduce((sum, a) => sum + a.counts.statusChanges, 0);
        if (logged !== (withTriggers ? changes * accounts.length : 0)) {
          throw new Error(
            `the upsert ${withTriggers ? "with" : "without"} triggers logged ${logged} changes`,
          );
        }
        return ms;
      } finally {
        await conn`rollback`;
      }
    };
    const pairs: { with: number; without: number }[] = [];
    await upsert(true); // warm-up: caches and plans, both ways
    await upsert(false);
    for (let trial = 0; trial < trials; trial++) {
      const first = trial % 2 === 0;
      const a = await upsert(first);
      const b = await upsert(!first);
      pairs.push(first ? { with: a, without: b } : { with: b, without: a });
    }
    await conn`drop table bench_payload`;
    return {
      withMs: median(pairs.map((p) => p.with)),
      withoutMs: median(pairs.map((p) => p.without)),
      ratio: median(pairs.map((p) => p.with / p.without)),
    };
  } finally {
    conn.release();
  }
}

export async function bigAccountSync(
  bench: BenchStack,
  shape: SyncShape,
  latencyMs: number,
): Promise<SyncResult> {
  const accounts: string[] = [];
  const ads: string[] = [];
  for (let i = 0; i < shape.accounts; i++) {
    const act = await bench.connect();
    accounts.push(act);
    ads.push(...await populate(bench, act, shape));
  }
  let started = performance.now();
  await Promise.all(accounts.map((act) => syncOnce(bench, act)));
  const firstSyncMs = performance.now() - started;

  // The changes spread over the accounts (every k-th ad).
  const step = Math.max(1, Math.floor(ads.length / shape.statusChanges));
  const paused = Array.from({ length: shape.statusChanges }, (_, i) => ads[i * step]);
  for (let i = 0; i < paused.length; i += 20) {
    await Promise.all(
      paused.slice(i, i + 20).map((id) => bench.control("status", { id, status: "PAUSED" })),
    );
  }
  const firstRequest = await bench.graphRequests();
  started = performance.now();
  const completedBefore = (await finalSyncCounts(bench, accounts)).completed;
  let syncCalls = 0;
  let notAnswered = 0;
  await Promise.all(accounts.map(async (act) => {
    for (let calls = 0; calls < 20; calls++) {
      notAnswered += await syncOnce(bench, act);
      syncCalls++;
      if ((await finalSyncCounts(bench, [act])).owed === 0) return;
    }
  }));
  const syncMs = performance.now() - started;
  const finalSyncs = (await finalSyncCounts(bench, accounts)).completed - completedBefore;
  const finalSyncRequests = (await bench.requestLog()).filter((r) =>
    r.seq > firstRequest &&
    (perIdInsights.test(r.path) || (r.items ?? []).some((item) => perIdInsights.test(item.path)))
  ).length;
  return {
    entities: entityCount(shape),
    accounts: shape.accounts,
    statusChanges: shape.statusChanges,
    latencyMs,
    firstSyncMs,
    syncMs,
    syncCalls,
    syncsNotAnswered: notAnswered,
    finalSyncs,
    finalSyncsPerSecond: finalSyncs / (syncMs / 1000),
    finalSyncRequests,
    finalSyncRequestsPer1000: finalSyncs > 0 ? (finalSyncRequests / finalSyncs) * 1000 : NaN,
    triggerOverhead: {
      rows: entityCount(shape),
      ...await triggerOverhead(
        bench,
        accounts,
        Math.round(shape.statusChanges / shape.accounts),
        shape.triggerTrials,
      ),
    },
  };
}
