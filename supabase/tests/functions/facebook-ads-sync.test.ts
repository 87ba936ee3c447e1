// Zero metric loss, end to end: facebook-ads-sync and safety-net called through supabase-js,
// against the simulator (entities paused and deleted on Meta's side, insights failing) and the
// real database (triggers, claims, complete_final_sync).
import assert from "node:assert/strict";
import { activeAccount, dayWithoutMetrics } from "../_support/launches.ts";
import { localCronSecret, localKeys, signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type SyncReport = {
  finalSyncsOwed: { completed: number; failed: number };
  entities: { campaigns: number; adSets: number; ads: number; statusChanges: number };
  metrics: { since: string; until: string; rows: number };
  finalSyncsUncovered: { claimed: number; completed: number; failed: number; metricDays: number };
};

async function sync(stack: TestStack, userId: string, body: Record<string, unknown>) {
  const client = await stack.clientFor(userId);
  return await invokeResult(await client.functions.invoke("facebook-ads-sync", { body }));
}

async function safetyNet(stack: TestStack, headers: Record<string, string>, body: unknown = {}) {
  const response = await fetch(`${stack.functions.url}/functions/v1/safety-net`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

testWithStack("facebook-ads-sync and safety-net", async (t, stack) => {
  const owner = await stack.createUser();
  const stranger = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const logOf = (platformId: string) =>
    stack
      .sql`select new_status, requires_final_sync, final_sync_completed, final_sync_error, final_sync_attempts
              from public.ad_status_change_log where platform_entity_id = ${platformId} order by id`;
  const metricDays = async (platformId: string) =>
    (await stack
      .sql`select count(*)::int as n from public.ad_metrics_daily where platform_entity_id = ${platformId} and impressions > 0`)[
        0
      ].n;

  await t.step("a first sync mirrors the entities and their daily metrics", async () => {
    const answer = await sync(stack, owner, { adAccountId: meta.id });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const report = answer.body as unknown as SyncReport;
    assert.deepEqual(report.entities, { campaigns: 1, adSets: 1, ads: 2, statusChanges: 0 });
    assert.ok(report.metrics.rows > 0);
    const [ad] = await stack
      .sql`select status, effective_status from public.ads where platform_ad_id = ${meta.adA}`;
    assert.deepEqual({ ...ad }, { status: "ACTIVE", effective_status: "ACTIVE" });
    assert.ok(await metricDays(meta.adA) >= 5, "five days and more of delivery");
  });

  await t.step(
    "paused and deleted on Meta: the next sync logs both and captures their final metrics",
    async () => {
      await stack.sim("/__sim/status", { id: meta.adA, status: "PAUSED" });
      assert.ok((await meta.graph.delete(`/${meta.adB}`)).ok);
      await stack
        .sql`delete from public.ad_metrics_daily where platform_entity_id in (${meta.adA}, ${meta.adB})`;

      const answer = await sync(stack, owner, {
        adAccountId: meta.id,
        since: dayWithoutMetrics,
        until: dayWithoutMetrics,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const report = answer.body as unknown as SyncReport;
      assert.equal(report.entities.statusChanges, 2);
      assert.equal(
        report.metrics.rows,
        0,
        "the regular metrics window saw nothing: only the final sync can",
      );
      assert.deepEqual(
        [
          report.finalSyncsUncovered.claimed,
          report.finalSyncsUncovered.completed,
          report.finalSyncsUncovered.failed,
        ],
        [2, 2, 0],
      );
      for (const [id, status] of [[meta.adA, "PAUSED"], [meta.adB, "DELETED"]]) {
        assert.deepEqual((await logOf(id)).map((r) => ({ ...r })), [
          {
            new_status: status,
            requires_final_sync: true,
            final_sync_completed: true,
            final_sync_error: null,
            final_sync_attempts: 1,
          },
        ]);
        assert.ok(await metricDays(id) >= 5, `${id} (${status}) has its final metrics`);
        const [entity] = await stack
          .sql`select last_final_sync_at from public.ads where platform_ad_id = ${id}`;
        assert.ok(entity.last_final_sync_at instanceof Date);
      }
    },
  );

  await t.step(
    "insights failing: the final sync stays owed with its error, and the safety net completes it",
    async () => {
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `/${meta.adSet}/insights`,
          effect: { error: { code: 2, transient: true, status: 503 } },
        }],
      });
      await stack.sim("/__sim/status", { id: meta.adSet, status: "PAUSED" });
      const answer = await sync(stack, owner, {
        adAccountId: meta.id,
        since: dayWithoutMetrics,
        until: dayWithoutMetrics,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual((answer.body as unknown as SyncReport).finalSyncsUncovered.failed, 1);
      const [pending] = await logOf(meta.adSet);
      assert.equal(pending.final_sync_completed, false);
      assert.equal(pending.final_sync_attempts, 1);
      assert.match(
        pending.final_sync_error,
        /^meta_unavailable: the entity's metrics could not be read \(TEMPORARY\): /,
        "the failure is recorded on the row, with its code",
      );
      const [{ n: backlog }] = await stack.sql`
      select pending + failed as n from public.final_sync_backlog
      where entity_type = 'ad_set' and ad_account_id = (select id from public.ad_accounts where platform_account_id = ${meta.id})`;
      assert.equal(Number(backlog), 1, "the dashboard shows it owed");

      await stack.sim("/__sim/faults", { rules: [] });
      const { serviceRoleKey } = await localKeys();
      const net = await safetyNet(stack, { Authorization: `Bearer ${serviceRoleKey}` });
      assert.equal(net.status, 200, JSON.stringify(net.body));
      assert.equal(net.body.success, true);
      assert.ok(
        net.body.accountsProcessed >= 1 && net.body.totalEntities >= 1 &&
          net.body.totalMetrics >= 1,
        JSON.stringify(net.body),
      );
      const [done] = await logOf(meta.adSet);
      assert.equal(done.final_sync_completed, true);
      assert.equal(done.final_sync_attempts, 2);
    },
  );

  await t.step("safety-net: the service key or pg_cron's secret, nothing else", async () => {
    assert.equal((await safetyNet(stack, {})).status, 401);
    assert.equal((await safetyNet(stack, { "x-cron-secret": "not-the-secret" })).status, 401);
    const userJwt = await signLocalUserJwt(owner);
    assert.equal((await safetyNet(stack, { Authorization: `Bearer ${userJwt}` })).status, 403);
    const cron = await safetyNet(stack, { "x-cron-secret": localCronSecret }, { lookbackDays: 3 });
    assert.equal(cron.status, 200);
    const bad = await safetyNet(stack, { "x-cron-secret": localCronSecret }, { lookbackDays: 0 });
    assert.equal(bad.status, 400);
  });

  await t.step(
    "facebook-ads-sync: Meta failing past the retries is 503 with Retry-After, not a verdict",
    async () => {
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `^/${meta.id}/campaigns$`,
          effect: { error: { code: 2, transient: true, status: 503 } },
        }],
      });
      const jwt = await signLocalUserJwt(owner);
      const response = await fetch(`${stack.functions.url}/functions/v1/facebook-ads-sync`, {
        method: "POST",
        headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
        body: JSON.stringify({ adAccountId: meta.id }),
      });
      await stack.sim("/__sim/faults", { rules: [] });
      const body = await response.json();
      assert.equal(response.status, 503, JSON.stringify(body));
      assert.equal(response.headers.get("Retry-After"), "30");
      assert.equal(body.error, "meta_unavailable");
      assert.equal(body.meta.class, "TEMPORARY");

      const again = await sync(stack, owner, { adAccountId: meta.id });
      assert.equal(again.status, 200, "trying again later works");
    },
  );

  await t.step(
    "facebook-ads-sync: 400 on a bad body, 404 for another user's account, 422 when Meta revokes the token",
    async () => {
      const bad = await sync(stack, owner, {
        adAccountId: meta.id,
        since: "2026-02-01",
        until: "2026-01-01",
      });
      assert.equal(bad.status, 400);
      assert.deepEqual((bad.body.issues as { path: string }[]).map((i) => i.path), ["since"]);

      const theirs = await sync(stack, stranger, { adAccountId: meta.id });
      assert.equal(theirs.status, 404);
      assert.equal(theirs.body.error, "not_found");

      await stack.sim("/__sim/accounts", {
        id: meta.id,
        token: "EAAB-a-new-token-only-meta-knows",
      });
      const revoked = await sync(stack, owner, { adAccountId: meta.id });
      assert.equal(revoked.status, 422);
      assert.equal(revoked.body.error, "meta_rejected");
    },
  );
});
