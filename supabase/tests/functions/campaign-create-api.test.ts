// campaign-create's HTTP contract, over real HTTP (fetch, so headers can be read) against the
// simulator and the real database: Meta not answering the verification is 503 with Retry-After and
// creates nothing; per-account object limits (exactly at: accepted, one over: refused); the
// progress shape; the 1 MiB body limit; a misconfigured function answering a bare 500.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import type { JobProgress } from "../../functions/_shared/creation/campaign-jobs.ts";
import { maxBodyBytes } from "../../functions/_shared/platform/http.ts";
import { verificationAttempts } from "../../functions/_shared/creation/pre-creation-verification.ts";
import {
  adSetTemplate,
  assertExactly,
  launchBody,
  launched,
  liveOnMeta,
  objectsOnMeta,
  until,
} from "../_support/launches.ts";
import { nextAdAccountId, type TestStack, testWithStack } from "../_support/stack.ts";

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

/** A call to a function as the user, with fetch (supabase-js hides the answer's headers). */
async function call(
  stack: TestStack,
  userId: string,
  path: string,
  init: { method?: string; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const jwt = await signLocalUserJwt(userId);
  const response = await fetch(`${stack.functions.url}/functions/v1/${path}`, {
    method: init.method ?? "POST",
    headers: {
      Authorization: `Bearer ${jwt}`,
      "Content-Type": "application/json",
      ...init.headers,
    },
    body: init.body,
    // A ReadableStream body is sent chunked, without Content-Length.
    ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const launchAs = (stack: TestStack, userId: string, body: unknown) =>
  call(stack, userId, "campaign-create", { body: JSON.stringify(body) });

const progress = async (stack: TestStack, userId: string, jobId: number) => {
  const answer = await call(stack, userId, `campaign-create/jobs/${jobId}`, { method: "GET" });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as unknown as JobProgress;
};

async function jobsOf(stack: TestStack, act: string): Promise<number> {
  const [{ n }] = await stack.sql`
    select count(*)::int as n from public.campaign_creation_jobs j
    join public.ad_accounts a on a.id = j.ad_account_id where a.platform_account_id = ${act}`;
  return n;
}

async function graphRequests(stack: TestStack): Promise<number> {
  return (await stack.sim("/__sim/requests") as { total: number }).total;
}

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
  }
  return [];
}

testWithStack("campaign-create API", async (t, stack) => {
  const owner = await stack.createUser();
  /** The launch whose rollback blocks on a suspended account, reinstated once it is checked. */
  let blockedLaunch: { act: string; jobId: number } | undefined;

  await t.step(
    "Meta rate-limits the verification: 503 with Meta's wait in Retry-After, nothing created; later it goes through",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      await stack.sim("/__sim/faults", {
        rules: [{
          path: "^/$",
          match: "validate_only",
          times: 1,
          effect: { rateLimit: { regainSeconds: 120 } },
        }],
      });
      const answer = await launchAs(stack, owner, launchBody(act, "Throttled", 2));
      await stack.sim("/__sim/faults", { rules: [] });
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(answer.headers.get("Retry-After"), "120");
      assert.equal(answer.body.error, "meta_unavailable");
      assert.equal(answer.body.retryAfterSeconds, 120);
      assert.equal((answer.body.meta as { class: string }).class, "RATE_LIMIT");
      assert.equal(await jobsOf(stack, act), 0, "no job");
      assert.deepEqual(await objectsOnMeta(stack, act), [], "nothing on Meta");
      const [logged] = await stack.sql`
        select v.can_proceed, v.job_id, v.errors from public.pre_creation_verifications v
        join public.ad_accounts a on a.id = v.ad_account_id where a.platform_account_id = ${act}`;
      assert.equal(logged.can_proceed, false);
      assert.equal(logged.job_id, null);
      assert.match(JSON.stringify(logged.errors), /did not answer the verification \(RATE_LIMIT\)/);

      // Once Meta's wait is over, the same launch is accepted.
      await stack.sim("/__sim/clock", { advanceSeconds: 121 });
      const jobId = await launched(stack, owner, launchBody(act, "Throttled", 2));
      assert.equal(await stack.jobSettled(jobId), "completed");
      await assertExactly(stack, act, 2, 2);
    },
  );

  await t.step(
    "a transient Meta error is retried in process; one that outlasts the retries is 503, Retry-After 30, nothing created",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      await stack.sim("/__sim/faults", {
        rules: [{
          path: "^/$",
          match: "validate_only",
          effect: { error: { code: 2, transient: true, status: 503 } },
        }],
      });
      const before = await graphRequests(stack);
      const answer = await launchAs(stack, owner, launchBody(act, "Outage", 2));
      const sent = await graphRequests(stack) - before;
      await stack.sim("/__sim/faults", { rules: [] });
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(answer.headers.get("Retry-After"), "30");
      assert.equal(answer.body.error, "meta_unavailable");
      assert.equal((answer.body.meta as { class: string }).class, "TEMPORARY");
      assert.equal(sent, verificationAttempts, "the verification batch was tried again");
      assert.equal(await jobsOf(stack, act), 0, "no job");
      assert.deepEqual(await objectsOnMeta(stack, act), [], "nothing on Meta");

      // One batch item failing once (here the validate_only check): the retry answers.
      await stack.sim("/__sim/faults", {
        rules: [{
          match: "validate_only",
          times: 1,
          effect: { error: { code: 2, transient: true, status: 503 } },
        }],
      });
      const retried = await launchAs(stack, owner, launchBody(act, "Outage", 2));
      await stack.sim("/__sim/faults", { rules: [] });
      assert.equal(retried.status, 202, JSON.stringify(retried.body));
      assert.equal(await stack.jobSettled(retried.body.jobId as number), "completed");
      await assertExactly(stack, act, 2, 2);
    },
  );

  await t.step(
    "object limits from ad_accounts: a launch landing exactly on them is accepted, one over is refused",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      await stack.sql`
        update public.ad_accounts set campaign_limit = 1, ad_set_limit = 2, ad_limit = 4
        where platform_account_id = ${act}`;
      const atLimit = await launchAs(stack, owner, launchBody(act, "At the limit", 2, 2));
      assert.equal(atLimit.status, 202, JSON.stringify(atLimit.body));
      assert.equal(await stack.jobSettled(atLimit.body.jobId as number), "completed");
      await assertExactly(stack, act, 2, 4);

      // The account now holds 1 campaign, 2 ad sets, 4 ads: one more of each is over every limit.
      const over = await launchAs(stack, owner, launchBody(act, "One more", 1, 1));
      assert.equal(over.status, 422, JSON.stringify(over.body));
      assert.equal(over.body.error, "verification_failed");
      assert.deepEqual(over.body.reasons, [
        "the launch would exceed the account's limit of 1 live campaigns (ad_accounts.campaign_limit): 1 live + 1 new = 2",
        "the launch would exceed the account's limit of 2 live ad sets (ad_accounts.ad_set_limit): 2 live + 1 new = 3",
        "the launch would exceed the account's limit of 4 live ads (ad_accounts.ad_limit): 4 live + 1 new = 5",
      ]);
      await assertExactly(stack, act, 2, 4);

      // One ad over on an empty account.
      const { id: other } = await stack.connectAdAccount(owner);
      await stack
        .sql`update public.ad_accounts set ad_limit = 3 where platform_account_id = ${other}`;
      const oneOver = await launchAs(stack, owner, launchBody(other, "One ad over", 2, 2));
      assert.equal(oneOver.status, 422, JSON.stringify(oneOver.body));
      assert.deepEqual(oneOver.body.reasons, [
        "the launch would exceed the account's limit of 3 live ads (ad_accounts.ad_limit): 0 live + 4 new = 4",
      ]);
      assert.deepEqual(await objectsOnMeta(stack, other), [], "nothing created");
      assert.equal(await jobsOf(stack, other), 0);
      const [logged] = await stack.sql`
        select v.at_account_limit, v.can_proceed, v.current_campaign_count, v.account_limit,
               v.current_ad_set_count, v.ad_set_limit, v.current_ad_count, v.ad_limit
        from public.pre_creation_verifications v
        join public.ad_accounts a on a.id = v.ad_account_id where a.platform_account_id = ${other}`;
      assert.deepEqual({ ...logged }, {
        at_account_limit: true,
        can_proceed: false,
        current_campaign_count: 0,
        account_limit: 5000,
        current_ad_set_count: 0,
        ad_set_limit: 5000,
        current_ad_count: 0,
        ad_limit: 3,
      });

      const accounts = await call(stack, owner, "ad-accounts", { method: "GET" });
      const listed = (accounts.body.accounts as { platformAccountId: string; limits: unknown }[])
        .find((a) => a.platformAccountId === other);
      assert.deepEqual(listed?.limits, { campaigns: 5000, adSets: 5000, ads: 3 });
    },
  );

  await t.step(
    "progress answers camelCase with numbers as numbers; rollback and verify answer the same shape",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      const jobId = await launched(stack, owner, launchBody(act, "Progress", 3, 2));
      assert.equal(await stack.jobSettled(jobId), "completed");
      const job = await progress(stack, owner, jobId);
      const [campaign] = (await liveOnMeta(stack, act)).campaigns;
      const { createdAt, updatedAt, startedAt, completedAt, ...rest } = job;
      assert.deepEqual(rest, {
        jobId,
        status: "completed",
        adAccountId: act,
        campaignName: "Progress",
        facebookCampaignId: campaign.id,
        dryRun: false,
        requested: { adSets: 3, ads: 6 },
        created: { adSets: 3, ads: 6 },
        verified: 10,
        silentFailures: 0,
        slots: { pending: 0, creating: 0, created: 10, failed: 0, rolledBack: 0 },
        retries: { used: 0, budget: 5 },
        entities: {
          campaign: { requested: 1, created: 1, verified: 1, retries: 0 },
          adSets: { requested: 3, created: 3, verified: 3, retries: 0 },
          ads: { requested: 6, created: 6, verified: 6, retries: 0 },
        },
        waiting: null,
        rollback: { policy: "auto", triggered: false, reason: null, at: null },
        lastError: null,
        approval: {
          required: false,
          decision: null,
          decidedBy: null,
          decidedAt: null,
          reason: null,
        },
        budget: { reserved: 3 * adSetTemplate.daily_budget, released: false },
        liveEntities: [],
        blockedReason: null,
        unownedObjects: [],
        nextRunAt: rest.nextRunAt,
      });
      for (const at of [createdAt, updatedAt, startedAt, completedAt]) {
        assert.ok(typeof at === "string" && !Number.isNaN(Date.parse(at)), `${at} is a timestamp`);
      }
      assert.ok(
        keysOf(job).every((key) => /^[a-z][a-zA-Z]*$/.test(key)),
        `camelCase keys only: ${keysOf(job).join(", ")}`,
      );

      const verify = await call(stack, owner, `campaign-create/jobs/${jobId}/verify`);
      assert.equal(verify.status, 200, JSON.stringify(verify.body));
      assert.deepEqual(keysOf(verify.body).sort(), keysOf(job).sort());
      assert.equal(await stack.jobSettled(jobId), "completed");
      const rollback = await call(stack, owner, `campaign-create/jobs/${jobId}/rollback`, {
        body: JSON.stringify({ confirm: true }),
      });
      assert.equal(rollback.status, 409);
      assert.equal(rollback.body.error, "not_awaiting_confirmation");
    },
  );

  await t.step(
    "a job that will not complete lists its live entities; a blocked rollback says why",
    async () => {
      const { id: act } = await stack.connectAdAccount(owner);
      await stack.sim("/__sim/faults", {
        rules: [{ match: "as2%5D", effect: { error: { code: 100, status: 400 } } }],
      });
      const jobId = await launched(
        stack,
        owner,
        launchBody(act, "Waits", 3, 1, { rollbackPolicy: "confirm" }),
      );
      assert.equal(await stack.jobSettled(jobId), "awaiting_confirmation");
      await stack.sim("/__sim/faults", { rules: [] });
      const waiting = await progress(stack, owner, jobId);
      const live = await liveOnMeta(stack, act);
      assert.deepEqual(waiting.liveEntities, [
        { type: "campaign", id: live.campaigns[0].id },
        { type: "ad_set", id: live.adSets[0].id },
        { type: "ad", id: live.ads[0].id },
      ]);
      assert.equal(waiting.blockedReason, null);

      const declined = await call(stack, owner, `campaign-create/jobs/${jobId}/rollback`, {
        body: JSON.stringify({ confirm: false }),
      });
      assert.equal(declined.status, 200);
      const failed = declined.body as unknown as JobProgress;
      assert.equal(failed.status, "failed");
      assert.equal(failed.liveEntities.length, 3, "a declined rollback keeps its objects live");

      // Suspended mid-launch: the rollback cannot delete anything and blocks.
      const { id: suspended } = await stack.connectAdAccount(owner);
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `^/${suspended}/adsets$`,
          match: "as3%5D",
          times: 1,
          effect: { suspendAccount: true },
        }],
      });
      const blockedJob = await launched(stack, owner, launchBody(suspended, "Blocked", 4, 1));
      await stack.jobSettled(blockedJob, { statuses: ["rollback_blocked"] });
      await stack.sim("/__sim/faults", { rules: [] });
      const blocked = await progress(stack, owner, blockedJob);
      assert.equal(blocked.status, "rollback_blocked");
      assert.equal(blocked.blockedReason, blocked.lastError);
      assert.match(String(blocked.blockedReason), /account_status 2/);
      assert.equal(blocked.waiting?.reason, "rollback_blocked", "its wait says why");
      assert.equal(blocked.waiting?.until, blocked.nextRunAt);
      assert.equal(waiting.waiting, null, "a job waiting for a person has no next run to wait for");
      assert.deepEqual(
        blocked.liveEntities.map((e) => e.id).sort(),
        (await liveOnMeta(stack, suspended)).all.map((o) => o.id).sort(),
        "exactly what is still live on Meta",
      );
      await stack.sim("/__sim/status", { id: suspended, status: 1 });
      blockedLaunch = { act: suspended, jobId: blockedJob };
    },
  );

  await t.step("a body over 1 MiB is 413, declared or not; 1 MiB exactly is read", async () => {
    const { id: act } = await stack.connectAdAccount(owner);
    const json = JSON.stringify(launchBody(act, "Big", 1, 1, { dryRun: true }));
    const padded = (size: number) => json + " ".repeat(size - json.length);

    const declared = await call(stack, owner, "campaign-create", {
      body: padded(maxBodyBytes + 1),
    });
    assert.equal(declared.status, 413, JSON.stringify(declared.body));
    assert.equal(declared.body.error, "payload_too_large");

    const bytes = new TextEncoder().encode(padded(maxBodyBytes + 1));
    const streamed = await call(stack, owner, "campaign-create", {
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 64 * 1024) {
            controller.enqueue(bytes.slice(at, at + 64 * 1024));
          }
          controller.close();
        },
      }),
    });
    assert.equal(streamed.status, 413, JSON.stringify(streamed.body));
    assert.equal(streamed.body.error, "payload_too_large");
    assert.equal(await jobsOf(stack, act), 0, "nothing was launched");

    const exactly = await call(stack, owner, "campaign-create", { body: padded(maxBodyBytes) });
    assert.equal(exactly.status, 202, JSON.stringify(exactly.body));
  });

  // Left blocked, pg_cron would hand the job to the next test file's stack on this database,
  // whose Meta knows neither the account nor the token (a stray request in its counts).
  await t.step("the account reinstated, the blocked rollback finishes: nothing live", async () => {
    assert.ok(blockedLaunch, "the blocked launch's step ran");
    const { act, jobId } = blockedLaunch;
    assert.equal(await stack.jobSettled(jobId, { timeoutMs: 120_000 }), "rolled_back");
    assert.deepEqual((await liveOnMeta(stack, act)).all, []);
  });
});

for (const [problem, value] of [["malformed", "not-a-key-LEAK-CANARY-5f1c"], ["missing", ""]]) {
  testWithStack(
    `a ${problem} TOKEN_ENCRYPTION_KEY: 500, the setting named in the log, its value nowhere`,
    async (_t, stack) => {
      const owner = await stack.createUser();
      const act = nextAdAccountId();
      const token = `EAAB-test-${crypto.randomUUID()}`;
      await stack.sim("/__sim/accounts", { id: act, token });
      const answer = await call(stack, owner, "ad-accounts", {
        body: JSON.stringify({ platformAccountId: act, accessToken: token }),
      });
      assert.equal(answer.status, 500);
      assert.deepEqual(Object.keys(answer.body).sort(), ["error", "message", "requestId"]);
      assert.equal(answer.body.error, "internal");
      assert.equal(answer.body.message, "the function is misconfigured");
      // The log arrives through the functions process's stderr, maybe after the answer.
      const logged = await until("the log line", () =>
        Promise.resolve(
          stack.functions.log().find((line) =>
            line.message === "misconfigured function" && line.requestId === answer.body.requestId
          ),
        ), 10_000);
      assert.equal(logged?.setting, "TOKEN_ENCRYPTION_KEY");
      assert.equal(logged?.problem, problem);
      if (value) {
        assert.ok(!JSON.stringify(answer.body).includes(value), "not in the answer");
        assert.ok(!JSON.stringify(stack.functions.log()).includes(value), "not in the log");
      }
    },
    { TOKEN_ENCRYPTION_KEY: value },
  );
}
