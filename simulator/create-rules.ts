/**
 * What creating a campaign, ad set or ad requires, one ordered list of rules per type; the first
 * rule that fails is the answer. Plain creates, batch items and validate_only all run them.
 * Required fields: Marketing API reference, "Creating" sections of ad-campaign-group,
 * ad-campaign and adgroup. Enum values: facebook-nodejs-business-sdk 24.0.1 (Campaign.Objective,
 * ODAX values only: new campaigns must use them; Campaign.SpecialAdCategories;
 * AdSet.BillingEvent; AdSet.OptimizationGoal).
 */

import { errors } from "./errors.ts";
import { jsonParam, listParam, type Params, stringParam } from "./params.ts";
import { type Account, type Entity, type EntityType, isLive, type Store } from "./store.ts";
import { atLeast } from "./versions.ts";

const OBJECTIVES = [
  "OUTCOME_APP_PROMOTION",
  "OUTCOME_AWARENESS",
  "OUTCOME_ENGAGEMENT",
  "OUTCOME_LEADS",
  "OUTCOME_SALES",
  "OUTCOME_TRAFFIC",
] as const;

const SPECIAL_AD_CATEGORIES = [
  "NONE",
  "EMPLOYMENT",
  "HOUSING",
  "CREDIT",
  "ISSUES_ELECTIONS_POLITICS",
  "ONLINE_GAMBLING_AND_GAMING",
  "FINANCIAL_PRODUCTS_SERVICES",
] as const;

const BILLING_EVENTS = [
  "APP_INSTALLS",
  "CLICKS",
  "IMPRESSIONS",
  "LINK_CLICKS",
  "LISTING_INTERACTION",
  "NONE",
  "OFFER_CLAIMS",
  "PAGE_LIKES",
  "POST_ENGAGEMENT",
  "PURCHASE",
  "THRUPLAY",
] as const;

const OPTIMIZATION_GOALS = [
  "ADVERTISER_SILOED_VALUE",
  "AD_RECALL_LIFT",
  "APP_INSTALLS",
  "APP_INSTALLS_AND_OFFSITE_CONVERSIONS",
  "AUTOMATIC_OBJECTIVE",
  "CONVERSATIONS",
  "DERIVED_EVENTS",
  "ENGAGED_USERS",
  "EVENT_RESPONSES",
  "IMPRESSIONS",
  "IN_APP_VALUE",
  "LANDING_PAGE_VIEWS",
  "LEAD_GENERATION",
  "LINK_CLICKS",
  "MEANINGFUL_CALL_ATTEMPT",
  "MESSAGING_APPOINTMENT_CONVERSION",
  "MESSAGING_PURCHASE_CONVERSION",
  "NONE",
  "OFFSITE_CONVERSIONS",
  "PAGE_LIKES",
  "POST_ENGAGEMENT",
  "PROFILE_AND_PAGE_ENGAGEMENT",
  "PROFILE_VISIT",
  "QUALITY_CALL",
  "QUALITY_LEAD",
  "REACH",
  "REMINDERS_SET",
  "SUBSCRIBERS",
  "THRUPLAY",
  "VALUE",
  "VISIT_INSTAGRAM_PROFILE",
] as const;

/** "Only ACTIVE and PAUSED are valid during creation" (campaign reference, status). */
const CREATE_STATUSES = ["ACTIVE", "PAUSED"] as const;

/** is_adset_budget_sharing_enabled is required from v24.0 (ad set budget sharing guide). */
const BUDGET_SHARING_REQUIRED_FROM = "v24.0";

interface CreateContext {
  store: Store;
  account: Account;
  params: Params;
  /** The version the call runs as. */
  version: string;
  /** Set by the parent rule: the campaign of an ad set, the ad set of an ad. */
  parent?: Entity;
}

type Rule = (c: CreateContext) => void;

const given = (params: Params, name: string) => {
  const v = params[name];
  return v !== undefined && v !== null && v !== "";
};

const required = (name: string): Rule => ({ params }) => {
  if (!given(params, name)) throw errors.requiredParam(name);
};

const oneOf = (name: string, allowed: readonly string[], optional = false): Rule => (c) => {
  if (optional && !given(c.params, name)) return;
  required(name)(c);
  if (!allowed.includes(stringParam(c.params, name)!)) throw errors.notOneOf(name, allowed);
};

const listOf = (name: string, allowed: readonly string[]): Rule => (c) => {
  if (c.params[name] === undefined) throw errors.requiredParam(name);
  const raw = c.params[name];
  if (typeof raw === "string" && !raw.trim().startsWith("[")) {
    throw errors.invalidParam(`Param ${name} must be an array`);
  }
  (listParam(c.params, name) ?? []).forEach((value, i) => {
    if (!allowed.includes(value)) throw errors.notOneOf(`${name}[${i}]`, allowed);
  });
};

/** Budgets are integers in the account currency's minor unit, as a number or numeric string. */
const positiveInteger = (name: string): Rule => ({ params }) => {
  if (params[name] === undefined) return;
  const v = params[name];
  const ok = typeof v === "number" ? Number.isInteger(v) && v > 0 : /^0*[1-9]\d*$/.test(String(v));
  if (!ok) throw errors.invalidParam(`Param ${name} must be a positive integer`);
};

const hasBudget = (params: Params) =>
  given(params, "daily_budget") || given(params, "lifetime_budget");

/** 4834011; the words Meta sends are quoted in several clients' notes on this error. */
const budgetSharingDeclared: Rule = ({ params, version }) => {
  const value = stringParam(params, "is_adset_budget_sharing_enabled");
  if (value !== undefined && !/^(true|false)$/i.test(value)) {
    throw errors.invalidParam("Param is_adset_budget_sharing_enabled must be a boolean");
  }
  if (value !== undefined || hasBudget(params)) return;
  if (!atLeast(version, BUDGET_SHARING_REQUIRED_FROM)) return;
  throw errors.invalidAdsParam(4834011, {
    title: "Must specify True or False in is_adset_budget_sharing_enabled field",
    msg: "You must specify True or False in the field is_adset_budget_sharing_enabled if you " +
      "are not using campaign budget. Passing in True will enable your ad sets to share 20% of " +
      "their budget to optimize overall performance.",
  });
};

/** The live parent named by `param`, of this account; remembered for the later rules. */
const parentOf = (param: string, type: EntityType): Rule => (c) => {
  required(param)(c);
  const id = stringParam(c.params, param)!;
  const parent = c.store.entities.get(id);
  if (!parent || parent.type !== type || parent.accountId !== c.account.id || !isLive(parent)) {
    throw errors.parentMissing(param, id);
  }
  c.parent = parent;
};

/**
 * A JSON object with a location. Without one Meta answers 1885364 "Missing Target Audience
 * Location" (facebook-nodejs-business-sdk issue #167).
 */
const targeting: Rule = (c) => {
  required("targeting")(c);
  const spec = jsonParam(c.params, "targeting");
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) {
    throw errors.invalidParam("Param targeting must be a JSON object");
  }
  const geo = (spec as { geo_locations?: unknown }).geo_locations;
  if (!geo || typeof geo !== "object" || Object.keys(geo).length === 0) {
    throw errors.invalidAdsParam(1885364, {
      title: "Missing Target Audience Location",
      msg: "Your audience is missing a location. You can add a location or a Custom Audience.",
    });
  }
};

/**
 * An ad set brings its budget unless its campaign has one; with a campaign budget it may not
 * (subcode 1885621, reported by the pipeboard and byadsco Meta Ads MCP servers).
 */
const adsetBudget: Rule = ({ params, parent }) => {
  const campaignBudget = hasBudget(parent!.params);
  if (campaignBudget && hasBudget(params)) throw errors.invalidAdsParam(1885621);
  if (!campaignBudget && !hasBudget(params)) {
    throw errors.requiredParam("daily_budget or lifetime_budget");
  }
};

const creative: Rule = (c) => {
  required("creative")(c);
  const value = jsonParam(c.params, "creative") as { creative_id?: unknown } | null;
  if (!value || typeof value !== "object" || !value.creative_id) {
    throw errors.invalidParam('Param creative must be an object like {"creative_id": "<id>"}');
  }
};

const status = oneOf("status", CREATE_STATUSES, true);

const CREATE_RULES: Record<EntityType, readonly Rule[]> = {
  campaign: [
    required("name"),
    oneOf("objective", OBJECTIVES),
    listOf("special_ad_categories", SPECIAL_AD_CATEGORIES),
    positiveInteger("daily_budget"),
    positiveInteger("lifetime_budget"),
    budgetSharingDeclared,
    status,
  ],
  adset: [
    required("name"),
    parentOf("campaign_id", "campaign"),
    oneOf("billing_event", BILLING_EVENTS),
    oneOf("optimization_goal", OPTIMIZATION_GOALS),
    positiveInteger("daily_budget"),
    positiveInteger("lifetime_budget"),
    targeting,
    adsetBudget,
    status,
  ],
  ad: [required("name"), parentOf("adset_id", "adset"), creative, status],
};

/** Runs the rules of `type`; the parent they resolved (null for a campaign). */
export function validateCreate(
  store: Store,
  account: Account,
  type: EntityType,
  params: Params,
  version: string,
): Entity | null {
  const context: CreateContext = { store, account, params, version };
  for (const rule of CREATE_RULES[type]) rule(context);
  return context.parent ?? null;
}
