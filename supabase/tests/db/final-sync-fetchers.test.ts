// The final-sync handler and the attribution tail are platform-neutral: driven here by a second
// fetcher, shaped like TikTok's reporting API (GET /open_api/v1.3/report/integrated/get/ with an
// ad_ids filter of up to 100 ids, rows of {dimensions: {ad_id, stat_time_day}, metrics}, code 0
// for success, 40100 for a rate limit), served over real HTTP by a small in-test server, against
// the real database (triggers, claims, complete_final_sync). It is the code Meta's syncs run.
//
// Runs against $DATABASE_URL; seeds its own user, account and ads (ids unique to this run) and
// deletes them.
import postgres from "postgres";
import assert from "node:assert/strict";
import {
  getEntitiesNeedingFinalSync,
  markFinalSyncCompleted,
  type MetricData,
  type MetricsFetcher,
  type PendingFinalSync,
  processAllPendingFinalSyncs,
  processFinalSyncForEntity,
  requiresFinalSync,
} from "../../functions/_shared/sync/atomic-status-handler.ts";
import { readAttributionTails } from "../../functions/_shared/sync/attribution-tail.ts";
import { closeDb } from "../../functions/_shared/platform/db.ts";
import type {
  MetricsRequest,
  MetricsResult,
} from "../../functions/_shared/sync/metrics-fetcher.ts";

const url = Deno.env.get("DATABASE_URL");

type TikTokRow = {
  dimensions: { ad_id: string; stat_time_day: string };
  metrics: Record<string, string>;
};

/** TikTok's report endpoint, in miniature: deterministic numbers per (ad, day); counts requests. */
function tiktokReports(advertiserId: string) {
  const requests: URL[] = [];
  let rateLimited = false;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    requests.push(url);
    if (req.headers.get("Access-Token") !== "tt-token") {
      return Response.json({ code: 40105, message: "Access token is incorrect" });
    }
    if (rateLimited) return Response.json({ code: 40100, message: "Too many requests" });
    const params = url.searchParams;
    assert.equal(url.pathname, "/open_api/v1.3/report/integrated/get/");
    assert.equal(params.get("advertiser_id"), advertiserId);
    const [filter] = JSON.parse(params.get("filtering")!);
    const ids: string[] = JSON.parse(filter.filter_value);
    assert.ok(ids.length <= 100, "TikTok takes at most 100 ids in a filter");
    const list: TikTokRow[] = [];
    for (const id of ids) {
      for (
        let day = params.get("start_date")!;
        day <= params.get("end_date")!;
        day = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10)
      ) {
        const n = Number(id.slice(-3)) + Number(day.slice(-2));
        list.push({
          dimensions: { ad_id: id, stat_time_day: `${day} 00:00:00` },
          metrics: {
            impressions: String(100 * n),
            clicks: String(n),
            spend: (n / 10).toFixed(2),
            reach: String(90 * n),
            conversion: String(n % 4),
          },
        });
      }
    }
    return Response.json({
      code: 0,
      message: "OK",
      data: { list, page_info: { page: 1, page_size: 1000, total_page: 1 } },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    rateLimit: (on: boolean) => rateLimited = on,
    close: () => server.shutdown(),
  };
}

/** A MetricsFetcher over TikTok's reporting API: 100 ads per report request. */
function tiktokFetcher(baseUrl: string, advertiserId: string, token: string): MetricsFetcher {
  const metricsOf = (row: TikTokRow): MetricData => ({
    date: row.dimensions.stat_time_day.slice(0, 10),
    impressions: Number(row.metrics.impressions),
    clicks: Number(row.metrics.clicks),
    spend: Number(row.metrics.spend),
    reach: Number(row.metrics.reach),
    conversions: Number(row.metrics.conversion),
    actions: [],
  });
  return {
    platform: "tiktok",
    batchSize: 100,
    async fetch(requests: MetricsRequest[]): Promise<MetricsResult[]> {
      const since = requests.map((r) => r.range.since).sort()[0];
      const until = requests.map((r) => r.range.until).sort().at(-1)!;
      const query = new URLSearchParams({
        advertiser_id: advertiserId,
        report_type: "BASIC",
        data_level: "AUCTION_AD",
        dimensions: JSON.stringify(["ad_id", "stat_time_day"]),
        metrics: JSON.stringify(["impressions", "clicks", "spend", "reach", "conversion"]),
        start_date: since,
        end_date: until,
        filtering: JSON.stringify([{
          field_name: "ad_ids",
          filter_type: "IN",
          filter_value: JSON.stringify(requests.map((r) => r.platformEntityId)),
        }]),
        page_size: "1000",
      });
      const response = await fetch(`${baseUrl}/open_api/v1.3/report/integrated/get/?${query}`, {
        headers: { "Access-Token": token },
      });
      const body = await response.json() as {
        code: number;
        message: string;
        data?: { list: TikTokRow[] };
      };
      if (body.code !== 0) {
        const error = {
          class: body.code === 40100 ? "RATE_LIMIT" as const : "PERMANENT" as const,
          message: body.message,
        };
        return requests.map(() => ({ ok: false, error }));
      }
      // One report for all: each entity gets its own rows, within its own range.
      return requests.map((request) => ({
        ok: true,
        data: body.data!.list
          .filter((row) => row.dimensions.ad_id === request.platformEntityId)
          .map(metricsOf)
          .filter((day) => day.date >= request.range.since && day.date <= request.range.until),
      }));
    },
  };
}

Deno.test({
  name: "the final-sync handler, driven by a TikTok-shaped fetcher over HTTP",
  ignore: !url,
  async fn() {
    const sql = postgres(url!, { max: 2, onnotice: () => {} });
    Deno.env.set("SUPABASE_DB_URL", url!);
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const advertiserId = `70${runId}`.slice(0, 19);
    const tiktok = tiktokReports(advertiserId);
    const fetcher = tiktokFetcher(tiktok.url, advertiserId, "tt-token");
    let userId: string | undefined;
    try {
      const [user] = await sql`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`tt-${runId}@test.adrail`})
        returning id`;
      userId = user.id;
      const [account] = await sql`
        insert into public.ad_accounts (user_id, platform, platform_account_id, access_token_ciphertext)
        values (${user.id}, 'tiktok', ${advertiserId}, 'ciphertext') returning id`;
      const adIds = Array.from({ length: 153 }, (_, i) => `${runId}${String(i).padStart(3, "0")}`);
      await sql`
        insert into public.ads ${
        sql(adIds.map((id) => ({
          ad_account_id: account.id,
          platform: "tiktok",
          platform_ad_id: id,
          name: id,
          status: "ACTIVE",
        })))
      }`;
      await sql`update public.ads set status = 'PAUSED' where ad_account_id = ${account.id}`;

      assert.equal(await requiresFinalSync("ACTIVE", "PAUSED"), true);
      assert.equal(await requiresFinalSync("PAUSED", "ACTIVE"), false);
      const pending = await getEntitiesNeedingFinalSync(account.id);
      assert.equal(pending.length, 153, "every paused ad owes a final sync");

      // Three by hand, through the single-entity path, with the run's own claim token.
      const worker = `tt-run-${runId}`;
      const claimed = await sql<PendingFinalSync[]>`
        select id, ad_account_id, entity_type, platform_entity_id, created_at
        from public.claim_final_syncs(${worker}, ${account.id}, 3)`;
      const single = await processFinalSyncForEntity(fetcher, claimed[0], worker, 7);
      assert.deepEqual([single.completed, single.days], [true, 7]);
      assert.equal(
        await markFinalSyncCompleted(claimed[1], worker, false, "internal: by hand"),
        true,
      );
      assert.equal(
        await markFinalSyncCompleted(claimed[1], worker, true),
        false,
        "the claim was released: the token no longer owns the row",
      );
      assert.equal(await markFinalSyncCompleted(claimed[2], worker, true), true);

      // The rest in batches of 100: the one released above and the 150 never claimed.
      tiktok.requests.length = 0;
      const report = await processAllPendingFinalSyncs({
        adAccountId: account.id,
        fetcherFor: (id) => {
          assert.equal(id, account.id);
          return Promise.resolve(fetcher);
        },
        lookbackDays: 7,
      });
      assert.deepEqual([report.claimed, report.completed, report.failed], [151, 151, 0]);
      assert.equal(tiktok.requests.length, 2, "151 ads in two report requests of at most 100");
      assert.equal(report.metricDays, 151 * 7);

      const [{ rows, impressions }] = await sql`
        select count(*)::int as rows, sum(impressions)::bigint as impressions
        from public.ad_metrics_daily where ad_account_id = ${account.id}`;
      assert.equal(rows, 152 * 7, "seven days for each ad read (not the one marked by hand)");
      const [one] = await sql`
        select impressions, clicks, spend, conversions from public.ad_metrics_daily
        where ad_account_id = ${account.id} and platform_entity_id = ${adIds[42]}
        order by date desc limit 1`;
      const n = 42 + Number(new Date().toISOString().slice(8, 10));
      assert.deepEqual(
        [Number(one.impressions), Number(one.clicks), Number(one.spend), Number(one.conversions)],
        [100 * n, n, n / 10, n % 4],
        "TikTok's numbers for the day of the change, as it served them",
      );
      assert.ok(Number(impressions) > 0);
      assert.equal((await getEntitiesNeedingFinalSync(account.id)).length, 0);

      // A rate limit from the second platform is handled as Meta's: the rows stay owed.
      await sql`update public.ads set status = 'ACTIVE' where ad_account_id = ${account.id}`;
      await sql`update public.ads set status = 'DELETED' where ad_account_id = ${account.id}`;
      tiktok.rateLimit(true);
      tiktok.requests.length = 0;
      const limited = await processAllPendingFinalSyncs({
        adAccountId: account.id,
        fetcherFor: () => Promise.resolve(fetcher),
        lookbackDays: 7,
      });
      assert.deepEqual([limited.claimed, limited.completed], [153, 0]);
      assert.equal(tiktok.requests.length, 1, "no request after the rate limit");
      assert.match(
        limited.outcomes.at(-1)!.error!,
        /^meta_unavailable: not attempted: the platform rate-limited the account \(RATE_LIMIT\)/,
      );
      assert.equal((await getEntitiesNeedingFinalSync(account.id)).length, 153);
    } finally {
      try {
        if (userId) await sql`delete from auth.users where id = ${userId}`;
      } finally {
        await tiktok.close();
        await Promise.all([sql.end(), closeDb()]);
      }
    }
  },
});

Deno.test({
  name: "an attribution tail superseded while it is read writes nothing and throws nothing",
  ignore: !url,
  async fn() {
    const sql = postgres(url!, { max: 2, onnotice: () => {} });
    Deno.env.set("SUPABASE_DB_URL", url!);
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const advertiserId = `71${runId}`.slice(0, 19);
    const tiktok = tiktokReports(advertiserId);
    const reports = tiktokFetcher(tiktok.url, advertiserId, "tt-token");
    const adId = `${runId}001`;
    let userId: string | undefined;
    try {
      const [user] = await sql`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`tt2-${runId}@test.adrail`})
        returning id`;
      userId = user.id;
      const [account] = await sql`
        insert into public.ad_accounts (user_id, platform, platform_account_id, access_token_ciphertext)
        values (${user.id}, 'tiktok', ${advertiserId}, 'ciphertext') returning id`;
      await sql`
        insert into public.ads (ad_account_id, platform, platform_ad_id, name, status)
        values (${account.id}, 'tiktok', ${adId}, 'ad', 'ACTIVE')`;
      await sql`update public.ads set status = 'PAUSED' where platform_ad_id = ${adId}`;
      const fetcherFor = () => Promise.resolve(reports);
      const done = await processAllPendingFinalSyncs({
        adAccountId: account.id,
        fetcherFor,
        lookbackDays: 7,
      });
      assert.equal(done.completed, 1);

      // While the tail is read, someone turns the ad on and off again: a newer stop supersedes it.
      const report = await readAttributionTails({
        adAccountId: account.id,
        readEverySeconds: 0,
        fetcherFor: () =>
          Promise.resolve({
            ...reports,
            fetch: async (requests) => {
              await sql`update public.ads set status = 'ACTIVE' where platform_ad_id = ${adId}`;
              await sql`update public.ads set status = 'PAUSED' where platform_ad_id = ${adId}`;
              return await reports.fetch(requests);
            },
          }),
      });
      assert.deepEqual(report, { claimed: 1, read: 0, settled: 0, failed: 0, deferred: 0 });
      const rows = await sql`
        select tail_reads, settled_at is not null as settled
        from public.ad_status_change_log
        where platform_entity_id = ${adId} and requires_final_sync order by id`;
      assert.deepEqual(rows.map((r) => ({ ...r })), [
        { tail_reads: 0, settled: true },
        { tail_reads: 0, settled: false },
      ], "the superseded tail is settled, unread; the newer stop's is open");
    } finally {
      try {
        if (userId) await sql`delete from auth.users where id = ${userId}`;
      } finally {
        await tiktok.close();
        await Promise.all([sql.end(), closeDb()]);
      }
    }
  },
});
