// What a bulk launch asks for: 1 campaign, adSets.count ad sets from one template, ads.perAdSet
// ads each from another. Validated with zod; the fields adrail sets itself (names, parents) are
// refused in the templates, so the request cannot change what a slot creates. Its size is capped:
// ads per launch, each template's size and depth, every text storable by Postgres.
import { z } from "zod";
import { jsonShapeIssue } from "../platform/json-shape.ts";

const reserved = [
  "name",
  "campaign_id",
  "adset_id",
  "creative",
  "execution_options",
  "access_token",
];
/** The most ads one launch may ask for (adSets.count × ads.perAdSet). */
export const maxAdsPerLaunch = 1000;
/** A template's largest size, as JSON in UTF-8. */
export const maxTemplateBytes = 32 * 1024;
/** A template's deepest nesting of objects and arrays (the template itself is level 1). */
export const maxTemplateDepth = 8;

/** What both templates must respect: no field adrail sets, bounded depth and size. */
function checkTemplate(fields: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (reserved.some((key) => key in fields)) {
    ctx.addIssue({
      code: "custom",
      message: `may not set ${reserved.join(", ")}: adrail sets them`,
    });
  }
  const shapeIssue = jsonShapeIssue(fields, maxTemplateDepth);
  if (shapeIssue) {
    ctx.addIssue({ code: "custom", path: shapeIssue.path, message: shapeIssue.message });
    return;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(fields)).byteLength;
  if (bytes > maxTemplateBytes) {
    ctx.addIssue({
      code: "custom",
      message: `must be at most ${maxTemplateBytes} bytes as JSON (this one is ${bytes})`,
    });
  }
}

const template = z.record(z.string(), z.json()).superRefine(checkTemplate);

/**
 * Meta's batch reference syntax, `{result=<name>:<JSONPath>}`: adrail's own batches chain each
 * create to its parent with it, so no text of the caller's (a name, a template's field or value)
 * may carry one into them.
 */
const batchReference = /\{result=/i;

/** Every string of a JSON value, object keys included, with its path. */
function* stringsOf(value: unknown, path: PropertyKey[] = []): Generator<[PropertyKey[], string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* stringsOf(item, [...path, index]);
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      yield [[...path, key], key];
      yield* stringsOf(item, [...path, key]);
    }
  }
}

/** One ad set and its ads share a batch of at most 50 operations, the campaign riding in the first. */
export const maxAdsPerAdSet = 48;

export const CampaignCreateBody = z.object({
  adAccountId: z.string().regex(/^act_[0-9]{1,20}$/, "must look like act_<digits>"),
  campaign: z.object({
    name: z.string().trim().min(1).max(200),
    objective: z.string().max(64).regex(
      /^[A-Z_]+$/,
      "must be a Meta objective such as OUTCOME_SALES",
    ),
    status: z.enum(["ACTIVE", "PAUSED"]).default("PAUSED"),
    special_ad_categories: z.array(z.string().max(64)).max(10).default([]),
    // Budgets live on the ad sets; from v24.0 Meta requires a campaign without its own budget
    // to say whether its ad sets may share theirs.
    is_adset_budget_sharing_enabled: z.boolean().default(false),
  }).strict(),
  adSets: z.object({ count: z.number().int().min(1).max(200), template }).strict(),
  ads: z.object({
    perAdSet: z.number().int().min(0).max(maxAdsPerAdSet),
    template: z.object({
      creativeId: z.string().regex(/^[0-9]{1,32}$/, "must be a creative id"),
    }).catchall(z.json()).superRefine(checkTemplate),
  }).strict(),
  rollbackPolicy: z.enum(["auto", "confirm"]).default("auto"),
  retryBudget: z.number().int().min(0).max(20).default(5),
  dryRun: z.boolean().default(false),
}).strict().superRefine((request, ctx) => {
  const ads = request.adSets.count * request.ads.perAdSet;
  if (ads > maxAdsPerLaunch) {
    ctx.addIssue({
      code: "custom",
      path: ["ads", "perAdSet"],
      message:
        `adSets.count × ads.perAdSet must be at most ${maxAdsPerLaunch} ads per launch (here ${ads})`,
    });
  }
  for (const [path, text] of stringsOf(request)) {
    if (batchReference.test(text)) {
      ctx.addIssue({
        code: "custom",
        path,
        message: "may not contain {result=...}: Meta's batch reference syntax is adrail's own",
      });
    }
    // Postgres stores neither in text or jsonb.
    if (text.includes("\u0000") || !text.isWellFormed()) {
      ctx.addIssue({
        code: "custom",
        path,
        message: "may not contain U+0000 or an unpaired surrogate",
      });
    }
  }
});

export type CampaignCreateRequest = z.infer<typeof CampaignCreateBody>;

/** The objects a launch asks for: its campaign, its ad sets and their ads (its slots). */
export function requestedEntities(request: Pick<CampaignCreateRequest, "adSets" | "ads">): number {
  return 1 + request.adSets.count * (1 + request.ads.perAdSet);
}

/** A stable hash of the validated request: the same idempotency key with another body is a conflict. */
export async function requestHash(request: CampaignCreateRequest): Promise<string> {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === "object"
      ? Object.fromEntries(
        Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      )
      : value;
  const bytes = new TextEncoder().encode(JSON.stringify(canonical(request)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
