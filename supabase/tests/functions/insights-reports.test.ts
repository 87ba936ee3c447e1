// Big accounts: Meta refuses a synchronous insights read over its size threshold ("reduce the
// amount of data"), so the sync runs that level as an async report run (POST /act_/insights,
// polls of async_status, paged results). A run Meta fails is started again; a run not finished
// within INSIGHTS_REPORT_WAIT_SECONDS is left to the next sync, which continues the same run.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { accountToken, activeAccount } from "../_support/launches.ts";
import { callFunction } from "../_support/refusals.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

type LoggedRequest = { method: string; path: string; status: number | null };

async function requestsSince(stack: TestStack, from: number) {
  const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
  return requests.slice(from);
}

const requestCount = async (stack: TestStack) =>
  (await stack.sim("/__sim/requests") as { total: number }).total;

testWithStack("insights of big accounts as async report runs", async (t, stack) => {
  const owner = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const bearer = await signLocalUserJwt(owner);
  const token = await accountToken(stack, meta.id);
  // Ad level (two ads, about six days each) is over the threshold; campaign and ad set are not.
  const insightsSettings = (settings: Record<string, number>) =>
    stack.sim("/__sim/accounts", {
      id: meta.id,
      token,
      insights: { syncMaxRows: 10, ...settings },
    });
  const sync = async () => {
    const answer = await callFunction(stack, bearer, "facebook-ads-sync", {
      body: { adAccountId: meta.id },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as { metrics: { rows: number; pendingReports: string[] } };
  };
  const adRows = async () =>
    (await stack.sql`
      select count(*)::int as n from public.ad_metrics_daily
      where entity_type = 'ad' and platform_entity_id in (${meta.adA}, ${meta.adB})`)[0].n;
  const remembered = async () =>
    (await stack.sql`
      select count(*)::int as n from private.insights_report_runs r
      join public.ad_accounts a on a.id = r.ad_account_id where a.platform_account_id = ${meta.id}`)[
      0
    ].n;

  await t.step("the first report run fails on Meta, the second one is read", async () => {
    await insightsSettings({ reportRunPolls: 2, failingReportRuns: 1 });
    const from = await requestCount(stack);
    const report = await sync();
    assert.deepEqual(report.metrics.pendingReports, []);
    const requests = await requestsSince(stack, from);
    const tooBig = requests.filter((r) =>
      r.method === "GET" && r.path === `/v27.0/${meta.id}/insights` && r.status === 400
    );
    assert.equal(tooBig.length, 1, "the ad-level read was refused as too much data");
    const started = requests.filter((r) =>
      r.method === "POST" && r.path === `/v27.0/${meta.id}/insights`
    );
    assert.equal(started.length, 2, "a report run started, failed, and started again");
    assert.ok(await adRows() >= 10, "every ad's days are in");
    assert.equal(await remembered(), 0, "nothing left for the next sync");
  });

  await t.step(
    "a report run not finished within the wait is continued by the next sync",
    async () => {
      await stack.sql`
      delete from public.ad_metrics_daily where platform_entity_id in (${meta.adA}, ${meta.adB})`;
      await insightsSettings({ reportRunPolls: 6 });
      const from = await requestCount(stack);
      const first = await sync();
      assert.deepEqual(first.metrics.pendingReports, ["ad"], "the ad level is left for later");
      assert.equal(await adRows(), 0);
      assert.equal(await remembered(), 1, "its report run is remembered");

      const second = await sync();
      assert.deepEqual(second.metrics.pendingReports, []);
      assert.ok(await adRows() >= 10);
      assert.equal(await remembered(), 0);
      const started = (await requestsSince(stack, from)).filter((r) =>
        r.method === "POST" && r.path === `/v27.0/${meta.id}/insights`
      );
      assert.equal(started.length, 1, "the second sync polled the same run, it started none");
    },
  );

  await t.step("a remembered run Meta no longer knows is started again", async () => {
    const from = await requestCount(stack);
    assert.deepEqual((await sync()).metrics.pendingReports, ["ad"]);
    const runOf = async () =>
      (await stack.sql`
        select report_run_id from private.insights_report_runs r
        join public.ad_accounts a on a.id = r.ad_account_id
        where a.platform_account_id = ${meta.id}`)[0]?.report_run_id;
    const lost = await runOf();
    await stack.sim("/__sim/faults", {
      rules: [{ method: "GET", path: `/${lost}$`, effect: { error: { code: 100, subcode: 33 } } }],
    });
    try {
      const again = await sync();
      assert.deepEqual(again.metrics.pendingReports, ["ad"], "a new run, still running");
    } finally {
      await stack.sim("/__sim/faults", { rules: [] });
    }
    const replaced = await runOf();
    assert.ok(replaced && replaced !== lost, "the new run is remembered instead");
    const started = (await requestsSince(stack, from)).filter((r) =>
      r.method === "POST" && r.path === `/v27.0/${meta.id}/insights`
    );
    assert.equal(started.length, 2);
    assert.deepEqual((await sync()).metrics.pendingReports, [], "and read by the next sync");
  });
}, { INSIGHTS_REPORT_WAIT_SECONDS: "3" });
