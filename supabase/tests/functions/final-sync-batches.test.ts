// Final syncs in Graph batches: each account's pending final syncs are read 50 entities to a batch
// request (per-id /<id>/insights items), so 120 entities over 3 accounts take one batch per
// account, and 1,000 over 10 accounts take 20 requests (the bound: 25), whether the syncs
// complete them or the safety net does, all accounts in one run. Counted from the simulator's
// request log; the status changes come from real syncs of campaigns deleted on Meta.
import assert from "node:assert/strict";
import { accountWithAds } from "../_support/launches.ts";
import { localKeys } from "../../../dev/lib/local-env.ts";
import { callFunction } from "../_support/refusals.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type LoggedRequest = {
  path: string;
  batchSize: number | null;
  items: { path: string }[];
};

async function sync(stack: TestStack, owner: string, act: string, status = 200) {
  const client = await stack.clientFor(owner);
  const answer = await invokeResult(
    await client.functions.invoke("facebook-ads-sync", { body: { adAccountId: act } }),
  );
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  return answer.body as {
    finalSyncsUncovered?: { claimed: number; completed: number; failed: number };
  };
}

/** Graph requests, since `from`, that read insights of an entity in `ids` (batched or not). */
async function insightsRequests(stack: TestStack, from: number, ids: Set<string>) {
  const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
  const readsOurs = (path: string) => {
    const [, id, edge] = path.match(/\/([^/]+)\/([^/?]+)$/) ?? [];
    return edge === "insights" && ids.has(id);
  };
  return requests.slice(from).filter((r) =>
    readsOurs(r.path) || r.items.some((item) => readsOurs(item.path))
  );
}

/**
 * `accounts` accounts of `perAccount` entities each (a campaign, an ad set per 50 ads, the ads), all
 * deleted on Meta (the campaign, which takes the rest along), then synced: every entity owes a
 * final sync, which the syncs themselves complete, or, `viaSafetyNet`, which the syncs leave owed
 * (Meta's insights failing) and one safety-net run completes, all accounts at once. Answers the
 * Graph requests that read their metrics, per account.
 */
async function finalSyncRequests(
  stack: TestStack,
  accounts: number,
  perAccount: number,
  viaSafetyNet = false,
) {
  const owner = await stack.createUser();
  const made = [];
  for (let i = 0; i < accounts; i++) {
    made.push(await accountWithAds(stack, owner, perAccount - 1 - Math.ceil(perAccount / 51)));
  }
  for (const account of made) await sync(stack, owner, account.id);
  for (const account of made) {
    await stack.sim("/__sim/status", { id: account.campaign, status: "DELETED" });
  }

  let from: number;
  if (viaSafetyNet) {
    await stack.sim("/__sim/faults", {
      rules: [{ path: "/insights$", effect: { error: { code: 2, transient: true, status: 503 } } }],
    });
    for (const account of made) await sync(stack, owner, account.id, 503);
    await stack.sim("/__sim/faults", { rules: [] });
    from = (await stack.sim("/__sim/requests") as { total: number }).total;
    const { serviceRoleKey } = await localKeys();
    const net = await callFunction(stack, serviceRoleKey, "safety-net", { body: {} });
    assert.equal(net.status, 200, JSON.stringify(net.body));
    assert.ok(Number(net.body.totalEntities) >= accounts * perAccount, JSON.stringify(net.body));
  } else {
    from = (await stack.sim("/__sim/requests") as { total: number }).total;
    const reports = await Promise.all(made.map((account) => sync(stack, owner, account.id)));
    for (const report of reports) {
      const { claimed, completed } = report.finalSyncsUncovered!;
      assert.deepEqual([claimed, completed], [perAccount, perAccount], JSON.stringify(report));
    }
  }
  const [{ owed }] = await stack.sql`
    select count(*)::int as owed from public.ad_status_change_log l
    join public.ad_accounts a on a.id = l.ad_account_id
    where a.platform_account_id in ${stack.sql(made.map((account) => account.id))}
      and l.requires_final_sync and not l.final_sync_completed`;
  assert.equal(owed, 0, "every final sync completed");
  const perAccountRequests = [];
  for (const account of made) {
    perAccountRequests.push(await insightsRequests(stack, from, account.ids));
  }
  return perAccountRequests;
}

testWithStack("final syncs in Graph batches", async (t, stack) => {
  await t.step("120 entities over 3 accounts: one batch request per account", async () => {
    const requests = await finalSyncRequests(stack, 3, 40);
    for (const account of requests) {
      assert.ok(account.length <= 3, `at most 3 batches per account, got ${account.length}`);
      assert.ok(account.every((r) => r.batchSize !== null && r.batchSize <= 50));
      assert.equal(account.reduce((n, r) => n + (r.batchSize ?? 0), 0), 40, "every entity read");
    }
  });

  await t.step("1,000 entities over 10 accounts: 20 Graph requests, at most 25", async () => {
    const requests = (await finalSyncRequests(stack, 10, 100)).flat();
    console.log(
      `final syncs of 1,000 entities over 10 accounts: ${requests.length} Graph requests`,
    );
    assert.ok(requests.length <= 25, `${requests.length} requests`);
    assert.equal(requests.length, 20, "two full batches per account");
  });

  await t.step(
    "the safety net: 1,000 owed over 10 accounts, read in one run, all accounts at once",
    async () => {
      const requests = (await finalSyncRequests(stack, 10, 100, true)).flat();
      console.log(
        `the safety net's 1,000 final syncs over 10 accounts: ${requests.length} Graph requests`,
      );
      assert.equal(requests.length, 20);
    },
  );
});
