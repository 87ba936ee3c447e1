import assert from "node:assert/strict";
import { AD, ADSET, CAMPAIGN, withSim } from "./helpers.ts";

Deno.test("per-account and per-parent object limits answer Meta's error", () =>
  withSim(async (h) => {
    await h.account("act_1", { limits: { campaigns: 2, adsetsPerCampaign: 2, adsPerAdset: 1 } });
    const c1 = await h.create("campaigns", { ...CAMPAIGN, name: "c1" });
    await h.create("campaigns", { ...CAMPAIGN, name: "c2" });
    const third = await h.graph("POST", "act_1/campaigns", { ...CAMPAIGN, name: "c3" });
    assert.equal(third.status, 400);
    assert.equal(third.body.error.code, 100);
    assert.match(third.body.error.message, /maximum number of campaigns in this ad account \(2\)/);

    const s1 = await h.create("adsets", { ...ADSET, name: "s1", campaign_id: c1 });
    const s2 = await h.create("adsets", { ...ADSET, name: "s2", campaign_id: c1 });
    const s3 = await h.graph("POST", "act_1/adsets", { ...ADSET, name: "s3", campaign_id: c1 });
    assert.match(s3.body.error.message, /ad sets in this campaign \(2\)/);

    await h.create("ads", { ...AD, name: "a1", adset_id: s1 });
    const a2 = await h.graph("POST", "act_1/ads", { ...AD, name: "a2", adset_id: s1 });
    assert.match(a2.body.error.message, /ads in this ad set \(1\)/);
    await h.create("ads", { ...AD, name: "a3", adset_id: s2 });

    // Deleted and archived objects no longer count.
    await h.graph("POST", s2, { status: "ARCHIVED" });
    await h.create("adsets", { ...ADSET, name: "s4", campaign_id: c1 });
  }));

Deno.test("validate_only validates and creates nothing", () =>
  withSim(async (h) => {
    await h.account("act_1", { limits: { campaigns: 1 } });
    const ok = await h.graph("POST", "act_1/campaigns", {
      ...CAMPAIGN,
      name: "v",
      execution_options: ["validate_only"],
    });
    assert.deepEqual(ok.body, { success: true });
    assert.equal((await h.control("GET", "state?account=act_1")).objects.length, 0);
    const invalid = await h.graph("POST", "act_1/campaigns", {
      ...CAMPAIGN,
      execution_options: ["validate_only"],
    });
    assert.match(invalid.body.error.message, /name is required/);
    await h.create("campaigns", { ...CAMPAIGN, name: "real" });
    const full = await h.graph("POST", "act_1/campaigns", {
      ...CAMPAIGN,
      name: "v",
      execution_options: ["validate_only"],
    });
    assert.match(
      full.body.error.message,
      /maximum number of campaigns/,
      "limits are validated too",
    );
  }));

Deno.test("an account that is not active takes no writes but can be read", () =>
  withSim(async (h) => {
    await h.account("act_1", { status: 2 });
    const write = await h.graph("POST", "act_1/campaigns", { ...CAMPAIGN, name: "x" });
    assert.equal(write.body.error.code, 200);
    const read = await h.graph("GET", "act_1", { fields: "account_status" });
    assert.equal(read.body.account_status, 2);
    await h.control("POST", "status", { id: "act_1", status: 1 });
    await h.create("campaigns", { ...CAMPAIGN, name: "x" });
  }));
