/**
 * Contract: the legacy protocol features Meta removed are refused on v26.0+ calls, and on every
 * version from 2026-10-27; before that, older versions still take them.
 */

import assert from "node:assert/strict";
import { servedVersions } from "../versions.ts";
import { type GraphAnswer, type Harness, VERSION, withSim } from "./helpers.ts";

type Tree = { campaign: string; adset: string; ad: string };

interface Feature {
  name: string;
  call: (h: Harness, version: string, t: Tree) => Promise<GraphAnswer>;
  refusal: RegExp;
  /** The status while the feature still works (the simulator does not serve async batches). */
  before: number;
}

const FEATURES: Feature[] = [
  {
    name: "root multi-ID read",
    call: (h, v, t) => h.graph("GET", `${v}/`, { ids: `${t.campaign},${t.ad}`, fields: "name" }),
    refusal: /Root requests using GET \/\?ids=\.\.\. return an error/,
    before: 200,
  },
  {
    name: "HTTP method override",
    call: (h, v, t) => h.graph("GET", `${v}/${t.campaign}`, { method: "POST", name: "renamed" }),
    refusal: /method override/,
    before: 200,
  },
  {
    name: "field alias",
    call: (h, v, t) => h.graph("GET", `${v}/${t.ad}`, { fields: "id,name.as(title)" }),
    refusal: /Field aliases/,
    before: 200,
  },
  {
    name: "date_format",
    call: (h, v, t) => h.graph("GET", `${v}/${t.ad}`, { fields: "created_time", date_format: "U" }),
    refusal: /date_format/,
    before: 200,
  },
  {
    name: "JSONP callback",
    call: (h, v) => h.graph("GET", `${v}/act_1`, { fields: "name", callback: "cb" }),
    refusal: /JSONP/,
    before: 200,
  },
  {
    name: "async_batch_requests",
    call: (h, v) =>
      h.graph("POST", `${v}/act_1/async_batch_requests`, {
        adbatch: [{ name: "x", relative_url: "act_1/campaigns" }],
      }),
    refusal: /Asynchronous batch requests/,
    before: 400,
  },
];

/** The tree is made today (helpers' VERSION), then the clock is set to `now`. */
async function setup(h: Harness, now: string): Promise<Tree> {
  await h.account();
  const tree = await h.tree();
  await h.control("POST", "clock", { now });
  return tree;
}

function assertRefused(res: GraphAnswer, feature: Feature, when: string) {
  const label = `${feature.name} ${when}: ${JSON.stringify(res.body)}`;
  assert.equal(res.status, 400, label);
  assert.equal(res.body.error.code, 100, label);
  assert.equal(res.body.error.type, "OAuthException", label);
  assert.match(res.body.error.message, feature.refusal, label);
}

Deno.test("legacy: v26.0+ refuses every removed feature before 2026-10-27; v25.0 takes them", () =>
  withSim(async (h) => {
    const t = await setup(h, "2026-10-01T00:00:00Z");
    for (const feature of FEATURES) {
      assertRefused(await feature.call(h, "v26.0", t), feature, "on v26.0");
      const older = await feature.call(h, "v25.0", t);
      assert.equal(older.status, feature.before, `${feature.name} on v25.0`);
    }
    const async = await FEATURES.at(-1)!.call(h, "v25.0", t);
    assert.equal(async.body.error.code, 2500, "async batches are not simulated");
  }));

Deno.test("legacy: from 2026-10-27 every version refuses them (v25.0 and v21.0 shown)", () =>
  withSim(async (h) => {
    const t = await setup(h, "2026-10-26T23:59:59Z");
    for (const feature of FEATURES) {
      assert.equal((await feature.call(h, "v25.0", t)).status, feature.before, feature.name);
    }
    await h.control("POST", "clock", { now: "2026-10-27T00:00:00Z" });
    for (const feature of FEATURES) {
      assertRefused(await feature.call(h, "v25.0", t), feature, "on v25.0");
      assertRefused(await feature.call(h, "v21.0", t), feature, "on v21.0");
    }
  }));

Deno.test("legacy: the default clock is past the removal, so every version refuses ?ids=", () =>
  withSim(async (h) => {
    await h.account();
    const t = await h.tree();
    for (const version of [servedVersions(Date.now())[0].version, VERSION]) {
      assertRefused(await FEATURES[0].call(h, version, t), FEATURES[0], `on ${version}`);
    }
  }));

Deno.test("legacy: a refused item fails alone inside a batch", () =>
  withSim(async (h) => {
    await h.account();
    const t = await h.tree();
    const res = await h.batch([
      { method: "GET", relative_url: `?ids=${t.ad}&fields=name` },
      { method: "GET", relative_url: `${t.ad}?fields=name` },
      { method: "GET", relative_url: `${t.campaign}?method=DELETE` },
      { method: "GET", relative_url: `${t.campaign}/ads?fields=name` },
    ]);
    assert.deepEqual(res.items.map((i) => i?.code), [400, 200, 400, 200]);
    assert.match(res.items[0]?.body.error.message, /Use per-object requests or supported batching/);
    assert.match(res.items[2]?.body.error.message, /method override/);
    assert.deepEqual(res.items[3]?.body.data, [{ id: t.ad, name: "T a" }]);
    const envelope = await h.batch([{ method: "GET", relative_url: "act_1" }], { callback: "cb" });
    assert.equal(envelope.body.error.code, 100, "the envelope's own parameters are checked");
  }));

Deno.test("legacy: before its removal a method override is honoured", () =>
  withSim(async (h) => {
    const t = await setup(h, "2026-10-01T00:00:00Z");
    const renamed = await h.graph("GET", `v25.0/${t.campaign}`, { method: "POST", name: "new" });
    assert.deepEqual(renamed.body, { success: true });
    const deleted = await h.graph("GET", `v25.0/${t.ad}`, { method: "DELETE" });
    assert.deepEqual(deleted.body, { success: true });
    const state = await h.control("GET", "state?account=act_1");
    const byId = (id: string) => state.objects.find((o: { id: string }) => o.id === id);
    assert.equal(byId(t.campaign).name, "new");
    assert.equal(byId(t.ad).status, "DELETED");
  }));
