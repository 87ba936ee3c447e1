/**
 * Root multi-ID reads, as v25.0 served them before Meta removed them from every version on
 * 2026-10-27 (legacy.test.ts has the refusals).
 */

import assert from "node:assert/strict";
import { type Harness, withSim } from "./helpers.ts";

const BEFORE_REMOVAL = "2026-10-01T00:00:00Z";

/** A tree made on VERSION (today), then the clock set back to before the removal. */
async function setup(h: Harness) {
  await h.account();
  const tree = await h.tree();
  await h.control("POST", "clock", { now: BEFORE_REMOVAL });
  return tree;
}

Deno.test("multi-id read: ?ids= with fields, keyed by id, before its removal", () =>
  withSim(async (h) => {
    const t = await setup(h);
    const res = await h.graph("GET", "v25.0/", {
      ids: `${t.campaign},${t.adset},act_1`,
      fields: "name,status",
    });
    assert.deepEqual(res.body, {
      [t.campaign]: { id: t.campaign, name: "T c", status: "ACTIVE" },
      [t.adset]: { id: t.adset, name: "T s", status: "ACTIVE" },
      act_1: { id: "act_1", name: "Simulated act_1" },
    });
    const inBatch = await h.batch(
      [{ method: "GET", relative_url: `?ids=${t.ad}&fields=name` }],
      {},
      "v25.0/",
    );
    assert.deepEqual(inBatch.items[0]?.body, { [t.ad]: { id: t.ad, name: "T a" } });
  }));

Deno.test("multi-id read: more than 50 ids, and missing ids, as Meta reported them", () =>
  withSim(async (h) => {
    const t = await setup(h);
    const many = Array.from({ length: 51 }, (_, i) => String(1000 + i)).join(",");
    const tooMany = await h.graph("GET", "v25.0/", { ids: many });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.error.message, "(#100) Too many IDs. Maximum: 50. Provided: 51.");
    const missing = await h.graph("GET", "v25.0/", { ids: `${t.ad},123,456` });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 803);
    assert.match(missing.body.error.message, /do not exist: 123,456$/);
  }));
