// The launch invariant under a storm: several launches, Meta dropping answers after applying
// writes, reporting success for writes it did not keep, failing transiently, all at once (seeded
// faults on every batch item and read), worker runs stopping and resuming jobs. Each job ends
// with exactly what was asked for on Meta, or nothing live after a rollback; never a duplicate,
// never an orphan. (Racing workers are covered by the claim tests; here one run takes one job at
// a time, so the seeded storm is the same every time.)
import assert from "node:assert/strict";
import { localKeys } from "../../../dev/lib/local-env.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type SimObject = { type: string; name: string; parentId: string | null; deleted: boolean };

const adSets = 6;
const adsPerAdSet = 2;

/** One worker run taking one job at a time: the order of requests, hence of the seeded fault
 * draws, is the same on every run of this test. */
async function workerRun(stack: TestStack): Promise<void> {
  const { serviceRoleKey } = await localKeys();
  const response = await fetch(`${stack.functions.url}/functions/v1/campaign-create/worker`, {
    method: "POST",
    headers: { Authorization: `Bearer ${serviceRoleKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ concurrency: 1 }),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

testWithStack("campaign-create under a storm of faults", async (_t, stack) => {
  const owner = await stack.createUser();
  const accounts: string[] = [];
  for (let i = 0; i < 4; i++) accounts.push((await stack.connectAdAccount(owner)).id);

  const jobs = new Map<string, number>();
  const client = await stack.clientFor(owner);
  for (const act of accounts) {
    const answer = await invokeResult(
      await client.functions.invoke("campaign-create", {
        body: {
          adAccountId: act,
          campaign: { name: `Storm ${act}`, objective: "OUTCOME_SALES" },
          adSets: { count: adSets, template: { daily_budget: 1000 } },
          ads: { perAdSet: adsPerAdSet, template: { creativeId: "555" } },
          retryBudget: 12,
        },
      }),
    );
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    jobs.set(act, answer.body.jobId as number);
  }

  await stack.sim("/__sim/faults", {
    rules: [
      { method: "POST", probability: 0.08, effect: { applyThenDrop: true } },
      { method: "POST", probability: 0.04, effect: { silentSuccess: true } },
      { probability: 0.06, effect: { error: { code: 2, transient: true, status: 503 } } },
    ],
  });
  const ids = [...jobs.values()];
  const unfinished = async () =>
    (await stack.sql`
      select count(*)::int as n from public.campaign_creation_jobs
      where id = any(${ids}) and status not in ('completed', 'failed', 'rolled_back')`)[0].n;
  try {
    for (let round = 0; round < 40 && await unfinished() > 0; round++) {
      await workerRun(stack);
      // Backoffs longer than a few seconds release the job: make it due again at once.
      await stack.sql`
        update public.campaign_creation_jobs set next_run_at = now()
        where id = any(${ids}) and next_run_at > now() and locked_by is null`;
    }
  } finally {
    await stack.sim("/__sim/faults", { rules: [] });
  }
  assert.equal(await unfinished(), 0, "every job reached an end");

  const fired = (await stack.sim("/__sim/requests") as { requests: { faults: unknown[] }[] })
    .requests
    .reduce((n, request) => n + request.faults.length, 0);
  assert.ok(fired >= 5, `the storm really blew: ${fired} faults fired`);

  for (const [act, jobId] of jobs) {
    const [job] = await stack.sql`
      select status, locked_by, ad_sets_created, ads_created from public.campaign_creation_jobs where id = ${jobId}`;
    assert.equal(job.locked_by, null, `job ${jobId} holds no lease`);
    const state = await stack.sim(`/__sim/state?account=${act}`) as { objects: SimObject[] };
    const live = state.objects.filter((o) => !o.deleted);
    const of = (type: string) => live.filter((o) => o.type === type);
    if (job.status === "completed") {
      assert.deepEqual(
        [of("campaign").length, of("adset").length, of("ad").length],
        [1, adSets, adSets * adsPerAdSet],
        `${act}: exactly what was asked for`,
      );
      assert.equal(
        new Set(of("adset").map((o) => o.name)).size,
        adSets,
        `${act}: no duplicate ad set`,
      );
      assert.equal(
        new Set(of("ad").map((o) => o.name)).size,
        adSets * adsPerAdSet,
        `${act}: no duplicate ad`,
      );
      assert.deepEqual([job.ad_sets_created, job.ads_created], [adSets, adSets * adsPerAdSet]);
    } else {
      assert.equal(job.status, "rolled_back", `${act}: completed or rolled back, nothing else`);
      assert.deepEqual(live, [], `${act}: nothing live after the rollback`);
    }
  }
});
