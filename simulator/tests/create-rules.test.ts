/**
 * Contract: what creating a campaign, ad set or ad requires. Each refusal is the same as a plain
 * request, under validate_only (which creates nothing) and as a batch item (which leaves the
 * other items alone).
 */

import assert from "node:assert/strict";
import { AD, ADSET, CAMPAIGN, form, type Harness, type Values, withSim } from "./helpers.ts";

interface Parents {
  campaign: string;
  /** A campaign with a campaign budget (daily_budget on the campaign). */
  cboCampaign: string;
  adset: string;
  deletedCampaign: string;
  otherAccountCampaign: string;
}

interface Refusal {
  label: string;
  edge: "campaigns" | "adsets" | "ads";
  params: (p: Parents) => Values;
  message: string | RegExp;
  subcode?: number;
  user?: { title: string; msg: string };
}

const without = (values: Values, ...keys: string[]) =>
  Object.fromEntries(Object.entries(values).filter(([k]) => !keys.includes(k)));

const campaign = (extra: Values = {}) => ({ ...CAMPAIGN, name: "c", ...extra });
const adset = (p: Parents, extra: Values = {}) => ({
  ...ADSET,
  name: "s",
  campaign_id: p.campaign,
  ...extra,
});
const ad = (p: Parents, extra: Values = {}) => ({ ...AD, name: "a", adset_id: p.adset, ...extra });

const missingLocation = {
  title: "Missing Target Audience Location",
  msg: "Your audience is missing a location. You can add a location or a Custom Audience.",
};

const REFUSALS: Refusal[] = [
  {
    label: "campaign without name",
    edge: "campaigns",
    params: () => without(campaign(), "name"),
    message: "(#100) The parameter name is required",
  },
  {
    label: "campaign without objective",
    edge: "campaigns",
    params: () => without(campaign(), "objective"),
    message: "(#100) The parameter objective is required",
  },
  {
    label: "campaign with a legacy objective",
    edge: "campaigns",
    params: () => campaign({ objective: "LINK_CLICKS" }),
    message: "(#100) Param objective must be one of {OUTCOME_APP_PROMOTION, OUTCOME_AWARENESS, " +
      "OUTCOME_ENGAGEMENT, OUTCOME_LEADS, OUTCOME_SALES, OUTCOME_TRAFFIC}",
  },
  {
    label: "campaign without special_ad_categories",
    edge: "campaigns",
    params: () => without(campaign(), "special_ad_categories"),
    message: "(#100) The parameter special_ad_categories is required",
  },
  {
    label: "campaign with special_ad_categories not an array",
    edge: "campaigns",
    params: () => campaign({ special_ad_categories: "NONE" }),
    message: "(#100) Param special_ad_categories must be an array",
  },
  {
    label: "campaign with an unknown special ad category",
    edge: "campaigns",
    params: () => campaign({ special_ad_categories: ["HOUSING", "PETS"] }),
    message: /^\(#100\) Param special_ad_categories\[1\] must be one of \{NONE, EMPLOYMENT, /,
  },
  {
    label: "campaign with a status other than ACTIVE or PAUSED",
    edge: "campaigns",
    params: () => campaign({ status: "ARCHIVED" }),
    message: "(#100) Param status must be one of {ACTIVE, PAUSED}",
  },
  {
    label: "campaign (v24.0+) without campaign budget nor is_adset_budget_sharing_enabled",
    edge: "campaigns",
    params: () => without(campaign(), "is_adset_budget_sharing_enabled"),
    message: "Invalid parameter",
    subcode: 4834011,
    user: {
      title: "Must specify True or False in is_adset_budget_sharing_enabled field",
      msg: "You must specify True or False in the field is_adset_budget_sharing_enabled if you " +
        "are not using campaign budget. Passing in True will enable your ad sets to share 20% " +
        "of their budget to optimize overall performance.",
    },
  },
  {
    label: "ad set without name",
    edge: "adsets",
    params: (p) => without(adset(p), "name"),
    message: "(#100) The parameter name is required",
  },
  {
    label: "ad set without campaign_id",
    edge: "adsets",
    params: (p) => without(adset(p), "campaign_id"),
    message: "(#100) The parameter campaign_id is required",
  },
  {
    label: "ad set of a campaign that does not exist",
    edge: "adsets",
    params: (p) => adset(p, { campaign_id: "123" }),
    message: /^\(#100\) Param campaign_id: object with ID '123' does not exist/,
    subcode: 33,
  },
  {
    label: "ad set of a deleted campaign",
    edge: "adsets",
    params: (p) => adset(p, { campaign_id: p.deletedCampaign }),
    message: /object with ID '\d+' does not exist/,
    subcode: 33,
  },
  {
    label: "ad set of another account's campaign",
    edge: "adsets",
    params: (p) => adset(p, { campaign_id: p.otherAccountCampaign }),
    message: /object with ID '\d+' does not exist/,
    subcode: 33,
  },
  {
    label: "ad set without billing_event",
    edge: "adsets",
    params: (p) => without(adset(p), "billing_event"),
    message: "(#100) The parameter billing_event is required",
  },
  {
    label: "ad set with an unknown billing_event",
    edge: "adsets",
    params: (p) => adset(p, { billing_event: "VIEWS" }),
    message: /^\(#100\) Param billing_event must be one of \{APP_INSTALLS, CLICKS, IMPRESSIONS, /,
  },
  {
    label: "ad set without optimization_goal",
    edge: "adsets",
    params: (p) => without(adset(p), "optimization_goal"),
    message: "(#100) The parameter optimization_goal is required",
  },
  {
    label: "ad set with an unknown optimization_goal",
    edge: "adsets",
    params: (p) => adset(p, { optimization_goal: "SALES" }),
    message: /^\(#100\) Param optimization_goal must be one of \{/,
  },
  ...["abc", "0", "-5", "12.5", 0].map((budget): Refusal => ({
    label: `ad set with daily_budget ${JSON.stringify(budget)}`,
    edge: "adsets",
    params: (p) => adset(p, { daily_budget: budget }),
    message: "(#100) Param daily_budget must be a positive integer",
  })),
  {
    label: "ad set with lifetime_budget abc",
    edge: "adsets",
    params: (p) => adset(p, { daily_budget: undefined, lifetime_budget: "abc" }),
    message: "(#100) Param lifetime_budget must be a positive integer",
  },
  {
    // Meta's Node SDK passes such a body through untouched: Meta itself must refuse it.
    label: "ad set with daily_budget abc and no targeting",
    edge: "adsets",
    params: (p) => without(adset(p, { daily_budget: "abc" }), "targeting"),
    message: "(#100) Param daily_budget must be a positive integer",
  },
  {
    label: "ad set without targeting",
    edge: "adsets",
    params: (p) => without(adset(p), "targeting"),
    message: "(#100) The parameter targeting is required",
  },
  {
    label: "ad set with targeting not a JSON object",
    edge: "adsets",
    params: (p) => adset(p, { targeting: ["US"] }),
    message: "(#100) Param targeting must be a JSON object",
  },
  {
    label: "ad set with targeting but no location",
    edge: "adsets",
    params: (p) => adset(p, { targeting: { age_min: 18 } }),
    message: "Invalid parameter",
    subcode: 1885364,
    user: missingLocation,
  },
  {
    label: "ad set with empty geo_locations",
    edge: "adsets",
    params: (p) => adset(p, { targeting: { geo_locations: {} } }),
    message: "Invalid parameter",
    subcode: 1885364,
    user: missingLocation,
  },
  {
    label: "ad set without budget in a campaign without budget",
    edge: "adsets",
    params: (p) => without(adset(p), "daily_budget"),
    message: "(#100) The parameter daily_budget or lifetime_budget is required",
  },
  {
    label: "ad set with its own budget in a campaign with a campaign budget",
    edge: "adsets",
    params: (p) => adset(p, { campaign_id: p.cboCampaign }),
    message: "Invalid parameter",
    subcode: 1885621,
  },
  {
    label: "ad set with an unknown status",
    edge: "adsets",
    params: (p) => adset(p, { status: "RUNNING" }),
    message: "(#100) Param status must be one of {ACTIVE, PAUSED}",
  },
  {
    label: "ad without name",
    edge: "ads",
    params: (p) => without(ad(p), "name"),
    message: "(#100) The parameter name is required",
  },
  {
    label: "ad without adset_id",
    edge: "ads",
    params: (p) => without(ad(p), "adset_id"),
    message: "(#100) The parameter adset_id is required",
  },
  {
    label: "ad of something that is not an ad set",
    edge: "ads",
    params: (p) => ad(p, { adset_id: p.campaign }),
    message: /^\(#100\) Param adset_id: object with ID '\d+' does not exist/,
    subcode: 33,
  },
  {
    label: "ad without creative",
    edge: "ads",
    params: (p) => without(ad(p), "creative"),
    message: "(#100) The parameter creative is required",
  },
  {
    label: "ad with a creative that is not {creative_id}",
    edge: "ads",
    params: (p) => ad(p, { creative: { image: "y" } }),
    message: '(#100) Param creative must be an object like {"creative_id": "<id>"}',
  },
];

/** Two accounts on one token; act_1 has a campaign, a CBO campaign, an ad set, a deleted campaign. */
async function parents(h: Harness): Promise<Parents> {
  await h.account();
  await h.account("act_2");
  const campaign = await h.create("campaigns", campaign_("c"));
  const cboCampaign = await h.create("campaigns", {
    ...without(CAMPAIGN, "is_adset_budget_sharing_enabled"),
    name: "cbo",
    daily_budget: "5000",
  });
  const adsetId = await h.create("adsets", { ...ADSET, name: "s", campaign_id: campaign });
  const deletedCampaign = await h.create("campaigns", campaign_("gone"));
  await h.graph("DELETE", deletedCampaign);
  const otherAccountCampaign = await h.create("campaigns", campaign_("other"), "act_2");
  return { campaign, cboCampaign, adset: adsetId, deletedCampaign, otherAccountCampaign };
}
const campaign_ = (name: string) => ({ ...CAMPAIGN, name });

const objectCount = async (h: Harness) =>
  (await h.control("GET", "state")).objects.length as number;

function assertRefusal(body: { error: Record<string, unknown> }, r: Refusal, how: string) {
  const label = `${r.label} (${how}): ${JSON.stringify(body)}`;
  const e = body.error;
  assert.equal(e.code, 100, label);
  assert.equal(e.type, "OAuthException", label);
  assert.equal(e.is_transient, false, label);
  if (typeof r.message === "string") assert.equal(e.message, r.message, label);
  else assert.match(e.message as string, r.message, label);
  assert.equal(e.error_subcode, r.subcode, label);
  assert.equal(e.error_user_title, r.user?.title, label);
  assert.equal(e.error_user_msg, r.user?.msg, label);
}

Deno.test("create rules: each refusal, plain and under validate_only, creates nothing", () =>
  withSim(async (h) => {
    const p = await parents(h);
    const before = await objectCount(h);
    for (const r of REFUSALS) {
      const plain = await h.graph("POST", `act_1/${r.edge}`, r.params(p));
      assert.equal(plain.status, 400, r.label);
      assertRefusal(plain.body, r, "plain");
      const validated = await h.graph("POST", `act_1/${r.edge}`, {
        ...r.params(p),
        execution_options: ["validate_only"],
      });
      assert.equal(validated.status, 400, r.label);
      assertRefusal(validated.body, r, "validate_only");
    }
    assert.equal(await objectCount(h), before, "no refused create left anything behind");
  }));

Deno.test("create rules: a refused batch item fails alone, as it would plain or validate_only", () =>
  withSim(async (h) => {
    const p = await parents(h);
    for (const r of REFUSALS) {
      const before = await objectCount(h);
      const res = await h.batch([
        { method: "GET", relative_url: "act_1?fields=name" },
        { method: "POST", relative_url: `act_1/${r.edge}`, body: form(r.params(p)) },
        {
          method: "POST",
          relative_url: "act_1/campaigns",
          body: form(campaign({ name: r.label })),
        },
      ]);
      assert.deepEqual(res.items.map((i) => i?.code), [200, 400, 200], r.label);
      assertRefusal(res.items[1]!.body, r, "batch item");
      // Its own batch: one batch takes a single ad-set create per campaign.
      const validated = await h.batch([{
        method: "POST",
        relative_url: `act_1/${r.edge}`,
        body: form({ ...r.params(p), execution_options: ["validate_only"] }),
      }]);
      assertRefusal(validated.items[0]!.body, r, "validate_only batch item");
      assert.equal(await objectCount(h), before + 1, `${r.label}: only the valid create is kept`);
    }
  }));

Deno.test("create rules: what Meta accepts", () =>
  withSim(async (h) => {
    const p = await parents(h);
    const accepted: [string, Values][] = [
      ["campaigns", campaign({ special_ad_categories: ["NONE"], status: "PAUSED" })],
      ["campaigns", campaign({ special_ad_categories: "[]" })],
      ["campaigns", campaign({ is_adset_budget_sharing_enabled: "True" })],
      // With a campaign budget the sharing flag is not needed.
      ["campaigns", {
        ...without(campaign(), "is_adset_budget_sharing_enabled"),
        lifetime_budget: 9,
      }],
      ["adsets", adset(p, { daily_budget: "2500" })],
      ["adsets", adset(p, { daily_budget: undefined, lifetime_budget: 100000 })],
      ["adsets", { ...without(adset(p), "daily_budget"), campaign_id: p.cboCampaign }],
      ["ads", ad(p, { status: "PAUSED" })],
    ];
    for (const [edge, params] of accepted) {
      const validated = await h.graph("POST", `act_1/${edge}`, {
        ...params,
        execution_options: ["validate_only"],
      });
      assert.deepEqual(validated.body, { success: true }, JSON.stringify(params));
      const res = await h.graph("POST", `act_1/${edge}`, params);
      assert.equal(
        res.status,
        200,
        `${edge} ${JSON.stringify(params)}: ${JSON.stringify(res.body)}`,
      );
    }
  }));

Deno.test("create rules: is_adset_budget_sharing_enabled is required from v24.0 only", () =>
  withSim(async (h) => {
    await h.control("POST", "clock", { now: "2026-11-30T12:00:00Z" });
    await h.account();
    const body = without(campaign(), "is_adset_budget_sharing_enabled");
    for (const version of ["v21.0", "v23.0"]) {
      assert.equal((await h.graph("POST", `${version}/act_1/campaigns`, body)).status, 200);
    }
    for (const version of ["v24.0", "v27.0"]) {
      const res = await h.graph("POST", `${version}/act_1/campaigns`, body);
      assert.equal(res.body.error.error_subcode, 4834011, version);
    }
  }));
