// The launch invariant under a storm: several launches at once, Meta dropping answers after
// applying writes, reporting success for writes it did not keep, failing transiently (seeded
// faults on every request and batch item, launches' own checks included), worker runs started by
// the launches racing each other, jobs released for their backoffs and resumed by whichever run
// or pg_cron tick comes next. Each job ends with exactly what was asked for on Meta, or nothing
// live after a rollback; never a duplicate, never an orphan. The runs race, so the order of
// requests, hence which of them the seeded faults hit, differs from run to run: the invariant
// must hold for every order.
import assert from "node:assert/strict";
import { adSetTemplate } from "../_support/launches.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type SimObject = { type: string; name: string; parentId: string | null; deleted: boolean };

const adSets = 6;
const adsPerAdSet = 2;

/** Launches as an app would under a flaky Meta: a 503 (Meta did not answer) is tried again with
 * the same Idempotency-Key. */
async function launchRetrying(stack: TestStack, owner: string, act: string): Promise<number> {
  const client = await stack.clientFor(owner);
  for (let attempt = 1;; attempt++) {
    const answer = await invokeResult(
      await client.functions.invoke("campaign-create", {
        headers: { "Idempotency-Key": `storm-${act}` },
        body: {
          adAccountId: act,
          campaign: { name: `Storm ${act}`, objective: "OUTCOME_SALES" },
          adSets: { count: adSets, template: adSetTemplate },
          ads: { perAdSet: adsPerAdSet, template: { creativeId: "555" } },
          retryBudget: 12,
        },
      }),
    );
    if (answer.status === 202) return answer.body.jobId as number;
    assert.ok(answer.status === 503 && attempt < 10, JSON.stringify(answer));
  }
}

testWithStack("campaign-create under a storm of faults", async (_t, stack) => {
  const owner = await stack.createUser();
  const accounts: string[] = [];
  for (let i = 0; i < 4; i++) accounts.push((await stack.connectAdAccount(owner)).id);

  await stack.sim("/__sim/faults", {
    rules: [
      { method: "POST", probability: 0.08, effect: { applyThenDrop: true } },
      { method: "POST", probability: 0.04, effect: { silentSuccess: true } },
      { probability: 0.06, effect: { error: { code: 2, transient: true, status: 503 } } },
    ],
  });
  const jobs = new Map<string, number>();
  try {
    const ids = await Promise.all(accounts.map((act) => launchRetrying(stack, owner, act)));
    accounts.forEach((act, i) => jobs.set(act, ids[i]));
    for (const jobId of ids) {
      assert.notEqual(
        await stack.jobSettled(jobId, { timeoutMs: 240_000 }),
        "awaiting_confirmation",
      );
    }
  } finally {
    await stack.sim("/__sim/faults", { rules: [] });
  }

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
