import assert from "node:assert/strict";
import { CAMPAIGN, form, VERSION, withSim } from "./helpers.ts";

const newCampaign = { ...CAMPAIGN, name: "c" };

Deno.test("fault error: code, subcode, transient, status; nth and times", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([
      {
        method: "POST",
        path: "^/act_\\d+/campaigns$",
        nth: 2,
        effect: { error: { code: 1, subcode: 99 } },
      },
      { method: "GET", times: 1, effect: { error: { code: 190, status: 401 } } },
    ]);
    assert.equal((await h.graph("POST", "act_1/campaigns", newCampaign)).status, 200);
    const second = await h.graph("POST", "act_1/campaigns", newCampaign);
    assert.equal(second.status, 500);
    assert.deepEqual({ ...second.body.error, fbtrace_id: "x" }, {
      message: "An unknown error occurred",
      type: "OAuthException",
      code: 1,
      error_subcode: 99,
      is_transient: true,
      fbtrace_id: "x",
    });
    assert.equal(
      (await h.graph("POST", "act_1/campaigns", newCampaign)).status,
      200,
      "nth fires once",
    );
    const auth = await h.graph("GET", "act_1");
    assert.equal(auth.status, 401);
    assert.equal((await h.graph("GET", "act_1")).status, 200, "times: 1");
    const rules = (await h.control("GET", "faults")).rules;
    assert.deepEqual(rules.map((r: { matched: number; fired: number }) => [r.matched, r.fired]), [[
      3,
      1,
    ], [2, 1]]);
  }));

Deno.test("fault every and probability are deterministic for a seed", async () => {
  const pattern = (seed: number, faultSeed?: number) => {
    let out = "";
    return withSim(async (h) => {
      await h.account();
      await h.faults([{ method: "GET", probability: 0.5, effect: { error: { code: 2 } } }]);
      for (let i = 0; i < 16; i++) {
        out += (await h.graph("GET", "act_1")).status === 200 ? "." : "x";
      }
    }, { seed, faultSeed }).then(() => out);
  };
  const a = await pattern(11), b = await pattern(11), c = await pattern(12);
  assert.equal(a, b);
  assert.notEqual(a, c);
  // A fault seed of its own: other ids, the same storm (the benchmark's reruns).
  assert.equal(await pattern(99, 11), a);
  assert.notEqual(await pattern(11, 12), a);
  assert.match(a, /x/);
  assert.match(a, /\./);
  await withSim(async (h) => {
    await h.account();
    await h.faults([{ every: 3, effect: { error: { code: 2 } } }]);
    let out = "";
    for (let i = 0; i < 6; i++) out += (await h.graph("GET", "act_1")).status === 200 ? "." : "x";
    assert.equal(out, "..x..x");
  });
});

Deno.test("applyThenDrop: the write is applied, the client's fetch rejects", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{ method: "POST", path: "/campaigns$", effect: { applyThenDrop: true } }]);
    await assert.rejects(
      fetch(`${h.url}/${VERSION}/act_1/campaigns`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form({ ...CAMPAIGN, access_token: "token-1", name: "lost" }),
      }),
      TypeError,
    );
    const state = await h.control("GET", "state?account=act_1");
    assert.deepEqual(state.objects.map((o: { name: string }) => o.name), ["lost"]);
    const log = await h.control("GET", "requests");
    assert.equal(log.requests[0].dropped, true);
    assert.equal(log.requests[0].status, null);
  }));

Deno.test("silentSuccess: an id comes back, nothing is stored", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{ method: "POST", times: 1, effect: { silentSuccess: true } }]);
    const res = await h.graph("POST", "act_1/campaigns", newCampaign);
    assert.match(res.body.id, /^\d+$/);
    assert.equal((await h.control("GET", "state?account=act_1")).objects.length, 0);
    const read = await h.graph("GET", res.body.id, { fields: "name" });
    assert.equal(read.body.error.error_subcode, 33);
  }));

Deno.test("delayMs delays the answer; suspendAccount disables the account from then on", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([
      { method: "GET", times: 1, effect: { delayMs: 150 } },
      { method: "POST", match: "name=suspend", effect: { suspendAccount: true } },
    ]);
    const t0 = performance.now();
    assert.equal((await h.graph("GET", "act_1")).status, 200);
    assert.ok(performance.now() - t0 >= 140);
    const res = await h.graph("POST", "act_1/campaigns", { ...CAMPAIGN, name: "suspend" });
    assert.equal(res.body.error.code, 200);
    assert.equal(
      (await h.graph("GET", "act_1", { fields: "account_status" })).body.account_status,
      2,
    );
    assert.equal((await h.graph("POST", "act_1/campaigns", newCampaign)).body.error.code, 200);
  }));

Deno.test("a rule with a path that matches / applies to the batch envelope itself", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{
      method: "POST",
      path: "^/$",
      times: 1,
      effect: { error: { code: 2, status: 503 } },
    }]);
    const item = {
      method: "POST",
      relative_url: "act_1/campaigns",
      body: form({ ...CAMPAIGN, name: "x" }),
    };
    const res = await h.batch([item]);
    assert.equal(res.status, 503);
    const again = await h.batch([item]);
    assert.equal(again.items[0]?.code, 200);
  }));

Deno.test("invalid fault rules are refused with the zod issues", async () => {
  await withSim(async (h) => {
    const res = await fetch(`${h.url}/__sim/faults`, {
      method: "POST",
      body: JSON.stringify({ rules: [{ nth: 1, every: 2, effect: { explode: true } }] }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error, "invalid_body");
    assert.ok(body.issues.length >= 1);
  });
});
