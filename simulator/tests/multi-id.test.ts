import assert from "node:assert/strict";
import { withSim } from "./helpers.ts";

Deno.test("multi-id read: ?ids= with fields, keyed by id", () =>
  withSim(async (h) => {
    await h.account();
    const t = await h.tree();
    const res = await h.graph("GET", "", {
      ids: `${t.campaign},${t.adset},act_1`,
      fields: "name,status",
    });
    assert.deepEqual(res.body, {
      [t.campaign]: { id: t.campaign, name: "T c", status: "ACTIVE" },
      [t.adset]: { id: t.adset, name: "T s", status: "ACTIVE" },
      act_1: { id: "act_1", name: "Simulated act_1" },
    });
    const inBatch = await h.batch([{ method: "GET", relative_url: `?ids=${t.ad}&fields=name` }]);
    assert.deepEqual(inBatch.items[0]?.body, { [t.ad]: { id: t.ad, name: "T a" } });
  }));

Deno.test("multi-id read: more than 50 ids, and missing ids, as Meta reports them", () =>
  withSim(async (h) => {
    await h.account();
    const t = await h.tree();
    const many = Array.from({ length: 51 }, (_, i) => String(1000 + i)).join(",");
    const tooMany = await h.graph("GET", "", { ids: many });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.error.message, "(#100) Too many IDs. Maximum: 50. Provided: 51.");
    const missing = await h.graph("GET", "", { ids: `${t.ad},123,456` });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 803);
    assert.match(missing.body.error.message, /do not exist: 123,456$/);
  }));
