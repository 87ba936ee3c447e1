import assert from "node:assert/strict";
import { ADSET, CAMPAIGN, TOKEN, VERSION, withSim } from "./helpers.ts";

Deno.test("state: every object with parent, status, deleted flag, and counts", () =>
  withSim(async (h) => {
    await h.account();
    await h.account("act_2", { token: "t2" });
    const t = await h.tree();
    const extra = await h.create("adsets", { ...ADSET, name: "x", campaign_id: t.campaign });
    await h.graph("DELETE", extra);
    const state = await h.control("GET", "state?account=act_1");
    assert.equal(state.accounts.length, 1);
    assert.deepEqual(state.accounts[0].limits.adsPerAdset, 50);
    assert.deepEqual(
      state.objects.map((
        o: Record<string, unknown>,
      ) => [o.type, o.parentId, o.name, o.status, o.deleted]),
      [
        ["campaign", "act_1", "T c", "ACTIVE", false],
        ["adset", t.campaign, "T s", "ACTIVE", false],
        ["ad", t.adset, "T a", "ACTIVE", false],
        ["adset", t.campaign, "x", "DELETED", true],
      ],
    );
    assert.deepEqual(state.counts, {
      campaign: 1,
      adset: 1,
      ad: 1,
      deleted: { campaign: 0, adset: 1, ad: 0 },
      byParent: { act_1: { campaign: 1 }, [t.campaign]: { adset: 1 }, [t.adset]: { ad: 1 } },
    });
    const unknown = await fetch(`${h.url}/__sim/state?account=act_9`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  }));

Deno.test("status: changes on Meta's side show in reads; clock set and advance", () =>
  withSim(async (h) => {
    await h.account();
    const t = await h.tree();
    const changed = await h.control("POST", "status", { id: t.adset, status: "PAUSED" });
    assert.deepEqual(changed, { id: t.adset, status: "PAUSED", effectiveStatus: "PAUSED" });
    assert.equal(
      (await h.graph("GET", t.ad, { fields: "effective_status" })).body.effective_status,
      "ADSET_PAUSED",
    );
    const set = await h.control("POST", "clock", { now: "2026-12-01T00:00:00Z" });
    assert.match(set.now, /^2026-12-01T00:00:0/);
    const moved = await h.control("POST", "clock", { advanceSeconds: 3600 });
    assert.match(moved.now, /^2026-12-01T01:00:0/);
    const created = await h.create("campaigns", { ...CAMPAIGN, name: "later" });
    const read = await h.graph("GET", created, { fields: "created_time" });
    assert.match(read.body.created_time, /^2026-12-01T01:00:0\d\+0000$/);
  }));

Deno.test("requests log, and reset empties everything", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{ method: "GET", nth: 1, effect: { error: { code: 2 } } }]);
    await h.graph("GET", "act_1");
    await h.batch([{ method: "GET", relative_url: "act_1" }, {
      method: "GET",
      relative_url: "act_1",
    }]);
    const log = await h.control("GET", "requests");
    assert.equal(log.total, 2);
    assert.deepEqual(
      log.requests.map((
        r: Record<string, unknown>,
      ) => [r.method, r.path, r.status, r.batchSize, r.faults]),
      [
        ["GET", `/${VERSION}/act_1`, 500, null, [{ rule: 0, effect: "error" }]],
        ["POST", `/${VERSION}/`, 200, 2, []],
      ],
    );
    // The URL as received, query string included (the harness sends the token in it), and each
    // batch item's relative_url as sent.
    assert.equal(log.requests[0].url, `/${VERSION}/act_1?access_token=${TOKEN}`);
    assert.equal(log.requests[1].url, `/${VERSION}/`);
    assert.deepEqual(
      log.requests[1].items.map((i: { relativeUrl: string }) => i.relativeUrl),
      ["act_1", "act_1"],
    );
    assert.deepEqual(await h.control("POST", "reset"), { ok: true });
    const state = await h.control("GET", "state");
    assert.deepEqual([state.accounts, state.objects], [[], []]);
    assert.equal((await h.control("GET", "requests")).total, 0);
    assert.deepEqual((await h.control("GET", "faults")).rules, []);
    assert.equal((await h.graph("GET", "act_1")).body.error.code, 190, "the token is gone too");
  }));

Deno.test("latency is added to Graph answers", () =>
  withSim(async (h) => {
    await h.account();
    const t0 = performance.now();
    await h.graph("GET", "act_1");
    assert.ok(performance.now() - t0 >= 95);
  }, { latencyMs: 100 }));

Deno.test("an injected delay comes on top of the latency, which counts from arrival", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{ method: "GET", times: 1, effect: { delayMs: 200 } }]);
    const t0 = performance.now();
    await h.graph("GET", "act_1");
    assert.ok(performance.now() - t0 >= 295, "latency 100 ms plus a delay of 200 ms");
    const [logged] = (await h.control("GET", "requests")).requests;
    assert.equal(logged.delayedMs, 200);
  }, { latencyMs: 100 }));

Deno.test("simulators in one process are independent", () =>
  withSim((a) =>
    withSim(async (b) => {
      await a.account();
      assert.equal((await a.graph("GET", "act_1")).status, 200);
      assert.equal((await b.graph("GET", "act_1")).body.error.code, 190);
      assert.equal((await b.control("GET", "requests")).total, 1);
    })
  ));
