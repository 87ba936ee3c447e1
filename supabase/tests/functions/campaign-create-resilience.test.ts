// A launch against a Meta that misbehaves for a long time, with nobody driving the worker:
// nothing is left live after a failure (a blocked rollback waits and finishes once the account
// is back), an outage of the whole account spends no retry and rolls nothing back, and what a
// colleague put in the campaign is never removed.
import assert from "node:assert/strict";
import {
  assertExactly,
  launchBody,
  launched,
  liveOnMeta,
  metaAsPerson,
  objectsOnMeta,
  until,
} from "../_support/launches.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

async function job(stack: TestStack, jobId: number) {
  const [row] = await stack.sql`
    select status, retry_count, rollback_attempts, last_error, unowned_objects
    from public.campaign_creation_jobs where id = ${jobId}`;
  return row;
}

/** The job's slots created so far (their objects are on Meta). */
async function slotsCreated(stack: TestStack, jobId: number): Promise<number> {
  const [{ n }] = await stack.sql`
    select count(*)::int as n from public.entity_creation_slots where job_id = ${jobId} and status = 'created'`;
  return n;
}

testWithStack("campaign-create when Meta misbehaves for a long time", async (t, stack) => {
  const owner = await stack.createUser();

  await t.step(
    "suspended after ad set 10 of a 1-20-2, reinstated two hours later: rolled back, nothing live",
    async () => {
      const act = (await stack.connectAdAccount(owner)).id;
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `^/${act}/adsets$`,
          match: "as10%5D",
          times: 1,
          effect: { suspendAccount: true },
        }],
      });
      const jobId = await launched(stack, owner, launchBody(act, "Suspended", 20, 2));
      await stack.jobSettled(jobId, { statuses: ["rollback_blocked"] });
      await stack.sim("/__sim/faults", { rules: [] });
      const [stuck] = await stack.sql`
        select reason from public.stuck_creation_jobs where job_id = ${jobId}`;
      assert.match(stuck.reason, /^rollback blocked: .*account_status 2/);
      assert.ok((await liveOnMeta(stack, act)).all.length > 0, "the disabled account keeps them");
      const [live] = await stack.sql`
        select live_entities::int as n from public.creation_jobs_with_live_entities where job_id = ${jobId}`;
      assert.ok(live.n > 0, "the dashboard lists the job with its live entities");

      await stack.sim("/__sim/clock", { advanceSeconds: 2 * 3600 });
      await stack.sim("/__sim/status", { id: act, status: 1 });
      assert.equal(await stack.jobSettled(jobId, { timeoutMs: 120_000 }), "rolled_back");
      assert.deepEqual((await liveOnMeta(stack, act)).all, [], "zero live entities");
      const [audit] = await stack.sql`
        select count(*)::int as n from public.creation_job_audit where job_id = ${jobId}`;
      const deleted = (await objectsOnMeta(stack, act)).filter((o) => o.deleted).length;
      assert.equal(audit.n, deleted, "every object deleted was audited with its fields first");
    },
  );

  await t.step(
    "token revoked mid-launch, then reconnected: rolled back, zero orphans",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      await stack.sim("/__sim/faults", {
        rules: [{ path: `^/${act}/adsets$`, match: "as3%5D", times: 1, effect: { delayMs: 1500 } }],
      });
      const jobId = await launched(stack, owner, launchBody(act, "Revoked", 5));
      await until(
        "the third ad set in flight",
        async () => (await slotsCreated(stack, jobId)) >= 3 ? true : undefined,
      );
      const newToken = `EAAB-rotated-${crypto.randomUUID()}`;
      await stack.sim("/__sim/accounts", { id: act, token: newToken });
      await stack.jobSettled(jobId, { statuses: ["rollback_blocked"] });
      await stack.sim("/__sim/faults", { rules: [] });

      const client = await stack.clientFor(owner);
      const reconnected = await invokeResult(
        await client.functions.invoke("ad-accounts", {
          body: { platformAccountId: act, accessToken: newToken },
        }),
      );
      assert.equal(reconnected.status, 200, JSON.stringify(reconnected.body));
      assert.equal(await stack.jobSettled(jobId, { timeoutMs: 120_000 }), "rolled_back");
      assert.deepEqual((await liveOnMeta(stack, act)).all, [], "zero orphans");
    },
  );

  await t.step(
    "Meta down for 30 minutes in the middle of four launches: none rolled back, all exact",
    async () => {
      const accounts: string[] = [];
      for (let i = 0; i < 4; i++) accounts.push((await stack.connectAdAccount(owner)).id);
      // Slow batches (7.5 s a launch), so every launch is half-way when Meta goes down.
      await stack.sim("/__sim/faults", {
        rules: [{ path: "^/act_[0-9]+/adsets$", effect: { delayMs: 1500 } }],
      });
      try {
        const jobs = await Promise.all(
          accounts.map((act) => launched(stack, owner, launchBody(act, `Outage ${act}`, 5))),
        );
        await Promise.all(jobs.map((jobId) =>
          until(
            "a first ad set",
            async () => (await slotsCreated(stack, jobId)) >= 2 ? true : undefined,
          )
        ));
        await stack.sim("/__sim/faults", {
          rules: [{ effect: { error: { code: 2, transient: true, status: 503 } } }],
        });
        await until("every account's breaker open", async () => {
          const [{ n }] = await stack.sql`
            select count(*)::int as n from public.ad_accounts
            where platform_account_id = any(${accounts}) and meta_outage_until is not null`;
          return n === accounts.length ? true : undefined;
        });
        await new Promise((resolve) => setTimeout(resolve, 8000)); // Meta stays down a while
        await stack.sim("/__sim/clock", { advanceSeconds: 30 * 60 });
        await stack.sim("/__sim/faults", { rules: [] });

        for (const jobId of jobs) {
          assert.equal(await stack.jobSettled(jobId, { timeoutMs: 120_000 }), "completed");
          assert.equal((await job(stack, jobId)).retry_count, 0, "the outage spent no retry");
        }
      } finally {
        await stack.sim("/__sim/faults", { rules: [] });
      }
      for (const act of accounts) await assertExactly(stack, act, 5, 5);
    },
  );

  await t.step(
    "an ad set a colleague added to the campaign is still there after the job",
    async () => {
      const act = (await stack.connectAdAccount(owner)).id;
      await stack.sim("/__sim/faults", {
        rules: [
          { path: `^/${act}/adsets$`, match: "as2%5D", times: 1, effect: { delayMs: 1000 } },
          // A refusal at the last ad set: the job rolls back, with the colleague's ad set inside.
          {
            path: `^/${act}/adsets$`,
            match: "as3%5D",
            effect: { error: { code: 100, status: 400 } },
          },
        ],
      });
      const jobId = await launched(stack, owner, launchBody(act, "Shared", 3));
      await until(
        "the campaign on Meta",
        async () => (await slotsCreated(stack, jobId)) >= 2 ? true : undefined,
      );
      const [campaign] = (await liveOnMeta(stack, act)).campaigns;
      const meta = await metaAsPerson(stack, act);
      const theirs = await meta.post<{ id: string }>(`/${act}/adsets`, {
        name: "Colleague's retargeting",
        campaign_id: campaign.id,
        daily_budget: 500,
        billing_event: "IMPRESSIONS",
        optimization_goal: "REACH",
        targeting: { geo_locations: { countries: ["DE"] } },
      });
      assert.ok(theirs.ok, JSON.stringify(theirs));
      assert.equal(await stack.jobSettled(jobId), "rolled_back");
      await stack.sim("/__sim/faults", { rules: [] });

      const live = await liveOnMeta(stack, act);
      assert.deepEqual(
        live.adSets.map((o) => o.id),
        [theirs.data.id],
        "theirs is untouched",
      );
      assert.deepEqual(live.campaigns.map((o) => o.id), [campaign.id], "and so is its campaign");
      const [kept] = await stack.sql`
      select live_entity_ids from public.creation_jobs_with_live_entities where job_id = ${jobId}`;
      assert.deepEqual(kept.live_entity_ids, [campaign.id], "the kept campaign is listed as live");
      assert.equal(live.ads.length, 0, "every object the job made is gone");
      const row = await job(stack, jobId);
      assert.deepEqual(row.unowned_objects.map((o: { facebook_id: string }) => o.facebook_id), [
        theirs.data.id,
      ]);
    },
  );

  await t.step("policy confirm, confirmed: the job rolls back, nothing live", async () => {
    const act = (await stack.connectAdAccount(owner)).id;
    await stack.sim("/__sim/faults", {
      rules: [{
        path: `^/${act}/adsets$`,
        match: "as2%5D",
        effect: { error: { code: 100, status: 400 } },
      }],
    });
    const jobId = await launched(
      stack,
      owner,
      launchBody(act, "Confirmed", 3, 1, { rollbackPolicy: "confirm" }),
    );
    assert.equal(await stack.jobSettled(jobId), "awaiting_confirmation");
    await stack.sim("/__sim/faults", { rules: [] });
    const [stuck] = await stack.sql`
      select reason, age > interval '0' as aged from public.stuck_creation_jobs where job_id = ${jobId}`;
    assert.deepEqual(stuck, { reason: "waiting for a rollback decision", aged: true });

    const client = await stack.clientFor(owner);
    const confirmed = await invokeResult(
      await client.functions.invoke(`campaign-create/jobs/${jobId}/rollback`, {
        body: { confirm: true },
      }),
    );
    assert.equal(confirmed.status, 200);
    assert.equal(await stack.jobSettled(jobId), "rolled_back");
    assert.deepEqual((await liveOnMeta(stack, act)).all, []);
  });
});
