// No database error text in final_sync_error or in any answer: a database that refuses to save a
// final sync's metrics (a trigger raising a message full of internals, for this account only)
// leaves the row owed with `internal: ...` and an error id, the sync answers the same, and only
// the functions' log holds the database's words under that id. A database error elsewhere in the
// sync is a bare 500 with a request id. Once the database accepts again, the safety net completes
// the final sync.
import assert from "node:assert/strict";
import { localKeys, signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { activeAccount, dayWithoutMetrics } from "../_support/launches.ts";
import { callFunction } from "../_support/refusals.ts";
import { testWithStack } from "../_support/stack.ts";

/** What the database says, and what must never leave the functions' log. */
const internals = 'canary: relation "private.secret_table" violates check using password=hunter2';

testWithStack("no database error text in final syncs or answers", async (t, stack) => {
  const owner = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const bearer = await signLocalUserJwt(owner);
  const [{ id: accountId }] = await stack.sql`
    select id from public.ad_accounts where platform_account_id = ${meta.id}`;
  const trigger = `refuse_metrics_${accountId.replaceAll("-", "")}`;
  const sync = (body: Record<string, unknown>) =>
    callFunction(stack, bearer, "facebook-ads-sync", { body: { adAccountId: meta.id, ...body } });

  const first = await sync({});
  assert.equal(first.status, 200, JSON.stringify(first.body));

  // The database refuses this account's metrics from now on, in words no member may read.
  await stack.sql.unsafe(`
    create function public.${trigger}() returns trigger language plpgsql as $$
    begin
      raise exception using message = '${internals}', detail = 'token EAAB-detail';
    end $$;
    create trigger ${trigger} before insert or update on public.ad_metrics_daily
    for each row when (new.ad_account_id = '${accountId}') execute function public.${trigger}();`);
  try {
    await t.step(
      "a final sync the database refuses: the row and the answer say internal with an error id",
      async () => {
        await stack.sim("/__sim/status", { id: meta.adA, status: "PAUSED" });
        const answer = await sync({ since: dayWithoutMetrics, until: dayWithoutMetrics });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const uncovered = answer.body.finalSyncsUncovered as {
          failed: number;
          outcomes: { platformEntityId: string; completed: boolean; error: string }[];
        };
        assert.equal(uncovered.failed, 1);
        const [outcome] = uncovered.outcomes;
        const safe =
          /^internal: the metrics could not be saved \(error id ([0-9a-f-]{36}), in the log\)$/;
        assert.match(outcome.error, safe);
        assert.doesNotMatch(JSON.stringify(answer.body), /canary|hunter2|EAAB|secret_table/);

        const [row] = await stack.sql`
          select final_sync_completed, final_sync_error from public.ad_status_change_log
          where platform_entity_id = ${meta.adA} and requires_final_sync`;
        assert.deepEqual({ ...row }, {
          final_sync_completed: false,
          final_sync_error: outcome.error,
        });

        const errorId = outcome.error.match(safe)![1];
        const logged = stack.functions.log().find((line) => line.errorId === errorId);
        assert.equal(logged?.message, "final sync not saved");
        assert.equal(logged?.sqlState, "P0001");
        assert.equal(logged?.error, internals, "the details are in the log, under the id");
        assert.ok(!JSON.stringify(logged).includes("EAAB"), "not the error's detail");
      },
    );

    await t.step(
      "the database failing elsewhere in the sync: a bare 500 with a request id",
      async () => {
        const answer = await sync({});
        assert.equal(answer.status, 500, JSON.stringify(answer.body));
        assert.deepEqual(Object.keys(answer.body).sort(), ["error", "message", "requestId"]);
        assert.equal(answer.body.message, "internal error");
        assert.doesNotMatch(JSON.stringify(answer.body), /canary|hunter2|EAAB|secret_table/);
      },
    );
  } finally {
    await stack.sql.unsafe(`
      drop trigger ${trigger} on public.ad_metrics_daily;
      drop function public.${trigger}();`);
  }

  await t.step("once the database accepts again, the safety net completes it", async () => {
    const { serviceRoleKey } = await localKeys();
    const net = await callFunction(stack, serviceRoleKey, "safety-net", { body: {} });
    assert.equal(net.status, 200, JSON.stringify(net.body));
    const [row] = await stack.sql`
      select final_sync_completed, final_sync_error from public.ad_status_change_log
      where platform_entity_id = ${meta.adA} and requires_final_sync`;
    assert.deepEqual({ ...row }, { final_sync_completed: true, final_sync_error: null });
  });
});
