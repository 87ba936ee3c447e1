// A job's batches leave back to back: while one is on the wire, the worker records the batch
// before it and commits the next one's intent, so the next leaves as soon as this one is
// answered. A batch that fails leaves the next one's slots pending (withdrawn, never sent), not
// in doubt: no lookup on Meta is spent on them. Driven by the stack alone (the launch's worker).
import assert from "node:assert/strict";
import { assertExactly, launchBody, launched, until } from "../_support/launches.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

const requestsSoFar = async (stack: TestStack) =>
  (await stack.sim("/__sim/requests") as { total: number }).total;

/** The status of each slot of the job, keyed `ad_set 2`, `ad 3`, `campaign 1`. */
async function slotStatuses(stack: TestStack, jobId: number) {
  const rows = await stack.sql<{ key: string; status: string; may_have_copies: boolean }[]>`
    select entity_type || ' ' || slot_number as key, status, may_have_copies
    from public.entity_creation_slots where job_id = ${jobId}`;
  return new Map(rows.map((r) => [r.key, r]));
}

testWithStack("creation batches back to back", async (t, stack) => {
  const owner = await stack.createUser();

  await t.step(
    "while ad set 2's batch is on the wire, ad set 3's intent is committed",
    async () => {
      const act = (await stack.connectAdAccount(owner)).id;
      await stack.sim("/__sim/faults", {
        rules: [{ path: `^/${act}/adsets$`, match: "as2%5D", times: 1, effect: { delayMs: 3000 } }],
      });
      const before = await requestsSoFar(stack);
      const jobId = await launched(stack, owner, launchBody(act, "Back to back", 3));
      // The check batch, ad set 1's batch, then ad set 2's (held 3 s by the simulator), whose
      // flight records ad set 1's batch and commits ad set 3's intent.
      const inFlight = await until("ad set 1's batch recorded", async () => {
        const slots = await slotStatuses(stack, jobId);
        return slots.get("ad 1")!.status === "created" ? slots : undefined;
      });
      assert.equal(await requestsSoFar(stack) - before, 3, "ad set 2's batch is still on the wire");
      assert.deepEqual(
        ["campaign 1", "ad_set 1", "ad_set 2", "ad 2", "ad_set 3", "ad 3"].map((k) =>
          inFlight.get(k)!.status
        ),
        ["created", "created", "creating", "creating", "creating", "creating"],
        "ad set 3's intent is committed before ad set 2's batch is answered",
      );
      assert.equal(await stack.jobSettled(jobId), "completed");
      assert.equal(await requestsSoFar(stack) - before, 5, "1 check, 3 batches, 1 read-back");
      await assertExactly(stack, act, 3, 3);
      await stack.sim("/__sim/faults", { rules: [] });
    },
  );

  await t.step("a batch that fails leaves the next one's slots pending, not in doubt", async () => {
    const act = (await stack.connectAdAccount(owner)).id;
    await stack.sim("/__sim/faults", {
      rules: [{
        path: `^/${act}/adsets$`,
        match: "as2%5D",
        times: 1,
        effect: { error: { code: 2, transient: true, status: 503 } },
      }],
    });
    const before = await requestsSoFar(stack);
    const jobId = await launched(stack, owner, launchBody(act, "Withdrawn", 3));
    assert.equal(await stack.jobSettled(jobId), "completed");
    assert.equal(
      await requestsSoFar(stack) - before,
      7,
      "1 check, ad set 2's batch twice, the others once, the account's status (the failure " +
        "policy's outage probe), 1 read-back: no lookup of the campaign on Meta",
    );
    const after = await slotStatuses(stack, jobId);
    assert.deepEqual(
      ["ad_set 3", "ad 3"].map((k) => after.get(k)!.may_have_copies),
      [false, false],
      "ad set 3's slots were never in doubt",
    );
    await assertExactly(stack, act, 3, 3);
    await stack.sim("/__sim/faults", { rules: [] });
  });
});
