// Abuse limits over real HTTP (issue #9 item 4), each hole attacked and refused with nothing
// changed in the database or on the simulated Meta (which receives no request at all):
//   - a viewer starting a sync (403);
//   - unbounded sync dates, templates too large or too deep, a body nested 100,000 levels (a 500
//     before), the 9,801-slot dry run, text Postgres cannot store, a token no header can carry
//     (400 naming the field), a body over 1 MiB (413);
//   - too many requests of a user and of an account, too many entities asked for, too many jobs
//     under way (429 with Retry-After, the same wait in the body).
// Each limit is an override of adrail_limits for a user or an account of this test's own, set
// before that user or account makes its first request of the kind (a bucket remembers what was
// taken under the limit before); the control beside each refusal shows the same request passing
// under the limit.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { maxBodyBytes } from "../../functions/_shared/platform/http.ts";
import { adSetTemplate, launchBody } from "../_support/launches.ts";
import {
  accountIdOf,
  callKeepingRetryAfter,
  type LimitedAnswer,
  setLimit,
} from "../_support/limits.ts";
import { type Answer, callFunction, refusedWithNothingChanged } from "../_support/refusals.ts";
import { nextAdAccountId, type TestStack, testWithStack } from "../_support/stack.ts";

const dayMs = 86_400_000;
const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);

/** A 429 with Retry-After, the same wait in the body, and the limit that refused it. */
function assertRateLimited(answer: LimitedAnswer, limit: Record<string, unknown>): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.equal(answer.body.error, "rate_limited");
  assert.ok(Number(answer.retryAfter) >= 1, `Retry-After: ${answer.retryAfter}`);
  assert.equal(answer.body.retryAfterSeconds, Number(answer.retryAfter));
  assert.deepEqual({ ...(answer.body.limit as object), ...limit }, answer.body.limit);
}

/** A 400 whose issues name exactly these fields, with these messages. */
function assertInvalid(answer: Answer, issues: [string, string | RegExp][]): void {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.error, "invalid_body");
  const got = answer.body.issues as { path: string; message: string }[];
  assert.deepEqual(got.map((i) => i.path), issues.map(([path]) => path), JSON.stringify(got));
  for (const [index, [, message]] of issues.entries()) {
    assert.match(got[index].message, message instanceof RegExp ? message : new RegExp(message));
  }
}

async function addMember(stack: TestStack, act: string, userId: string, role: string) {
  await stack.sql`
    insert into public.ad_account_members (ad_account_id, user_id, role)
    values (${await accountIdOf(stack, act)}, ${userId}, ${role})`;
}

testWithStack("abuse limits", async (t, stack) => {
  const owner = await stack.createUser();
  const ownerBearer = await signLocalUserJwt(owner);
  /** A new account of the owner's, on Meta and connected. */
  const connected = async () => {
    const { id: act } = await stack.connectAdAccount(owner);
    return { act, accountId: await accountIdOf(stack, act) };
  };
  /** A new user, a member of `act` in `role`, and their bearer token. */
  const member = async (act: string, role: string) => {
    const user = await stack.createUser();
    await addMember(stack, act, user, role);
    return { user, bearer: await signLocalUserJwt(user) };
  };
  /** A launch; an accepted one is waited for, so that its worker run overlaps no later attack. */
  const launchAs = async (bearer: string, body: unknown) => {
    const answer = await callKeepingRetryAfter(stack, bearer, "campaign-create", { body });
    if (answer.status === 202) {
      await stack.jobSettled(Number((answer.body as { jobId: number }).jobId));
    }
    return answer;
  };
  const dryRun = (act: string, name: string, adSets = 1, ads = 1) =>
    launchBody(act, name, adSets, ads, { dryRun: true });
  const { act, accountId } = await connected();
  const refused = <T>(attack: () => Promise<T>) => refusedWithNothingChanged(stack, act, attack);

  await t.step("a viewer may not start a sync: 403; a launcher may", async () => {
    const viewer = await member(act, "viewer");
    const launcher = await member(act, "launcher");
    const sync = (bearer: string) =>
      callFunction(stack, bearer, "facebook-ads-sync", { body: { adAccountId: act } });
    const answer = await refused(() => sync(viewer.bearer));
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, "forbidden");
    const control = await sync(launcher.bearer);
    assert.equal(control.status, 200, JSON.stringify(control.body));
  });

  await t.step("sync dates: the future, beyond Meta's 37 months, over 90 days: 400", async () => {
    const sync = (dates: Record<string, string>) =>
      refused(() =>
        callFunction(stack, ownerBearer, "facebook-ads-sync", {
          body: { adAccountId: act, ...dates },
        })
      );
    const now = Date.now();
    assertInvalid(await sync({ until: "2999-01-01" }), [["until", "must not be after"]]);
    assertInvalid(await sync({ since: "2000-01-01", until: "2000-01-31" }), [
      ["since", "must not be before .*: Meta keeps 37 months"],
    ]);
    assertInvalid(await sync({ since: dayOf(now - 200 * dayMs) }), [
      ["since", "since..until may span at most 90 days \\(here 201\\)"],
    ]);
    assertInvalid(
      await sync({ since: dayOf(now - 100 * dayMs), until: dayOf(now - 10 * dayMs) }),
      [["since", "at most 90 days \\(here 91\\)"]],
    );
  });

  await t.step("a body over 1 MiB, declared or streamed: 413", async () => {
    const json = JSON.stringify({ adAccountId: act });
    const oversize = new TextEncoder().encode(json + " ".repeat(maxBodyBytes + 1 - json.length));
    const streamed = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < oversize.length; at += 64 * 1024) {
            controller.enqueue(oversize.slice(at, at + 64 * 1024));
          }
          controller.close();
        },
      });
    for (const body of [oversize, streamed()]) {
      const answer = await refused(() =>
        callFunction(stack, ownerBearer, "facebook-ads-sync", { raw: body })
      );
      assert.equal(answer.status, 413, JSON.stringify(answer.body));
      assert.deepEqual(answer.body.maxBytes, maxBodyBytes);
    }
  });

  await t.step(
    "templates over 32 KiB, deeper than 8 levels or with a key __proto__, a body nested 100,000 levels deep: 400",
    async () => {
      const withTemplate = (template: unknown) => ({
        ...dryRun(act, "Templates"),
        adSets: { count: 1, template },
      });
      const big = await refused(() =>
        launchAs(ownerBearer, withTemplate({ ...adSetTemplate, notes: "x".repeat(40_000) }))
      );
      assertInvalid(big, [["adSets.template", "must be at most 32768 bytes as JSON"]]);
      const nested = { a: { b: { c: { d: { e: { f: { g: { h: 1 } } } } } } } };
      const deep = await refused(() =>
        launchAs(ownerBearer, withTemplate({ ...adSetTemplate, nested }))
      );
      assertInvalid(deep, [[
        "adSets.template.nested.a.b.c.d.e.f.g",
        "nested deeper than 8 levels",
      ]]);
      // Built as text: 200 KB, 100,000 arrays deep (zod's recursion overflowed on it: a 500).
      const text = JSON.stringify(withTemplate({ ...adSetTemplate, deep: "HERE" }))
        .replace('"HERE"', "[".repeat(100_000) + "]".repeat(100_000));
      const deepest = await refused(() =>
        callFunction(stack, ownerBearer, "campaign-create", { raw: text })
      );
      assertInvalid(deepest, [[
        `adSets.template.deep${".0".repeat(29)}`,
        "nested deeper than 32 levels",
      ]]);
      // zod's records drop a key __proto__ unseen (a megabyte under it passed the size cap).
      const proto = JSON.stringify(withTemplate(adSetTemplate))
        .replace('"daily_budget"', `"__proto__":"${"x".repeat(40_000)}","daily_budget"`);
      assertInvalid(
        await refused(() => callFunction(stack, ownerBearer, "campaign-create", { raw: proto })),
        [
          ["adSets.template.__proto__", "the key __proto__ is not accepted"],
        ],
      );
    },
  );

  await t.step("the 9,801-slot dry run: 400 naming ads.perAdSet", async () => {
    const answer = await refused(() => launchAs(ownerBearer, dryRun(act, "Huge", 200, 48)));
    assertInvalid(answer, [[
      "ads.perAdSet",
      "adSets.count × ads.perAdSet must be at most 1000 ads per launch \\(here 9600\\)",
    ]]);
  });

  await t.step("text Postgres cannot store (U+0000, an unpaired surrogate): 400", async () => {
    const body = dryRun(act, "Nul\u0000name");
    const answer = await refused(() =>
      launchAs(ownerBearer, {
        ...body,
        ads: { perAdSet: 1, template: { creativeId: "5", "\ud800": 1 } },
      })
    );
    assertInvalid(answer, [
      ["campaign.name", "may not contain U\\+0000 or an unpaired surrogate"],
      ["ads.template.\ud800", "may not contain U\\+0000 or an unpaired surrogate"],
    ]);
  });

  await t.step("an access token an HTTP header cannot carry: 400, Meta not asked", async () => {
    // Before, fetch refused the header, the failure passed for Meta not answering: 503.
    for (const accessToken of ["𝕳𝖊𝖑𝖑𝖔 𝖂𝖔𝖗𝖑𝖉", "EAAB-token\r\nX-Injected: 1"]) {
      const next = nextAdAccountId();
      const answer = await refusedWithNothingChanged(
        stack,
        next,
        () =>
          callFunction(stack, ownerBearer, "ad-accounts", {
            body: { platformAccountId: next, accessToken },
          }),
      );
      assertInvalid(answer, [["accessToken", "printable ASCII, no spaces"]]);
    }
  });

  await t.step("launches per user: 429 once the user's quota is spent", async () => {
    const launcher = await member(act, "launcher");
    await setLimit(stack, "launch", { userId: launcher.user }, 2);
    for (const name of ["User 1", "User 2"]) {
      assert.equal((await launchAs(launcher.bearer, dryRun(act, name))).status, 202);
    }
    const answer = await refused(() => launchAs(launcher.bearer, dryRun(act, "User 3")));
    assertRateLimited(answer, { action: "launch", scope: "user", quota: 2, windowSeconds: 3600 });
    const wait = Number(answer.retryAfter);
    assert.ok(wait > 1700 && wait <= 1800, `one launch flows back every 1800 s: ${wait}`);
  });

  await t.step("launches per account: its members share one quota", async () => {
    const shared = await connected();
    const launcher = await member(shared.act, "launcher");
    await setLimit(stack, "launch", { adAccountId: shared.accountId }, 1);
    assert.equal((await launchAs(ownerBearer, dryRun(shared.act, "Account 1"))).status, 202);
    const answer = await refusedWithNothingChanged(
      stack,
      shared.act,
      () => launchAs(launcher.bearer, dryRun(shared.act, "Account 2")),
    );
    assertRateLimited(answer, { action: "launch", scope: "account", quota: 1 });
  });

  await t.step("entities asked for per account: 429 before anything is verified", async () => {
    const bulk = await connected();
    await setLimit(stack, "requested_entities", { adAccountId: bulk.accountId }, 50);
    const launch = (name: string, adSets: number) =>
      refusedWithNothingChanged(
        stack,
        bulk.act,
        () => launchAs(ownerBearer, dryRun(bulk.act, name, adSets, 1)),
      );
    assert.equal((await launchAs(ownerBearer, dryRun(bulk.act, "Entities 21", 10))).status, 202);
    const answer = await launch("Entities 41", 20);
    assertRateLimited(answer, { action: "requested_entities", scope: "account", quota: 50 });
    assert.match(
      String(answer.body.message),
      /^too many entities: this ad account may ask for 50 entities every 3600 s; try again/,
    );
    const never = await launch("Entities 61", 30);
    assertRateLimited(never, { action: "requested_entities", scope: "account", quota: 50 });
    assert.match(String(never.body.message), /asks for 61 entities, more than this ad account/);
  });

  await t.step("jobs under way per account: 429, nothing verified", async () => {
    await setLimit(stack, "active_jobs", { adAccountId: accountId }, 1);
    // A job under way that no worker takes up (never due).
    await stack.sql.begin(async (sql) => {
      const [job] = await sql`
        select (public.create_campaign_creation_job(${owner}, ${accountId}, 'Parked', 1, 1,
          '{}'::jsonb, 'parked')).id`;
      await sql`update public.campaign_creation_jobs set next_run_at = 'infinity' where id = ${job.id}`;
    });
    const answer = await refused(() => launchAs(ownerBearer, dryRun(act, "One too many")));
    assertRateLimited(answer, { action: "active_jobs", scope: "account", quota: 1 });
    assert.equal(
      answer.body.message,
      "this ad account already has 1 creation jobs under way, its limit: try again when one ends",
    );
    await stack.sql`
      update public.campaign_creation_jobs set status = 'failed'
      where ad_account_id = ${accountId} and campaign_name = 'Parked'`;
    assert.equal((await launchAs(ownerBearer, dryRun(act, "Room again"))).status, 202);
  });

  await t.step("rollback decisions and verify requests per account: 429", async () => {
    const [job] = await stack.sql<{ id: number }[]>`
      select id::int from public.campaign_creation_jobs
      where ad_account_id = ${accountId} and campaign_name = 'Room again'`;
    await stack.jobSettled(job.id);
    await setLimit(stack, "job_action", { adAccountId: accountId }, 1);
    const verify = () =>
      callKeepingRetryAfter(stack, ownerBearer, `campaign-create/jobs/${job.id}/verify`);
    assert.equal((await verify()).status, 200);
    await stack.jobSettled(job.id);
    assertRateLimited(await refused(verify), { action: "job_action", scope: "account", quota: 1 });
  });

  await t.step("syncs per account: 429 once the account's quota is spent", async () => {
    const synced = await connected();
    await setLimit(stack, "sync", { adAccountId: synced.accountId }, 1);
    const sync = () =>
      callKeepingRetryAfter(stack, ownerBearer, "facebook-ads-sync", {
        body: { adAccountId: synced.act },
      });
    assert.equal((await sync()).status, 200);
    const answer = await refusedWithNothingChanged(stack, synced.act, sync);
    assertRateLimited(answer, { action: "sync", scope: "account", quota: 1 });
  });

  await t.step("connects per user: 429 before Meta is asked", async () => {
    const user = await stack.createUser();
    await setLimit(stack, "connect", { userId: user }, 1);
    await stack.connectAdAccount(user);
    const next = nextAdAccountId();
    const token = `EAAB-limits-${crypto.randomUUID()}`;
    await stack.sim("/__sim/accounts", { id: next, token });
    const answer = await refusedWithNothingChanged(
      stack,
      next,
      async () =>
        callKeepingRetryAfter(stack, await signLocalUserJwt(user), "ad-accounts", {
          body: { platformAccountId: next, accessToken: token },
        }),
    );
    assertRateLimited(answer, { action: "connect", scope: "user", quota: 1 });
  });

  await t.step("reads per user: 429", async () => {
    const reader = await member(act, "viewer");
    await setLimit(stack, "read", { userId: reader.user }, 2);
    const read = () =>
      callKeepingRetryAfter(stack, reader.bearer, "ad-accounts", { method: "GET" });
    assert.equal((await read()).status, 200);
    assert.equal((await read()).status, 200);
    assertRateLimited(await read(), { action: "read", scope: "user", quota: 2 });
  });
});
