import assert from "node:assert/strict";
import { CAMPAIGN, withSim } from "./helpers.ts";

Deno.test("usage headers come with ordinary answers", () =>
  withSim(async (h) => {
    await h.account();
    const res = await h.graph("GET", "act_1", { fields: "name" });
    const buc = JSON.parse(res.headers.get("x-business-use-case-usage")!);
    assert.deepEqual(Object.keys(buc), ["1"]);
    assert.equal(buc["1"][0].type, "ads_management");
    assert.equal(buc["1"][0].estimated_time_to_regain_access, 0);
    const acc = JSON.parse(res.headers.get("x-ad-account-usage")!);
    assert.equal(typeof acc.acc_id_util_pct, "number");
    assert.equal(acc.reset_time_duration, 0);
  }));

Deno.test("rateLimit: Meta's error and headers, a throttle window until the regain time", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([{ method: "POST", times: 1, effect: { rateLimit: { regainSeconds: 300 } } }]);
    const res = await h.graph("POST", "act_1/campaigns", { ...CAMPAIGN, name: "x" });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 80004);
    assert.equal(res.body.error.error_subcode, 2446079);
    assert.match(res.body.error.message, /too many calls to this ad-account/);
    const buc = JSON.parse(res.headers.get("x-business-use-case-usage")!)["1"][0];
    assert.equal(buc.estimated_time_to_regain_access, 5, "minutes");
    assert.equal(buc.call_count, 100);
    assert.equal(JSON.parse(res.headers.get("x-ad-account-usage")!).reset_time_duration, 300);

    const still = await h.graph("GET", "act_1");
    assert.equal(still.body.error.code, 80004, "throttled until the window passes");
    assert.equal((await h.control("GET", "requests")).requests.at(-1).throttled, true);
    await h.control("POST", "clock", { advanceSeconds: 301 });
    assert.equal((await h.graph("GET", "act_1")).status, 200);
  }));

Deno.test("rateLimit with another code, and regainSeconds 0 fails one call only", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([
      { method: "GET", nth: 1, effect: { rateLimit: { regainSeconds: 0, code: 17 } } },
      { method: "GET", nth: 2, effect: { rateLimit: { regainSeconds: 0, code: 613 } } },
    ]);
    const first = await h.graph("GET", "act_1");
    assert.deepEqual([first.body.error.code, first.body.error.error_subcode], [17, 2446079]);
    const second = await h.graph("GET", "act_1");
    assert.deepEqual([second.body.error.code, second.body.error.error_subcode], [613, 1487742]);
    assert.equal((await h.graph("GET", "act_1")).status, 200);
  }));
