// The rate-limit dashboard on the real stack: a sync through facebook-ads-sync leaves the usage
// percentages of Meta's headers (the simulator's) in account_rate_limits, which the account's
// member reads (as PostgREST would run the query for them) and another user does not see.
import assert from "node:assert/strict";
import { until } from "../_support/launches.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type Row = {
  platform_account_id: string;
  app_usage_pct: string | null;
  account_usage_pct: string | null;
  business_usage_pct: string | null;
  usage_recorded_at: Date | null;
  circuit_breaker: string;
  rate_limited: boolean;
};

/** account_rate_limits as user `userId` reads it: role authenticated, their JWT claims. */
function readAs(stack: TestStack, userId: string): Promise<Row[]> {
  return stack.sql.begin(async (sql) => {
    await sql`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: userId, role: "authenticated" })
    }, true)`;
    await sql`set local role authenticated`;
    return await sql<Row[]>`
      select platform_account_id, app_usage_pct, account_usage_pct, business_usage_pct,
             usage_recorded_at, circuit_breaker, rate_limited
      from public.account_rate_limits`;
  }) as Promise<Row[]>;
}

testWithStack("account_rate_limits: Meta's last usage, for members only", async (_t, stack) => {
  const owner = await stack.createUser();
  const stranger = await stack.createUser();
  const { id: act } = await stack.connectAdAccount(owner);
  const client = await stack.clientFor(owner);

  const sync = await invokeResult(
    await client.functions.invoke("facebook-ads-sync", { body: { adAccountId: act } }),
  );
  assert.equal(sync.status, 200, JSON.stringify(sync.body));

  // The reading is written beside the Graph calls, not necessarily before the sync answers.
  const [row, ...others] = await until("the usage reading", async () => {
    const rows = await readAs(stack, owner);
    return rows[0]?.usage_recorded_at ? rows : undefined;
  }, 10_000);
  assert.equal(others.length, 0, "the owner sees their account only");
  assert.equal(row.platform_account_id, act);
  for (const pct of [row.app_usage_pct, row.account_usage_pct, row.business_usage_pct]) {
    assert.ok(pct !== null && Number(pct) >= 0, `a percentage: ${pct}`);
  }
  assert.equal(row.circuit_breaker, "closed");
  assert.equal(row.rate_limited, false);

  assert.equal((await readAs(stack, stranger)).length, 0, "another user sees nothing of it");
});
