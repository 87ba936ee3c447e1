// appsecret_proof never in a URL (proxies log URLs): on an account with an app secret, whose every
// request the simulated Meta refuses without the right proof, a connect, syncs with a final sync,
// and a launch all go through, and the simulator received not one GET and not one URL or batch
// item URL carrying the proof. A wrong app secret is refused by Meta, and nothing is stored.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { activeAccount, dayWithoutMetrics, launchBody, launched } from "../_support/launches.ts";
import { callFunction } from "../_support/refusals.ts";
import { nextAdAccountId, testWithStack } from "../_support/stack.ts";

type LoggedRequest = {
  method: string;
  url: string;
  status: number | null;
  items: { method: string; relativeUrl: string; code: number | null }[];
};

const appSecret = "the-app-secret-of-adrail";

testWithStack("appsecret_proof never in a URL", async (t, stack) => {
  const owner = await stack.createUser();
  const bearer = await signLocalUserJwt(owner);

  await t.step(
    "a connect, syncs, a final sync and a launch: the proof only in POST bodies",
    async () => {
      const meta = await activeAccount(stack, owner, { appSecret });
      const sync = (body: Record<string, unknown> = {}) =>
        callFunction(stack, bearer, "facebook-ads-sync", {
          body: { adAccountId: meta.id, ...body },
        });
      const first = await sync();
      assert.equal(first.status, 200, JSON.stringify(first.body));
      await stack.sim("/__sim/status", { id: meta.adA, status: "PAUSED" });
      const second = await sync({ since: dayWithoutMetrics, until: dayWithoutMetrics });
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(
        (second.body.finalSyncsUncovered as { completed: number }).completed,
        1,
        "the final sync read the ad's insights",
      );
      const jobId = await launched(stack, owner, launchBody(meta.id, "With proofs", 2));
      assert.equal(await stack.jobSettled(jobId), "completed");

      const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
      const items = requests.flatMap((r) => r.items);
      assert.ok(items.filter((i) => i.method === "GET").length >= 10, "reads were made");
      assert.deepEqual(
        requests.filter((r) => r.method !== "POST").map((r) => `${r.method} ${r.url}`),
        [],
        "no GET or DELETE: with a proof, every read goes as a batch",
      );
      assert.deepEqual(
        [...requests.map((r) => r.url), ...items.map((i) => i.relativeUrl)].filter((url) =>
          url.includes("appsecret_proof")
        ),
        [],
        "no URL carries the proof",
      );
      assert.deepEqual(
        [...requests.map((r) => r.status), ...items.map((i) => i.code)].filter((s) => s !== 200),
        [],
        "Meta, which requires the proof of this account, refused nothing",
      );
    },
  );

  await t.step("a wrong app secret: Meta refuses the proof, nothing is stored", async () => {
    const id = nextAdAccountId();
    const token = `EAAB-proof-${crypto.randomUUID()}`;
    await stack.sim("/__sim/accounts", { id, token, appSecret });
    const answer = await callFunction(stack, bearer, "ad-accounts", {
      body: { platformAccountId: id, accessToken: token, appSecret: "not-the-app-secret" },
    });
    assert.equal(answer.status, 422, JSON.stringify(answer.body));
    assert.match(
      (answer.body.meta as { message: string }).message,
      /Invalid appsecret_proof provided in the API argument/,
    );
    const [{ count }] = await stack.sql`
      select count(*)::int from public.ad_accounts where platform_account_id = ${id}`;
    assert.equal(count, 0);
    const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
    assert.equal(requests.at(-1)?.status, 400, "refused by Meta, as sent");
  });
});
