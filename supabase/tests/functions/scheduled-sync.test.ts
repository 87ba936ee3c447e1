// Scheduled syncs, end to end: pg_cron → private.start_due_ads_syncs → pg_net → facebook-ads-sync
// with the cron secret. A pause made on Meta's side is captured, with its final metrics, by the
// scheduled run alone; one sync per account at a time; the cron secret is checked.
import assert from "node:assert/strict";
import { activeAccount } from "../_support/launches.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

async function sync(stack: TestStack, userId: string, adAccountId: string) {
  const client = await stack.clientFor(userId);
  return await invokeResult(
    await client.functions.invoke("facebook-ads-sync", { body: { adAccountId } }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

testWithStack("scheduled syncs", async (t, stack) => {
  const owner = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const [{ id: accountId }] = await stack.sql<{ id: string }[]>`
    select id from public.ad_accounts where platform_account_id = ${meta.id}`;

  await t.step("one sync per account at a time: a second one meanwhile is 409", async () => {
    // The first sync's listing of campaigns is slowed, so the second comes while it runs.
    await stack.sim("/__sim/faults", {
      rules: [{ path: `/${meta.id}/campaigns`, times: 1, effect: { delayMs: 1500 } }],
    });
    const first = sync(stack, owner, meta.id);
    await sleep(500);
    const second = await sync(stack, owner, meta.id);
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.error, "sync_in_progress");
    const done = await first;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const [schedule] = await stack.sql`
      select lease_id, last_outcome from public.ads_sync_schedules where ad_account_id = ${accountId}`;
    assert.deepEqual({ ...schedule }, { lease_id: null, last_outcome: "completed" });
    await stack.sim("/__sim/faults", { rules: [] });
  });

  await t.step("pg_cron's call must carry the right cron secret", async () => {
    const response = await fetch(`${stack.functions.url}/functions/v1/facebook-ads-sync`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "x-cron-secret": "not-the-secret" },
      body: JSON.stringify({ adAccountId: meta.id, leaseId: crypto.randomUUID() }),
    });
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error, "unauthorized");
  });

  await t.step(
    "a pause on Meta is captured with its final metrics by the scheduled run alone",
    async () => {
      await stack.sim("/__sim/status", { id: meta.adA, status: "PAUSED" });
      const started = Date.now();
      try {
        // Every minute for this account only, through the configuration function.
        await stack.sql`select public.set_ads_sync_interval(1, ${accountId})`;
        let log: Record<string, unknown> | undefined;
        while (Date.now() - started < 150_000) {
          [log] = await stack.sql`
            select new_status, final_sync_completed, final_sync_attempts
            from public.ad_status_change_log where platform_entity_id = ${meta.adA}`;
          if (log?.final_sync_completed) break;
          await sleep(500);
        }
        assert.deepEqual(
          { ...log },
          { new_status: "PAUSED", final_sync_completed: true, final_sync_attempts: 1 },
        );
      } finally {
        await stack.sql`select public.set_ads_sync_interval(null, ${accountId})`;
      }
      const [{ days }] = await stack.sql`
        select count(*)::int as days from public.ad_metrics_daily
        where platform_entity_id = ${meta.adA} and impressions > 0`;
      assert.ok(days >= 5, `the paused ad has its final metrics (${days} days)`);
      const [ad] = await stack.sql`
        select status, last_final_sync_at from public.ads where platform_ad_id = ${meta.adA}`;
      assert.equal(ad.status, "PAUSED");
      assert.ok(ad.last_final_sync_at instanceof Date);
      const [schedule] = await stack.sql`
        select last_outcome, lease_id, next_run_at from public.ads_sync_schedules
        where ad_account_id = ${accountId}`;
      assert.deepEqual({ ...schedule }, {
        last_outcome: "completed",
        lease_id: null,
        next_run_at: null,
      });
      const [cron] = await stack.sql`
        select count(*)::int as runs from cron.job_run_details d join cron.job j using (jobid)
        where j.jobname = 'adrail-ads-sync' and d.status = 'succeeded'
          and d.start_time >= ${new Date(started)}`;
      assert.ok(cron.runs >= 1, "pg_cron ran the schedule");
      console.log(`scheduled sync captured the pause in ${(Date.now() - started) / 1000} s`);
    },
  );
});
