// The safety net keeps to a CPU budget (SAFETY_NET_CPU_BUDGET_MS): Supabase counts CPU per isolate
// and ends one at 2 s, so a run with a backlog of final syncs and attribution tails stops reading
// once its isolate has spent the budget, gives back what it claimed and did not reach (the next
// run takes it up at once, not after the claims' 5-minute lease), and still answers, with the
// stalled-job recovery and the budget alarms, which come first, done. Here the backlog is real:
// 150 entities over 3 accounts deleted on Meta while its insights failed, so their final syncs
// are owed. An account's changes are read a batch of 50 at a time, and the budget is checked
// before each batch: with a budget of 1 ms, a run reads at most a batch per account (the
// accounts' first batches may start together, before the thread's CPU clock, in 10 ms ticks, has
// moved), and leaves the rest.
import assert from "node:assert/strict";
import { accountWithAds } from "../_support/launches.ts";
import { localKeys } from "../../../dev/lib/local-env.ts";
import { callFunction } from "../_support/refusals.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

const perAccount = 50;

async function sync(stack: TestStack, owner: string, act: string, status: number) {
  const client = await stack.clientFor(owner);
  const answer = await invokeResult(
    await client.functions.invoke("facebook-ads-sync", { body: { adAccountId: act } }),
  );
  assert.equal(answer.status, status, JSON.stringify(answer.body));
}

async function safetyNet(stack: TestStack) {
  const { serviceRoleKey } = await localKeys();
  const answer = await callFunction(stack, serviceRoleKey, "safety-net", { body: {} });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as {
    totalEntities: number;
    recoveredJobs: number;
    budgetAlarms: unknown[];
    deferredFinalSyncs: number;
    budgetSpent: string | null;
  };
}

async function owed(stack: TestStack, accounts: string[]) {
  const [row] = await stack.sql<{ owed: number; claimed: number }[]>`
    select count(*)::int as owed, count(l.locked_by)::int as claimed
    from public.ad_status_change_log l
    join public.ad_accounts a on a.id = l.ad_account_id
    where a.platform_account_id in ${stack.sql(accounts)}
      and l.requires_final_sync and not l.final_sync_completed`;
  return row;
}

testWithStack(
  "the safety net's CPU budget",
  async (t, stack) => {
    const owner = await stack.createUser();
    const accounts: string[] = [];
    for (let i = 0; i < 3; i++) {
      // A campaign, an ad set and 48 ads: 50 entities.
      const account = await accountWithAds(stack, owner, perAccount - 2);
      await sync(stack, owner, account.id, 200);
      await stack.sim("/__sim/status", { id: account.campaign, status: "DELETED" });
      accounts.push(account.id);
    }
    await stack.sim("/__sim/faults", {
      rules: [{ path: "/insights$", effect: { error: { code: 2, transient: true, status: 503 } } }],
    });
    for (const act of accounts) await sync(stack, owner, act, 503);
    await stack.sim("/__sim/faults", { rules: [] });
    assert.deepEqual(await owed(stack, accounts), { owed: 3 * perAccount, claimed: 0 });

    await t.step(
      "its isolate past the budget: recovery and alarms done, the reads left and released",
      async () => {
        await stack.functions.close();
        await stack.functions.restart({ SAFETY_NET_CPU_BUDGET_MS: "1" });
        const report = await safetyNet(stack);
        assert.equal(report.budgetSpent, "cpu");
        assert.equal(report.recoveredJobs, 0, "the recovery ran and found no stalled job");
        assert.deepEqual(report.budgetAlarms, [], "the budget invariants were checked");
        assert.ok(report.deferredFinalSyncs > 0, JSON.stringify(report));
        assert.equal(report.totalEntities + report.deferredFinalSyncs, 3 * perAccount);
        assert.deepEqual(
          await owed(stack, accounts),
          { owed: report.deferredFinalSyncs, claimed: 0 },
          "the deferred ones still owed, none left claimed",
        );
        assert.ok(
          stack.functions.log().some((l) =>
            l.message === "safety net out of budget: reads left for the next run"
          ),
        );
      },
    );

    await t.step("the next run, within its budget, reads them all", async () => {
      await stack.functions.close();
      await stack.functions.restart({ SAFETY_NET_CPU_BUDGET_MS: "" });
      const report = await safetyNet(stack);
      assert.equal(report.budgetSpent, null, JSON.stringify(report));
      assert.equal(report.deferredFinalSyncs, 0);
      assert.ok(report.totalEntities > 0, "the ones left before");
      assert.deepEqual(await owed(stack, accounts), { owed: 0, claimed: 0 });
      const [net] = stack.functions.invocations().filter((i) => i.function === "safety-net")
        .slice(-1);
      console.log(
        `the safety net's ${report.totalEntities} final syncs: ${net.cpuMs} ms of its isolate's CPU`,
      );
    });
  },
);
