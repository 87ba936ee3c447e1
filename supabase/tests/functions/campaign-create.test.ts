// Bulk creation end to end: campaign-create through supabase-js, the simulator's Meta with
// faults, the real database. Nobody drives the worker: each launch starts a run in the background
// (EdgeRuntime.waitUntil) and the tests only watch the job. The count on Meta is checked after
// every scenario: exactly what was asked for, or nothing live after a rollback.
import assert from "node:assert/strict";
import type { JobProgress } from "../../functions/_shared/creation/campaign-jobs.ts";
import {
  accountToken,
  assertExactly,
  launch,
  launchBody,
  liveOnMeta,
  metaAsPerson,
  objectsOnMeta,
} from "../_support/launches.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

type Progress = JobProgress;

async function connectedAccount(stack: TestStack, owner: string): Promise<string> {
  return (await stack.connectAdAccount(owner)).id;
}

/** Under the given simulator fault rules: launches, waits for the job to settle, clears the rules. */
async function launchUnderFaults(
  stack: TestStack,
  userId: string,
  body: unknown,
  rules: unknown[],
): Promise<{ jobId: number; status: string }> {
  await stack.sim("/__sim/faults", { rules });
  try {
    const started = await launch(stack, userId, body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const jobId = started.body.jobId as number;
    return { jobId, status: await stack.jobSettled(jobId) };
  } finally {
    await stack.sim("/__sim/faults", { rules: [] });
  }
}

async function progress(stack: TestStack, userId: string, jobId: number): Promise<Progress> {
  const client = await stack.clientFor(userId);
  const answer = await invokeResult(
    await client.functions.invoke(`campaign-create/jobs/${jobId}`, { method: "GET" }),
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as Progress;
}

testWithStack("campaign-create", async (t, stack) => {
  const owner = await stack.createUser();
  const stranger = await stack.createUser();

  await t.step(
    "1-50-1: exactly 1 campaign, 50 ad sets, 50 ads, verified, in 52 Graph requests (1 check batch, 50 creation batches, 1 read-back batch)",
    async () => {
      const act = await connectedAccount(stack, owner);
      const before = (await stack.sim("/__sim/requests") as { total: number }).total;
      const started = await launch(
        stack,
        owner,
        launchBody(act, "Launch 1-50-1", 50, 1),
        "launch-1-50-1",
      );
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const jobId = started.body.jobId as number;

      assert.equal(await stack.jobSettled(jobId), "completed");
      await assertExactly(stack, act, 50, 50);

      const job = await progress(stack, owner, jobId);
      assert.equal(job.status, "completed");
      assert.deepEqual(
        [
          job.created.adSets,
          job.created.ads,
          job.verified,
          job.slots.created,
        ],
        [50, 50, 101, 101],
      );
      const requests = (await stack.sim("/__sim/requests") as { total: number }).total - before;
      assert.ok(requests === 52, `${requests} Graph requests for a 1-50-1 launch`);

      const replay = await launch(
        stack,
        owner,
        launchBody(act, "Launch 1-50-1", 50, 1),
        "launch-1-50-1",
      );
      assert.equal(replay.status, 202);
      assert.equal(replay.body.jobId, jobId, "the same key answers the same job");
      assert.equal(replay.body.replayed, true);
      const conflict = await launch(
        stack,
        owner,
        launchBody(act, "Launch 1-50-1", 49, 1),
        "launch-1-50-1",
      );
      assert.equal(conflict.status, 409);
      await assertExactly(stack, act, 50, 50);
    },
  );

  await t.step(
    "launches on several accounts at once finish by themselves, each exact",
    async () => {
      const accounts = await Promise.all([1, 2, 3].map(() => connectedAccount(stack, owner)));
      const started = await Promise.all(
        accounts.map((act) => launch(stack, owner, launchBody(act, `Parallel ${act}`, 4, 2))),
      );
      for (const launched of started) {
        assert.equal(launched.status, 202);
        assert.equal(await stack.jobSettled(launched.body.jobId as number), "completed");
      }
      for (const act of accounts) await assertExactly(stack, act, 4, 8);
    },
  );

  await t.step(
    "bad input and strangers: 400, 401, 404, 422, and nothing created",
    async () => {
      const act = await connectedAccount(stack, owner);
      const bad = await launch(stack, owner, { ...launchBody(act, "x", 0, 60), extra: true });
      assert.equal(bad.status, 400);
      const paths = (bad.body.issues as { path: string }[]).map((i) => i.path).sort();
      assert.deepEqual(paths, ["", "adSets.count", "ads.perAdSet"]);

      const anon = await invokeResult(
        await (await stack.anonClient()).functions.invoke("campaign-create", {
          body: launchBody(act, "x", 1, 1),
        }),
      );
      assert.equal(anon.status, 401);
      const theirs = await launch(stack, stranger, launchBody(act, "Not mine", 1, 1));
      assert.equal(theirs.status, 404, "someone else's account: as if it did not exist");

      const first = await launch(stack, owner, launchBody(act, "Twice", 1, 1));
      assert.equal(first.status, 202);
      assert.equal(await stack.jobSettled(first.body.jobId as number), "completed");
      const duplicate = await launch(stack, owner, launchBody(act, "Twice", 1, 1));
      assert.equal(duplicate.status, 422);
      assert.match((duplicate.body.reasons as string[]).join(" "), /already exists/);
      await assertExactly(stack, act, 1, 1);

      const strangerView = await invokeResult(
        await (await stack.clientFor(stranger)).functions.invoke(
          `campaign-create/jobs/${first.body.jobId}`,
          { method: "GET" },
        ),
      );
      assert.equal(strangerView.status, 404, "someone else's job: as if it did not exist");
      const missing = await invokeResult(
        await (await stack.clientFor(owner)).functions.invoke("campaign-create/jobs/999999999", {
          method: "GET",
        }),
      );
      assert.equal(missing.status, 404);
      const [logged] = await stack.sql`
      select count(*)::int as n from public.pre_creation_verifications v
      join public.ad_accounts a on a.id = v.ad_account_id
      where a.platform_account_id = ${act} and not v.can_proceed and v.duplicate_campaign_exists`;
      assert.equal(logged.n, 1, "the refused verification is logged");
    },
  );

  await t.step(
    "pre-creation verification refuses a disabled account, a revoked token, a full account",
    async () => {
      const reasons = async (act: string, name: string) => {
        const answer = await launch(stack, owner, launchBody(act, name, 2, 1));
        assert.equal(answer.status, 422, JSON.stringify(answer.body));
        assert.equal(answer.body.error, "verification_failed");
        assert.equal((await liveOnMeta(stack, act)).campaigns.length, 0, "nothing created");
        return (answer.body.reasons as string[]).join(" | ");
      };
      const disabled = await connectedAccount(stack, owner);
      await stack.sim("/__sim/status", { id: disabled, status: 2 });
      assert.match(await reasons(disabled, "Disabled"), /not active \(account_status 2\)/);

      const revoked = await connectedAccount(stack, owner);
      await stack.sim("/__sim/accounts", { id: revoked, token: "EAAB-only-meta-knows-this-one" });
      assert.match(await reasons(revoked, "Revoked"), /refused the access token/);

      const full = await connectedAccount(stack, owner);
      await stack.sim("/__sim/accounts", {
        id: full,
        token: await accountToken(stack, full),
        limits: { campaigns: 0 },
      });
      assert.match(await reasons(full, "Full"), /Meta rejects the campaign/);

      const [{ n }] = await stack.sql`
      select count(*)::int as n from public.pre_creation_verifications v join public.ad_accounts a on a.id = v.ad_account_id
      where a.platform_account_id in (${disabled}, ${revoked}, ${full}) and not v.can_proceed and v.job_id is null`;
      assert.equal(n, 3, "each refusal is logged, with no job");
    },
  );

  await t.step(
    "a lost answer (applied, connection cut) is adopted, never created twice",
    async () => {
      const act = await connectedAccount(stack, owner);
      const { jobId, status } = await launchUnderFaults(
        stack,
        owner,
        launchBody(act, "Dropped", 5, 2),
        [
          { match: "as3%5D", times: 1, effect: { applyThenDrop: true } },
        ],
      );
      assert.equal(status, "completed");
      await assertExactly(stack, act, 5, 10);
      assert.deepEqual(
        (await objectsOnMeta(stack, act)).filter((o) => o.deleted),
        [],
        "adopted: no duplicate was made, so none had to be removed",
      );
      const job = await progress(stack, owner, jobId);
      assert.equal(job.retries.used, 1, "the lost answer spent one retry");
    },
  );

  await t.step(
    "a silent failure (success reported, nothing stored) is found by read-back and created again",
    async () => {
      const act = await connectedAccount(stack, owner);
      const { jobId, status } = await launchUnderFaults(
        stack,
        owner,
        launchBody(act, "Silent", 3, 1),
        [
          { match: "as2+ad1%5D", times: 1, effect: { silentSuccess: true } },
        ],
      );
      assert.equal(status, "completed");
      await assertExactly(stack, act, 3, 3);
      const job = await progress(stack, owner, jobId);
      assert.equal(job.silentFailures, 1);
      assert.equal(job.retries.used, 1, "creating it again spent a retry");
      assert.equal(job.verified, 7);
    },
  );

  await t.step(
    "a permanent refusal rolls back: ads, ad sets, campaign deleted; nothing live",
    async () => {
      const act = await connectedAccount(stack, owner);
      const { jobId, status } = await launchUnderFaults(
        stack,
        owner,
        launchBody(act, "Refused", 5, 1),
        [
          { match: "as4%5D", effect: { error: { code: 100, status: 400 } } },
        ],
      );
      assert.equal(status, "rolled_back");
      const live = await liveOnMeta(stack, act);
      assert.deepEqual([live.campaigns.length, live.adSets.length, live.ads.length], [0, 0, 0]);
      const job = await progress(stack, owner, jobId);
      assert.equal(job.rollback.triggered, true);
      assert.match(String(job.rollback.reason), /Meta refused/);
      assert.equal(job.slots.rolledBack, 11);
    },
  );

  await t.step(
    "a transient error that persists spends the retry budget, then rolls back",
    async () => {
      const act = await connectedAccount(stack, owner);
      const { jobId, status } = await launchUnderFaults(
        stack,
        owner,
        launchBody(act, "Flaky", 3, 1, { retryBudget: 1 }),
        [{ match: "as2%5D", effect: { error: { code: 2, transient: true, status: 503 } } }],
      );
      assert.equal(status, "rolled_back");
      const job = await progress(stack, owner, jobId);
      assert.equal(job.retries.used, 1, "the budget of 1 was spent, never exceeded");
      assert.match(String(job.rollback.reason), /retry budget exhausted/);
      const live = await liveOnMeta(stack, act);
      assert.deepEqual([live.campaigns.length, live.adSets.length, live.ads.length], [0, 0, 0]);
    },
  );

  await t.step(
    "rollback policy confirm: the job waits; declining keeps the partial state",
    async () => {
      const act = await connectedAccount(stack, owner);
      const { jobId, status } = await launchUnderFaults(
        stack,
        owner,
        launchBody(act, "Confirm", 3, 1, { rollbackPolicy: "confirm" }),
        [{ match: "as2%5D", effect: { error: { code: 100, status: 400 } } }],
      );
      assert.equal(status, "awaiting_confirmation");
      const client = await stack.clientFor(owner);
      const declined = await invokeResult(
        await client.functions.invoke(`campaign-create/jobs/${jobId}/rollback`, {
          body: { confirm: false },
        }),
      );
      assert.equal(declined.status, 200);
      assert.equal(declined.body.status, "failed");
      assert.equal((await liveOnMeta(stack, act)).adSets.length, 1, "the partial state is kept");
      const again = await invokeResult(
        await client.functions.invoke(`campaign-create/jobs/${jobId}/rollback`, {
          body: { confirm: true },
        }),
      );
      assert.equal(again.status, 409);
    },
  );

  await t.step(
    "verify: an ad deleted on Meta after completion is found and created again",
    async () => {
      const act = await connectedAccount(stack, owner);
      const started = await launch(stack, owner, launchBody(act, "Repaired", 2, 1));
      const jobId = started.body.jobId as number;
      assert.equal(await stack.jobSettled(jobId), "completed");
      const [lostAd] = (await liveOnMeta(stack, act)).ads;
      const meta = await metaAsPerson(stack, act);
      assert.ok((await meta.delete(`/${lostAd.id}`)).ok);

      const client = await stack.clientFor(owner);
      const asked = await invokeResult(
        await client.functions.invoke(`campaign-create/jobs/${jobId}/verify`, { method: "POST" }),
      );
      assert.equal(asked.status, 200);
      assert.equal(asked.body.status, "in_progress");
      assert.equal(await stack.jobSettled(jobId), "completed");
      await assertExactly(stack, act, 2, 2);
      const live = await liveOnMeta(stack, act);
      assert.ok(
        live.ads.some((ad) => ad.name === lostAd.name && ad.id !== lostAd.id),
        "the lost ad is back, as a new object",
      );
      assert.equal((await progress(stack, owner, jobId)).silentFailures, 1);
    },
  );
});
