import assert from "node:assert/strict";
import { CAMPAIGN, TOKEN, VERSION, withSim } from "./helpers.ts";

Deno.test("ad account read with fields", () =>
  withSim(async (h) => {
    await h.account("act_1", { name: "Shop", currency: "EUR", spendCap: 500000, status: 3 });
    const res = await h.graph("GET", "act_1", {
      fields: "name,currency,account_status,spend_cap,amount_spent",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      id: "act_1",
      name: "Shop",
      currency: "EUR",
      account_status: 3,
      spend_cap: "500000",
      amount_spent: "0",
    });
  }));

Deno.test("create, read, update and delete campaigns, ad sets and ads", () =>
  withSim(async (h) => {
    await h.account();
    const { campaign, adset, ad } = await h.tree();
    assert.match(campaign, /^\d{15,}$/);
    assert.ok(BigInt(adset) > BigInt(campaign) && BigInt(ad) > BigInt(adset), "ids grow");

    const read = await h.graph("GET", ad, {
      fields: "name,status,effective_status,adset_id,campaign_id,creative",
    });
    assert.deepEqual(read.body, {
      id: ad,
      name: "T a",
      status: "ACTIVE",
      effective_status: "ACTIVE",
      adset_id: adset,
      campaign_id: campaign,
      creative: { id: "9" },
    });

    const upd = await h.graph("POST", campaign, { status: "PAUSED", name: "renamed" });
    assert.deepEqual(upd.body, { success: true });
    const child = await h.graph("GET", ad, { fields: "effective_status" });
    assert.equal(child.body.effective_status, "CAMPAIGN_PAUSED");

    const del = await h.graph("DELETE", campaign);
    assert.deepEqual(del.body, { success: true });
    const after = await h.graph("GET", campaign, { fields: "status,name" });
    assert.deepEqual(after.body, { id: campaign, status: "DELETED", name: "renamed" });
    const cascaded = await h.graph("GET", ad, { fields: "status" });
    assert.equal(cascaded.body.status, "DELETED", "deleting a campaign deletes its children");

    const again = await h.graph("DELETE", campaign);
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 100);
    assert.equal(again.body.error.error_subcode, 33);
  }));

Deno.test("unknown objects, unknown edges and tokens", () =>
  withSim(async (h) => {
    await h.account();
    await h.account("act_2", { token: "other" });
    const { campaign } = await h.tree();
    const missing = await h.graph("GET", "999", { fields: "name" });
    assert.equal(missing.body.error.type, "GraphMethodException");
    assert.equal(missing.body.error.error_subcode, 33);
    const foreign = await h.graph("GET", campaign, { fields: "name" }, "other");
    assert.equal(foreign.body.error.error_subcode, 33, "another account's token cannot see it");
    const edge = await h.graph("GET", `${campaign}/nothing`);
    assert.equal(edge.body.error.code, 2500);
    const noToken = await h.graph("GET", "act_1", {}, null);
    assert.equal(noToken.body.error.code, 104);
    const bad = await h.graph("GET", "act_1", {}, "nope");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 190);
    assert.equal(bad.body.error.type, "OAuthException");
    assert.ok(bad.headers.get("www-authenticate")?.includes("invalid_token"));
    const bearer = await fetch(`${h.url}/${VERSION}/act_1?fields=name`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal((await bearer.json()).name, "Simulated act_1");
  }));

Deno.test("JSON bodies are accepted as well as form bodies", () =>
  withSim(async (h) => {
    await h.account();
    const res = await fetch(`${h.url}/${VERSION}/act_1/campaigns`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ ...CAMPAIGN, name: "json" }),
    });
    const { id } = await res.json();
    const read = await h.graph("GET", id, { fields: "name,special_ad_categories,objective" });
    assert.deepEqual(read.body, {
      id,
      name: "json",
      special_ad_categories: [],
      objective: "OUTCOME_SALES",
    });
  }));
