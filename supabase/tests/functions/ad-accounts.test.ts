// ad-accounts over real HTTP: supabase-js -> local functions server -> the real function ->
// the Graph API simulator and the real database.
import assert from "node:assert/strict";
import { invokeResult, nextAdAccountId, type TestStack, testWithStack } from "../_support/stack.ts";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { decryptSecret, secretSlots } from "../../functions/_shared/platform/token-crypto.ts";

/** A fresh ad account on the simulated Meta, with the token that may use it. */
async function metaAccount(stack: TestStack, options: { appSecret?: string } = {}) {
  const id = nextAdAccountId();
  const token = `EAAB-test-token-${crypto.randomUUID()}`;
  await stack.sim("/__sim/accounts", {
    id,
    token,
    name: `Account ${id}`,
    currency: "EUR",
    ...options,
  });
  return { id, token };
}

/** The same, with fetch: supabase-js does not show an answer's headers. */
async function connectRaw(stack: TestStack, userId: string, body: unknown) {
  const jwt = await signLocalUserJwt(userId);
  const response = await fetch(`${stack.functions.url}/functions/v1/ad-accounts`, {
    method: "POST",
    headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function connect(stack: TestStack, userId: string, body: unknown) {
  const client = await stack.clientFor(userId);
  return await invokeResult(
    await client.functions.invoke("ad-accounts", { body: body as Record<string, unknown> }),
  );
}

testWithStack("ad-accounts", async (t, stack) => {
  const owner = await stack.createUser();
  const stranger = await stack.createUser();

  await t.step("401 without a JWT, with the anon key, or with a forged JWT", async () => {
    // The anon key is a valid JWT of the project: the gateway lets it through, adrail refuses it.
    const meta = await metaAccount(stack);
    const anon = await stack.anonClient();
    const anonAnswer = await invokeResult(
      await anon.functions.invoke("ad-accounts", {
        body: { platformAccountId: meta.id, accessToken: meta.token },
      }),
    );
    assert.equal(anonAnswer.status, 401);
    assert.equal(anonAnswer.body.error, "unauthorized");

    const forged = await fetch(`${stack.functions.url}/functions/v1/ad-accounts`, {
      headers: {
        Authorization:
          "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImF1dGhlbnRpY2F0ZWQifQ.c2ln",
      },
    });
    // A forged JWT, or none, never reaches adrail: Supabase's gateway answers (verify_jwt).
    assert.equal(forged.status, 401);
    assert.deepEqual(await forged.json(), { code: 401, message: "Invalid JWT" });

    const none = await fetch(`${stack.functions.url}/functions/v1/ad-accounts`);
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { code: 401, message: "Missing authorization header" });
  });

  await t.step("400 with zod's field paths on a bad body", async () => {
    const answer = await connect(stack, owner, { platformAccountId: "123", accessToken: "short" });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, "invalid_body");
    const paths = (answer.body.issues as { path: string }[]).map((i) => i.path).sort();
    assert.deepEqual(paths, ["accessToken", "platformAccountId"]);
  });

  await t.step("422 when Meta rejects the token, and nothing stored", async () => {
    const meta = await metaAccount(stack);
    const answer = await connect(stack, owner, {
      platformAccountId: meta.id,
      accessToken: "EAAB-not-the-right-token",
    });
    assert.equal(answer.status, 422);
    assert.equal(answer.body.error, "meta_rejected");
    assert.equal((answer.body.meta as { code: number }).code, 190);
    const [{ count }] = await stack
      .sql`select count(*)::int from public.ad_accounts where platform_account_id = ${meta.id}`;
    assert.equal(count, 0);
  });

  await t.step(
    "201: the caller becomes owner and the token is stored only as ciphertext",
    async () => {
      const meta = await metaAccount(stack);
      const answer = await connect(stack, owner, {
        platformAccountId: meta.id,
        accessToken: meta.token,
      });
      assert.equal(answer.status, 201);
      assert.equal(answer.body.platformAccountId, meta.id);
      assert.equal(answer.body.name, `Account ${meta.id}`);
      assert.equal(answer.body.accountStatus, 1);
      assert.deepEqual(answer.body.limits, { campaigns: 5000, adSets: 5000, ads: 5000 });
      assert.ok(!JSON.stringify(answer.body).includes(meta.token), "the token is never returned");

      const [row] = await stack.sql`
      select a.access_token_ciphertext, m.role from public.ad_accounts a
      join public.ad_account_members m on m.ad_account_id = a.id and m.user_id = ${owner}
      where a.platform_account_id = ${meta.id}`;
      assert.equal(row.role, "owner");
      assert.ok(!row.access_token_ciphertext.includes(meta.token));
      assert.equal(
        await decryptSecret(
          row.access_token_ciphertext,
          secretSlots("facebook", meta.id).accessToken,
        ),
        meta.token,
      );

      const again = await connect(stack, owner, {
        platformAccountId: meta.id,
        accessToken: meta.token,
      });
      assert.equal(again.status, 200, "its owner connecting again replaces the token");
      assert.equal(again.body.id, answer.body.id);
    },
  );

  await t.step("appsecret_proof is sent when an app secret is given", async () => {
    const meta = await metaAccount(stack, { appSecret: "app-secret-1234" });
    const wrong = await connect(stack, owner, {
      platformAccountId: meta.id,
      accessToken: meta.token,
      appSecret: "not-the-secret",
    });
    assert.equal(wrong.status, 422);
    const right = await connect(stack, owner, {
      platformAccountId: meta.id,
      accessToken: meta.token,
      appSecret: "app-secret-1234",
    });
    assert.equal(right.status, 201);
  });

  await t.step(
    "a transient Meta error is retried; one that persists, or a rate limit, is 503 with Retry-After",
    async () => {
      const meta = await metaAccount(stack);
      const path = `/${meta.id}$`;
      await stack.sim("/__sim/faults", {
        rules: [{ path, times: 1, effect: { error: { code: 2, transient: true, status: 503 } } }],
      });
      assert.equal(
        (await connect(stack, owner, { platformAccountId: meta.id, accessToken: meta.token }))
          .status,
        201,
      );

      const other = await metaAccount(stack);
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `/${other.id}$`,
          effect: { error: { code: 2, transient: true, status: 503 } },
        }],
      });
      const answer = await connectRaw(stack, owner, {
        platformAccountId: other.id,
        accessToken: other.token,
      });
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get("Retry-After"), "30");
      assert.equal(answer.body.error, "meta_unavailable");
      assert.equal(answer.body.retryAfterSeconds, 30);

      const throttled = await metaAccount(stack);
      await stack.sim("/__sim/faults", {
        rules: [{
          path: `/${throttled.id}$`,
          times: 1,
          effect: { rateLimit: { regainSeconds: 300 } },
        }],
      });
      const limited = await connectRaw(stack, owner, {
        platformAccountId: throttled.id,
        accessToken: throttled.token,
      });
      await stack.sim("/__sim/faults", { rules: [] });
      assert.equal(limited.status, 503, "a rate limit is no verdict on the token");
      assert.equal(limited.headers.get("Retry-After"), "300", "Meta's own wait");
      assert.equal((limited.body.meta as { class: string }).class, "RATE_LIMIT");
      const [{ count }] = await stack.sql`
        select count(*)::int from public.ad_accounts
        where platform_account_id in (${other.id}, ${throttled.id})`;
      assert.equal(count, 0, "nothing stored");
    },
  );

  await t.step(
    "401 for a validly signed JWT whose user no longer exists, and nothing stored",
    async () => {
      const meta = await metaAccount(stack);
      const answer = await connect(stack, crypto.randomUUID(), {
        platformAccountId: meta.id,
        accessToken: meta.token,
      });
      assert.equal(answer.status, 401);
      const [{ count }] = await stack
        .sql`select count(*)::int from public.ad_accounts where platform_account_id = ${meta.id}`;
      assert.equal(count, 0);
    },
  );

  await t.step("404 for a route the function does not have", async () => {
    const client = await stack.clientFor(owner);
    const answer = await invokeResult(
      await client.functions.invoke("ad-accounts/nope", { method: "GET" }),
    );
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error, "not_found");
  });

  await t.step("GET lists the caller's accounts only", async () => {
    const ownerClient = await stack.clientFor(owner);
    const mine = await invokeResult(
      await ownerClient.functions.invoke("ad-accounts", { method: "GET" }),
    );
    assert.equal(mine.status, 200);
    assert.ok((mine.body.accounts as unknown[]).length >= 2);

    const strangerClient = await stack.clientFor(stranger);
    const theirs = await invokeResult(
      await strangerClient.functions.invoke("ad-accounts", { method: "GET" }),
    );
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body.accounts, []);
  });
});
