/** Contract: which /vNN.N/ versions are served on the simulator's clock, and Meta's refusals. */

import assert from "node:assert/strict";
import { servedVersions } from "../versions.ts";
import { type Harness, TOKEN, withSim } from "./helpers.ts";

const ON = "2026-11-30T12:00:00Z";

async function at(h: Harness, now: string) {
  await h.control("POST", "clock", { now });
  await h.account();
}

Deno.test("versions: v21.0 to v27.0 are served on 2026-11-30, each by its own path", () =>
  withSim(async (h) => {
    await at(h, ON);
    const served = servedVersions(Date.parse(ON)).map((v) => v.version);
    assert.deepEqual(served, ["v21.0", "v22.0", "v23.0", "v24.0", "v25.0", "v26.0", "v27.0"]);
    for (const version of served) {
      const res = await h.graph("GET", `${version}/act_1`, { fields: "name" });
      assert.equal(res.status, 200, `${version}: ${JSON.stringify(res.body)}`);
      const batch = await h.graph("POST", `${version}/`, {
        batch: [{ method: "GET", relative_url: "act_1?fields=name" }],
      });
      assert.equal(batch.body[0].code, 200, version);
    }
  }));

Deno.test("versions: a retired version answers Meta's #2635, naming the latest version", () =>
  withSim(async (h) => {
    await at(h, ON);
    for (const version of ["v20.0", "v16.0", "v12.0"]) {
      const res = await h.graph("GET", `${version}/act_1`, { fields: "name" });
      assert.equal(res.status, 400, version);
      assert.deepEqual({ ...res.body.error, fbtrace_id: "x" }, {
        message: "(#2635) You are calling a deprecated version of the Ads API. " +
          "Please update to the latest version: v27.0.",
        type: "OAuthException",
        code: 2635,
        is_transient: false,
        fbtrace_id: "x",
      });
    }
    // The same version is refused once the clock passes its retirement.
    await h.control("POST", "clock", { now: "2027-01-21T00:00:00Z" });
    const retired = await h.graph("GET", "v21.0/act_1");
    assert.equal(retired.body.error.code, 2635);
    assert.equal((await h.graph("GET", "v22.0/act_1")).status, 200);
  }));

Deno.test("versions: an unknown or not yet released version is an unknown path (2500)", () =>
  withSim(async (h) => {
    await at(h, ON);
    for (const version of ["v28.0", "v21.5", "v99.0"]) {
      const res = await h.graph("GET", `${version}/act_1/campaigns`);
      assert.equal(res.status, 400, version);
      assert.equal(res.body.error.code, 2500);
      assert.equal(res.body.error.message, "Unknown path components: /act_1/campaigns");
    }
    const bare = await h.graph("GET", "v28.0/");
    assert.deepEqual([bare.body.error.code, bare.body.error.error_subcode], [100, 33]);
    // v27.0 did not exist before its release.
    await h.control("POST", "clock", { now: "2026-11-03T00:00:00Z" });
    assert.equal((await h.graph("GET", "v27.0/act_1")).body.error.code, 2500);
    assert.equal((await h.graph("GET", "v26.0/act_1")).status, 200);
  }));

Deno.test("versions: a batch item runs as its own version, else as its envelope's", () =>
  withSim(async (h) => {
    await at(h, ON);
    const res = await h.graph("POST", "v27.0/", {
      batch: [
        { method: "GET", relative_url: "v20.0/act_1" },
        { method: "GET", relative_url: "v28.0/act_1" },
        { method: "GET", relative_url: "act_1" },
      ],
    });
    assert.deepEqual(res.body.map((i: { code: number }) => i.code), [400, 400, 200]);
    assert.equal(JSON.parse(res.body[0].body).error.code, 2635);
    assert.equal(JSON.parse(res.body[1].body).error.code, 2500);
    const retiredEnvelope = await h.graph("POST", "v20.0/", {
      batch: [{ method: "GET", relative_url: "act_1" }],
    });
    assert.equal(retiredEnvelope.body.error.code, 2635, "the envelope's version is checked too");
  }));

Deno.test("versions: an unversioned call runs as the oldest version served", () =>
  withSim(async (h) => {
    await at(h, ON);
    const t = await h.tree();
    // Before the legacy removal date only v26.0+ refuse ?ids=; unversioned = v21.0 serves it.
    await h.control("POST", "clock", { now: "2026-10-01T00:00:00Z" });
    const res = await fetch(`${h.url}/?ids=${t.ad}&fields=name&access_token=${TOKEN}`);
    assert.deepEqual(await res.json(), { [t.ad]: { id: t.ad, name: "T a" } });
  }));
