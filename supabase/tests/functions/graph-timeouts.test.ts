// Graph timeouts through the whole stack, nobody driving the worker: the functions run with short
// timeouts (a write 1 s, a read 6 s) and the simulator answers slowly (its delayMs fault). A
// creation batch that times out is an unknown outcome: what it made is found on Meta and adopted,
// never made twice. A read that times out is sent again. A rollback's delete that times out is
// looked at again, and the rollback ends with nothing live.
import assert from "node:assert/strict";
import {
  assertExactly,
  launchBody,
  launched,
  liveOnMeta,
  objectsOnMeta,
} from "../_support/launches.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

const writeTimeoutMs = 1000;
const readTimeoutMs = 6000;

async function job(stack: TestStack, jobId: number) {
  const [row] = await stack.sql`
    select status, retry_count from public.campaign_creation_jobs where id = ${jobId}`;
  return row;
}

/** How often each fault rule fired, in rule order. */
async function fired(stack: TestStack): Promise<number[]> {
  const { rules } = await stack.sim("/__sim/faults") as { rules: { fired: number }[] };
  return rules.map((rule) => rule.fired);
}

type LoggedRequest = { items?: { method: string; path: string }[] | null };

/** POSTs sent to the account's edges, batch items included, per edge. */
async function postsTo(stack: TestStack, act: string): Promise<Record<string, number>> {
  const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
  const counts: Record<string, number> = { campaigns: 0, adsets: 0, ads: 0 };
  for (const item of requests.flatMap((r) => r.items ?? [])) {
    const edge = item.path.match(new RegExp(`/${act}/(campaigns|adsets|ads)$`))?.[1];
    if (item.method === "POST" && edge) counts[edge]++;
  }
  return counts;
}

testWithStack("Graph timeouts end to end", async (t, stack) => {
  const owner = await stack.createUser();

  await t.step(
    "the first creation batch times out: its campaign, ad set and ad are adopted, never made twice",
    async () => {
      const act = (await stack.connectAdAccount(owner)).id;
      await stack.sim("/__sim/faults", {
        rules: [
          // Meta takes 2.5 s over the first ad set (the campaign before it is made at once, its
          // ad after it): the worker stops waiting after 1 s, not knowing what was made.
          {
            method: "POST",
            path: `^/${act}/adsets$`,
            match: "as1%5D",
            times: 1,
            effect: { delayMs: 2500 },
          },
          // The lookup of the campaign by its name (the second such read: the first is the
          // launch's duplicate check) is slow too, so it looks once Meta has made it all.
          {
            method: "GET",
            path: `^/${act}/campaigns$`,
            match: "filtering",
            nth: 2,
            effect: { delayMs: 4000 },
          },
        ],
      });
      const jobId = await launched(stack, owner, launchBody(act, "TimedOut", 3));
      assert.equal(await stack.jobSettled(jobId), "completed");
      assert.deepEqual(await fired(stack), [1, 1], "the batch and the lookup were both slow");
      await stack.sim("/__sim/faults", { rules: [] });

      await assertExactly(stack, act, 3, 3);
      const everything = await objectsOnMeta(stack, act);
      assert.equal(everything.length, 7, "nothing was made twice, not even a copy later removed");
      assert.deepEqual(
        await postsTo(stack, act),
        { campaigns: 2, adsets: 3, ads: 3 },
        "each create sent once (the campaigns' first is the launch's validate_only check)",
      );
      assert.equal((await job(stack, jobId)).retry_count, 1, "the unknown outcome spent a retry");
    },
  );

  await t.step("a read-back that times out is sent again: no retry spent, exact", async () => {
    const act = (await stack.connectAdAccount(owner)).id;
    await stack.sim("/__sim/faults", {
      rules: [{
        method: "GET",
        path: "^/[0-9]+/adsets$",
        times: 1,
        effect: { delayMs: readTimeoutMs + 1000 },
      }],
    });
    const jobId = await launched(stack, owner, launchBody(act, "SlowRead", 2));
    assert.equal(await stack.jobSettled(jobId), "completed");
    assert.deepEqual(await fired(stack), [1]);
    await stack.sim("/__sim/faults", { rules: [] });
    assert.equal((await job(stack, jobId)).retry_count, 0, "retried in process, budget untouched");
    await assertExactly(stack, act, 2, 2);
  });

  await t.step("a rollback's delete that times out is looked at again: nothing live", async () => {
    const act = (await stack.connectAdAccount(owner)).id;
    await stack.sim("/__sim/faults", {
      rules: [
        // Meta refuses the third ad set: the job rolls back what it made.
        {
          method: "POST",
          path: `^/${act}/adsets$`,
          match: "as3%5D",
          effect: { error: { code: 100, status: 400 } },
        },
        { method: "DELETE", times: 1, effect: { delayMs: 2 * writeTimeoutMs + 500 } },
      ],
    });
    const jobId = await launched(stack, owner, launchBody(act, "SlowDelete", 3));
    assert.equal(await stack.jobSettled(jobId), "rolled_back");
    assert.equal((await fired(stack))[1], 1, "a delete was slow");
    await stack.sim("/__sim/faults", { rules: [] });
    assert.deepEqual((await liveOnMeta(stack, act)).all, [], "zero live entities");
  });
}, {
  GRAPH_WRITE_TIMEOUT_MS: String(writeTimeoutMs),
  GRAPH_READ_TIMEOUT_MS: String(readTimeoutMs),
});
