// Roles and ownership over real HTTP (issue #9 items 1, 2 and 6): each attack is made as a client
// would make it and shown refused with nothing changed in the database or on the simulated Meta;
// then what each role may do, a dry run that must never create, and a colleague's objects that a
// verify must never remove.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import {
  adSetTemplate,
  launchBody,
  launched,
  liveOnMeta,
  metaAsPerson,
  objectsOnMeta,
} from "../_support/launches.ts";
import { callFunction, refusedWithNothingChanged } from "../_support/refusals.ts";
import { nextAdAccountId, type TestStack, testWithStack } from "../_support/stack.ts";

const appSecret = "team-a-app-secret";

async function as(stack: TestStack, userId: string) {
  const bearer = await signLocalUserJwt(userId);
  return {
    connect: (act: string, accessToken: string) =>
      callFunction(stack, bearer, "ad-accounts", {
        body: { platformAccountId: act, accessToken, appSecret },
      }),
    launch: (body: unknown) => callFunction(stack, bearer, "campaign-create", { body }),
    job: (jobId: number) =>
      callFunction(stack, bearer, `campaign-create/jobs/${jobId}`, { method: "GET" }),
    verify: (jobId: number) => callFunction(stack, bearer, `campaign-create/jobs/${jobId}/verify`),
    rollback: (jobId: number) =>
      callFunction(stack, bearer, `campaign-create/jobs/${jobId}/rollback`, {
        body: { confirm: true },
      }),
    sync: (act: string) =>
      callFunction(stack, bearer, "facebook-ads-sync", { body: { adAccountId: act } }),
  };
}

async function members(stack: TestStack, act: string) {
  return await stack.sql`
    select m.user_id, m.role from public.ad_account_members m
    join public.ad_accounts a on a.id = m.ad_account_id
    where a.platform_account_id = ${act} order by m.user_id`;
}

testWithStack("roles and ownership of ad accounts", async (t, stack) => {
  // Team A shares act: an owner, an approver, a launcher, a viewer. Team B has its own account.
  const owner = await stack.createUser();
  const approver = await stack.createUser();
  const launcher = await stack.createUser();
  const viewer = await stack.createUser();
  const stranger = await stack.createUser();
  const { id: act, token } = await stack.connectAdAccount(owner, { appSecret });
  await stack.connectAdAccount(stranger);
  for (const [user, role] of [[approver, "approver"], [launcher, "launcher"], [viewer, "viewer"]]) {
    await stack.sql`
      select public.set_ad_account_member(a.id, ${owner}, ${user}, ${role})
      from public.ad_accounts a where a.platform_account_id = ${act}`;
  }
  const ownersJob = await launched(stack, owner, launchBody(act, "Owner's launch", 1));
  assert.equal(await stack.jobSettled(ownersJob), "completed");
  const launchersJob = await launched(stack, launcher, launchBody(act, "Launcher's launch", 1));
  assert.equal(await stack.jobSettled(launchersJob), "completed");

  await t.step(
    "another team connecting the account with a token that reads it: 409, token, app secret and members unchanged",
    async () => {
      const answer = await refusedWithNothingChanged(
        stack,
        act,
        async () => await (await as(stack, stranger)).connect(act, token),
        { metaReads: true },
      );
      assert.deepEqual(answer, {
        status: 409,
        body: {
          error: "account_already_connected",
          message:
            `ad account ${act} is already connected to adrail by another team: ask one of its owners to add you as a member`,
        },
      });
      const theirs = await (await as(stack, stranger)).job(ownersJob);
      assert.equal(theirs.status, 404, "and still cannot see the account's jobs");
    },
  );

  await t.step(
    "a viewer, a launcher or an approver reconnecting to become owner: 403, nothing changed",
    async () => {
      for (const member of [viewer, launcher, approver]) {
        const answer = await refusedWithNothingChanged(
          stack,
          act,
          async () => await (await as(stack, member)).connect(act, token),
          { metaReads: true },
        );
        assert.deepEqual(answer, {
          status: 403,
          body: {
            error: "forbidden",
            message: `only an owner of ad account ${act} may replace its token`,
          },
        });
      }
    },
  );

  await t.step("the owner replaces the token: 200, and every member keeps their role", async () => {
    const before = await members(stack, act);
    const rotated = `EAAB-rotated-${crypto.randomUUID()}`;
    await stack.sim("/__sim/accounts", { id: act, token: rotated, appSecret });
    const answer = await (await as(stack, owner)).connect(act, rotated);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.role, "owner");
    assert.deepEqual(await members(stack, act), before);
  });

  await t.step(
    "someone else's account or job answers exactly as one that does not exist: 404, nothing changed",
    async () => {
      const client = await as(stack, stranger);
      const nowhere = nextAdAccountId();
      const missingJob = 2_000_000_000 + ownersJob;
      const notFound = (message: string) => ({
        status: 404,
        body: { error: "not_found", message },
      });
      const attacks: [string, () => Promise<unknown>, unknown][] = [
        ["read a job", () => client.job(ownersJob), notFound(`job ${ownersJob} not found`)],
        ["verify a job", () => client.verify(ownersJob), notFound(`job ${ownersJob} not found`)],
        [
          "roll a job back",
          () => client.rollback(ownersJob),
          notFound(`job ${ownersJob} not found`),
        ],
        [
          "launch",
          () => client.launch(launchBody(act, "Not mine", 1)),
          notFound(`ad account ${act} not found`),
        ],
        ["sync", () => client.sync(act), notFound(`ad account ${act} not found`)],
      ];
      for (const [what, attack, expected] of attacks) {
        assert.deepEqual(await refusedWithNothingChanged(stack, act, attack), expected, what);
      }
      // The same words for what does not exist at all.
      assert.deepEqual(await client.job(missingJob), notFound(`job ${missingJob} not found`));
      assert.deepEqual(
        await client.launch(launchBody(nowhere, "Nowhere", 1)),
        notFound(`ad account ${nowhere} not found`),
      );
      assert.deepEqual(await client.sync(nowhere), notFound(`ad account ${nowhere} not found`));
    },
  );

  await t.step(
    "a viewer reads, but may not sync, launch, verify or decide a rollback: 403, nothing changed",
    async () => {
      const client = await as(stack, viewer);
      assert.equal((await client.job(ownersJob)).status, 200);
      const refusals: [string, () => Promise<{ status: number; body: unknown }>, string][] = [
        [
          "sync",
          () => client.sync(act),
          `your role on ad account ${act} does not allow sync`,
        ],
        [
          "launch",
          () => client.launch(launchBody(act, "Viewer's launch", 1)),
          `your role on ad account ${act} does not allow launch`,
        ],
        [
          "verify",
          () => client.verify(ownersJob),
          `your role does not allow managing job ${ownersJob}`,
        ],
        [
          "rollback",
          () => client.rollback(ownersJob),
          `your role does not allow managing job ${ownersJob}`,
        ],
      ];
      for (const [what, attack, message] of refusals) {
        assert.deepEqual(
          await refusedWithNothingChanged(stack, act, attack),
          { status: 403, body: { error: "forbidden", message } },
          what,
        );
      }
    },
  );

  await t.step(
    "a launcher steers its own jobs, not a colleague's (403, nothing changed); an approver steers any",
    async () => {
      const client = await as(stack, launcher);
      for (const attack of [() => client.verify(ownersJob), () => client.rollback(ownersJob)]) {
        assert.deepEqual(await refusedWithNothingChanged(stack, act, attack), {
          status: 403,
          body: {
            error: "forbidden",
            message: `your role does not allow managing job ${ownersJob}`,
          },
        });
      }
      const own = await client.verify(launchersJob);
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.equal(await stack.jobSettled(launchersJob), "completed");
      const approved = await (await as(stack, approver)).verify(launchersJob);
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(await stack.jobSettled(launchersJob), "completed");
    },
  );

  await t.step(
    "a completed dry run, verified: left as it is, nothing created on Meta, ever",
    async () => {
      const { id: dryAct } = await stack.connectAdAccount(owner);
      const dryJob = await launched(
        stack,
        owner,
        launchBody(dryAct, "Only a rehearsal", 2, 1, { dryRun: true, retryBudget: 0 }),
      );
      assert.equal(await stack.jobSettled(dryJob), "completed");
      const answer = await refusedWithNothingChanged(
        stack,
        dryAct,
        async () => await (await as(stack, owner)).verify(dryJob),
      );
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.status, "completed");
      assert.equal(answer.body.dryRun, true);
      // The verify started a worker run: give it time to do anything it would.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(await objectsOnMeta(stack, dryAct), [], "nothing was ever created");
      const [job] = await stack.sql`
        select status, (select array_agg(distinct status) from public.entity_creation_slots
                        where job_id = ${dryJob}) as slots
        from public.campaign_creation_jobs where id = ${dryJob}`;
      assert.deepEqual(job, { status: "completed", slots: ["pending"] });
    },
  );

  await t.step(
    "a colleague's objects in the job's campaign, named like the job's own, survive a verify",
    async () => {
      const { id: shared } = await stack.connectAdAccount(owner);
      const jobId = await launched(stack, owner, launchBody(shared, "Shared campaign", 2));
      assert.equal(await stack.jobSettled(jobId), "completed");
      const [campaign] = (await liveOnMeta(stack, shared)).campaigns;
      // A colleague duplicates the job's first ad set and its ad in Ads Manager, keeping the names.
      const meta = await metaAsPerson(stack, shared);
      const adSet = await meta.post<{ id: string }>(`/${shared}/adsets`, {
        ...adSetTemplate,
        name: `Shared campaign [adrail j${jobId} as1]`,
        campaign_id: campaign.id,
      });
      assert.ok(adSet.ok, JSON.stringify(adSet));
      const ad = await meta.post<{ id: string }>(`/${shared}/ads`, {
        name: `Shared campaign [adrail j${jobId} as1 ad1]`,
        adset_id: adSet.data.id,
        creative: { creative_id: "555" },
      });
      assert.ok(ad.ok, JSON.stringify(ad));

      const answer = await (await as(stack, owner)).verify(jobId);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.status, "in_progress");
      assert.equal(await stack.jobSettled(jobId), "completed");
      const live = await liveOnMeta(stack, shared);
      assert.deepEqual(
        [live.campaigns.length, live.adSets.length, live.ads.length],
        [1, 3, 3],
        "the job's objects and the colleague's, all live",
      );
      const progress = await (await as(stack, owner)).job(jobId);
      assert.deepEqual(
        (progress.body.unownedObjects as { id: string }[]).map((o) => o.id).sort(),
        [adSet.data.id, ad.data.id].sort(),
        "reported, never removed",
      );
    },
  );
});
