// The 28-day tail, end to end: Meta keeps attributing conversions to a stopped ad's last days for
// 28 days (the simulator models it, driven by its clock), and adrail keeps re-reading them after the
// final sync, in every sync of the account and in the safety net, until our days equal Meta's.
// The syncs here read no regular metrics window (since = until = a day without metrics): only the
// final sync and the tail can bring the numbers. Tails are re-read on every run here
// (ATTRIBUTION_TAIL_READ_EVERY_SECONDS=0).
import assert from "node:assert/strict";
import { localKeys, signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { dailyMetricsOf } from "../../functions/_shared/meta/insights.ts";
import { activeAccount, dayWithoutMetrics } from "../_support/launches.ts";
import { callFunction } from "../_support/refusals.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

const day = 86_400;

/** The ad's days as Meta reports them now, by its own id. */
async function metaDays(meta: Awaited<ReturnType<typeof activeAccount>>, ad: string) {
  const today = Date.now();
  const rows = await meta.graph.getAll<{ date_start: string }>(`/${ad}/insights`, {
    fields: "impressions,clicks,spend,reach,actions,conversions",
    time_increment: 1,
    time_range: {
      since: new Date(today - 40 * day * 1000).toISOString().slice(0, 10),
      until: new Date(today + 40 * day * 1000).toISOString().slice(0, 10),
    },
  });
  assert.ok(rows.ok, JSON.stringify(rows));
  return rows.data.map((row) => {
    const { date, impressions, clicks, spend, conversions } = dailyMetricsOf(row);
    return { date, impressions, clicks, spend, conversions };
  });
}

/** The ad's days as adrail holds them. */
async function ourDays(stack: TestStack, ad: string) {
  const rows = await stack.sql`
    select to_char(date, 'YYYY-MM-DD') as date, impressions, clicks, spend, conversions
    from public.ad_metrics_daily where entity_type = 'ad' and platform_entity_id = ${ad}
    order by date`;
  return rows.map((r) => ({
    date: r.date,
    impressions: Number(r.impressions),
    clicks: Number(r.clicks),
    spend: Number(r.spend),
    conversions: Number(r.conversions),
  }));
}

const conversions = (days: { conversions: number }[]) =>
  days.reduce((sum, d) => sum + d.conversions, 0);

testWithStack("the 28-day attribution tail", async (t, stack) => {
  const owner = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const bearer = await signLocalUserJwt(owner);
  const { serviceRoleKey } = await localKeys();
  const sync = async (act = meta.id) => {
    const answer = await callFunction(stack, bearer, "facebook-ads-sync", {
      body: { adAccountId: act, since: dayWithoutMetrics, until: dayWithoutMetrics },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as { attributionTails: { read: number; failed: number } };
  };
  /**
   * A safety-net run; one whose isolate had spent its CPU budget leaves its reads to the next run,
   * as pg_cron's next call would take them up: called again then (the isolate it ran in retires).
   */
  const safetyNet = async (): Promise<Record<string, unknown>> => {
    for (let attempt = 1;; attempt++) {
      const answer = await callFunction(stack, serviceRoleKey, "safety-net", { body: {} });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      if (answer.body.budgetSpent === null || attempt === 3) return answer.body;
    }
  };
  const tailOf = async (ad: string) =>
    (await stack.sql`
      select tail_reads, settled_at,
             extract(epoch from settles_at - created_at)::int / 86400 as window_days
      from public.ad_status_change_log where platform_entity_id = ${ad} and requires_final_sync`)[
      0
    ];
  await sync();

  await t.step(
    "a paused ad whose days Meta restates after its final sync: our days end equal to Meta's",
    async () => {
      await stack.sim("/__sim/status", { id: meta.adA, status: "PAUSED" });
      await sync();
      const atFinalSync = await ourDays(stack, meta.adA);
      assert.deepEqual(atFinalSync, await metaDays(meta, meta.adA), "the final sync read them all");

      await stack.sim("/__sim/clock", { advanceSeconds: 3 * day });
      const restated = await metaDays(meta, meta.adA);
      assert.ok(conversions(restated) > conversions(atFinalSync), "Meta restated its last days");

      const report = await sync();
      assert.equal(report.attributionTails.read, 1, JSON.stringify(report));
      assert.deepEqual(await ourDays(stack, meta.adA), restated);
      const tail = await tailOf(meta.adA);
      assert.equal(tail.tail_reads, 1);
      assert.equal(tail.settled_at, null, "still in its tail");
    },
  );

  await t.step(
    "a deleted ad over 28 simulated days: the safety net keeps our days equal to Meta's",
    async () => {
      // A second account, its ads delivering until now (the simulator's clock set back to ours).
      const other = await activeAccount(stack, owner);
      await sync(other.id);
      assert.ok((await other.graph.delete(`/${other.adB}`)).ok);
      await sync(other.id);
      const atFinalSync = await ourDays(stack, other.adB);
      assert.deepEqual(atFinalSync, await metaDays(other, other.adB));

      for (let week = 1; week <= 4; week++) {
        await stack.sim("/__sim/clock", { advanceSeconds: 7 * day });
        const report = await safetyNet();
        assert.deepEqual(
          await ourDays(stack, other.adB),
          await metaDays(other, other.adB),
          `week ${week}: ${JSON.stringify(report)}`,
        );
      }
      assert.ok(
        conversions(await ourDays(stack, other.adB)) > conversions(atFinalSync),
        "conversions Meta attributed after the delete were captured",
      );
      const tail = await tailOf(other.adB);
      assert.equal(tail.tail_reads, 4, "one re-read per safety-net run");
      assert.equal(tail.window_days, 28, "the tail lasts 28 days from the delete");
    },
  );
}, { ATTRIBUTION_TAIL_READ_EVERY_SECONDS: "0" });
