// Completion webhooks, end to end: an owner sets a URL (checked) and gets the signing secret once;
// sync outcomes go to the outbox in their own transaction; pg_cron's webhook-deliverer delivers
// them, signed, to a receiver that fails at first: retried with backoff until delivered, none lost.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { activeAccount } from "../_support/launches.ts";
import { callFunction } from "../_support/refusals.ts";
import { testWithStack } from "../_support/stack.ts";
import {
  signatureHeader,
  verifyWebhookSignature,
} from "../../functions/_shared/webhooks/webhook-signature.ts";
import type { WebhookPayload } from "../../functions/_shared/webhooks/webhook-delivery.ts";

type Received = { signature: string | null; body: string; answered: number };

/** A receiver on this machine that answers 500 to its first `failures` requests, then 200. */
function receiver(failures: number) {
  const received: Received[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const answered = received.length < failures ? 500 : 200;
    received.push({
      signature: req.headers.get(signatureHeader),
      body: await req.text(),
      answered,
    });
    return new Response(answered === 200 ? "ok" : "try again", { status: answered });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/adrail`,
    received,
    close: () => server.shutdown(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

testWithStack("completion webhooks", async (t, stack) => {
  const owner = await stack.createUser();
  const stranger = await stack.createUser();
  const meta = await activeAccount(stack, owner);
  const ownerBearer = await signLocalUserJwt(owner);
  const setWebhook = async (bearer: string, url: string | null) =>
    await callFunction(stack, bearer, "ad-accounts/webhook", {
      body: { adAccountId: meta.id, url },
    });
  const hooks = receiver(2);
  let secret = "";

  try {
    await t.step(
      "a webhook URL must be https and not internal; only an owner sets it",
      async () => {
        for (
          const [url, reason] of [
            ["http://hooks.example.com/x", "must be https"],
            ["https://10.1.2.3/x", "must not name a loopback, private or link-local address"],
            ["https://169.254.169.254/latest/meta-data", "must not name a loopback"],
            ["https://[fd00::1]/x", "must not name a loopback"],
            ["https://167772161/x", "must not name a loopback"], // 10.0.0.1, written as a number
            ["https://metadata.google.internal/x", "must not name a loopback"],
            ["https://printer.local./x", "must not name a loopback"],
            ["https://user:pw@hooks.example.com/x", "must not hold credentials"],
            ["hooks.example.com", "is not a URL"],
          ]
        ) {
          const answer = await setWebhook(ownerBearer, url);
          assert.equal(answer.status, 400, url);
          const [issue] = answer.body.issues as { path: string; message: string }[];
          assert.equal(issue.path, "url", url);
          assert.ok(
            issue.message.startsWith(`the webhook URL ${reason}`),
            `${url}: ${issue.message}`,
          );
        }
        const strangers = await setWebhook(
          await signLocalUserJwt(stranger),
          "https://hooks.example.com/x",
        );
        assert.equal(strangers.status, 404, "another user's account is not found");
      },
    );

    await t.step(
      "the owner sets it: the secret is answered once and stored encrypted",
      async () => {
        const answer = await setWebhook(ownerBearer, hooks.url);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        secret = answer.body.secret as string;
        assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
        assert.equal(answer.body.url, hooks.url);
        assert.equal(answer.body.signatureHeader, "X-Adrail-Signature");
        const [stored] = await stack.sql`
        select webhook_url, webhook_secret_ciphertext from public.ad_accounts
        where platform_account_id = ${meta.id}`;
        assert.equal(stored.webhook_url, hooks.url);
        assert.match(stored.webhook_secret_ciphertext, /^v1:[0-9a-f]{8}:/);
        assert.ok(!stored.webhook_secret_ciphertext.includes(secret.slice(6)));
      },
    );

    await t.step(
      "sync outcomes reach a failing receiver: retried with backoff, then delivered, signed, none lost",
      async () => {
        await stack.sql`select public.set_webhook_retry_policy(1, 5)`;
        for (let i = 0; i < 2; i++) {
          const answer = await callFunction(stack, ownerBearer, "facebook-ads-sync", {
            body: { adAccountId: meta.id },
          });
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
        }
        const outbox = () =>
          stack.sql<{ event_id: string; status: string; attempts: number; event_type: string }[]>`
            select o.event_id, o.status, o.attempts, o.event_type from public.webhook_outbox o
            join public.ad_accounts a on a.id = o.ad_account_id
            where a.platform_account_id = ${meta.id} order by o.id`;
        const started = Date.now();
        while (Date.now() - started < 100_000) {
          const events = await outbox();
          if (events.length === 2 && events.every((e) => e.status === "delivered")) break;
          await sleep(500);
        }
        const events = await outbox();
        assert.deepEqual(events.map((e) => [e.event_type, e.status]), [
          ["sync.completed", "delivered"],
          ["sync.completed", "delivered"],
        ]);
        assert.equal(
          events.reduce((n, e) => n + e.attempts, 0),
          4,
          "two attempts answered 500, then each event once",
        );
        assert.equal(hooks.received.length, 4);
        assert.deepEqual(hooks.received.map((r) => r.answered).sort(), [200, 200, 500, 500]);
        const deliveredIds = hooks.received.filter((r) => r.answered === 200)
          .map((r) => (JSON.parse(r.body) as WebhookPayload).id).sort();
        assert.deepEqual(
          deliveredIds,
          events.map((e) => e.event_id).sort(),
          "every event delivered",
        );

        for (const { signature, body } of hooks.received) {
          assert.ok(
            await verifyWebhookSignature(secret, signature, body),
            "the signature verifies",
          );
          assert.ok(
            !await verifyWebhookSignature(secret, signature, body.replace("completed", "failed")),
          );
          assert.ok(!await verifyWebhookSignature(`${secret}x`, signature, body));
          assert.ok(
            !await verifyWebhookSignature(secret, signature, body, {
              nowSeconds: Math.floor(Date.now() / 1000) + 3600,
            }),
            "an old signature is refused (replay)",
          );
        }
        const payload = JSON.parse(hooks.received.at(-1)!.body) as WebhookPayload;
        assert.equal(payload.type, "sync.completed");
        assert.equal(payload.adAccountId, meta.id);
        assert.equal(payload.data.trigger, "user");
        assert.equal(
          (payload.data.report as { entities: { ads: number } }).entities.ads,
          2,
        );
        console.log(
          `two events delivered through two failures in ${(Date.now() - started) / 1000} s`,
        );
      },
    );

    await t.step("the dashboard view shows the account's deliveries", async () => {
      const [row] = await stack.sql`
        select webhook_set, pending::int, delivering::int, delivered::int, dead::int, last_error
        from public.webhook_deliveries where platform_account_id = ${meta.id}`;
      assert.deepEqual({ ...row }, {
        webhook_set: true,
        pending: 0,
        delivering: 0,
        delivered: 2,
        dead: 0,
        last_error: null,
      });
    });

    await t.step("a null URL removes the webhook: no more events", async () => {
      const answer = await setWebhook(ownerBearer, null);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.secret, undefined);
      const sync = await callFunction(stack, ownerBearer, "facebook-ads-sync", {
        body: { adAccountId: meta.id },
      });
      assert.equal(sync.status, 200);
      const [{ n }] = await stack.sql`
        select count(*)::int as n from public.webhook_outbox o
        join public.ad_accounts a on a.id = o.ad_account_id where a.platform_account_id = ${meta.id}`;
      assert.equal(n, 2);
    });
  } finally {
    await stack.sql`select public.set_webhook_retry_policy(30, 8)`;
    await hooks.close();
  }
});
