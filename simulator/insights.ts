/**
 * /insights: deterministic daily metrics per (ad, day) from the seed, accruing only on days the
 * ad could deliver (it and its parents ACTIVE), with recent days restated on later reads.
 * Parameters as in https://developers.facebook.com/docs/marketing-api/insights (time_range,
 * time_increment, level, fields, filtering); values come back as strings, like Meta's.
 */

import { addDays, dayOf, daysBetween } from "./clock.ts";
import { errors } from "./errors.ts";
import { passes, readFilters } from "./filtering.ts";
import { type Page, paginate } from "./paging.ts";
import { fieldsParam, jsonParam, type Params, stringParam } from "./params.ts";
import type { SimState } from "./state.ts";
import { deliveredOn, deliveryIntervals, effectiveStatus } from "./status.ts";
import { type Account, type Entity, numericAccountId } from "./store.ts";
import { hash32 } from "./random.ts";

/** Days before "today" whose numbers still move (Meta restates recent days as attribution settles). */
export const RESTATEMENT_DAYS = 3;
/**
 * Days after an ad stops delivering (paused, deleted, archived, or a parent stopped) during which
 * conversions keep being attributed to its last delivered days, as Meta does for up to 28 days.
 */
export const LATE_ATTRIBUTION_DAYS = 28;
/** How many of a stopped ad's last delivered days collect late conversions. */
export const LATE_ATTRIBUTED_DAYS = 7;

export type Level = "account" | "campaign" | "adset" | "ad";
const LEVELS: readonly Level[] = ["account", "campaign", "adset", "ad"];

interface Totals {
  impressions: number;
  clicks: number;
  spendCents: number;
  reach: number;
  conversions: number;
}

const ZERO: Totals = { impressions: 0, clicks: 0, spendCents: 0, reach: 0, conversions: 0 };

function add(a: Totals, b: Totals): Totals {
  return {
    impressions: a.impressions + b.impressions,
    clicks: a.clicks + b.clicks,
    spendCents: a.spendCents + b.spendCents,
    reach: a.reach + b.reach,
    conversions: a.conversions + b.conversions,
  };
}

/**
 * One ad's numbers for one delivered day. The base depends on (seed, ad, day) only; a day less
 * than RESTATEMENT_DAYS old is scaled down, more so the younger it is, and conversions arrive
 * even later, so reading the same day again after the clock moved gives other numbers.
 */
export function adDayMetrics(seed: number, adId: string, day: string, today: string): Totals {
  const h = (k: string) => hash32(seed, adId, day, k);
  const age = daysBetween(day, today);
  const settled = age >= RESTATEMENT_DAYS;
  const volume = settled ? 1 : 0.85 + 0.05 * age;
  const attributed = settled ? 1 : (age + 1) / (RESTATEMENT_DAYS + 1);
  const impressions = Math.round((200 + (h("impressions") % 1800)) * volume);
  const clicks = Math.floor((impressions * (5 + (h("ctr") % 25))) / 1000);
  return {
    impressions,
    clicks,
    spendCents: Math.round((impressions * (300 + (h("cpm") % 900))) / 1000),
    reach: Math.floor((impressions * (60 + (h("reach") % 35))) / 100),
    conversions: Math.floor((clicks * (h("cvr") % 15) * attributed) / 100),
  };
}

/**
 * Conversions attributed to `day` of an ad that stopped delivering on `stopDay`, as of `today`:
 * none for days long before the stop, and for its last days a number (fixed by seed, ad and day)
 * that grows day by day after the stop until LATE_ATTRIBUTION_DAYS have passed, then stays.
 */
export function lateConversions(
  seed: number,
  adId: string,
  day: string,
  stopDay: string,
  today: string,
): number {
  if (daysBetween(day, stopDay) >= LATE_ATTRIBUTED_DAYS) return 0;
  const elapsed = Math.min(Math.max(daysBetween(stopDay, today), 0), LATE_ATTRIBUTION_DAYS);
  return Math.floor(((2 + (hash32(seed, adId, day, "late") % 8)) * elapsed) / 7);
}

/**
 * The ad's numbers for each of `days` on which it delivered; once it stopped delivering, its last
 * days collect late conversions (lateConversions).
 */
function deliveredDays(sim: SimState, ad: Entity, days: string[]): [string, Totals][] {
  const now = sim.clock.now();
  const today = dayOf(now);
  const intervals = deliveryIntervals(sim.store, ad, now);
  // An ad still delivering has an interval ending now; one that stopped, an earlier last end.
  const lastEnd = Math.max(...intervals.map(([, end]) => end));
  const stopDay = intervals.length > 0 && lastEnd < now ? dayOf(lastEnd - 1) : undefined;
  return days.filter((day) => deliveredOn(intervals, day)).map((day) => {
    const metrics = adDayMetrics(sim.seed, ad.id, day, today);
    const late = stopDay ? lateConversions(sim.seed, ad.id, day, stopDay, today) : 0;
    return [day, { ...metrics, conversions: metrics.conversions + late }];
  });
}

function daysFrom(since: string, until: string): string[] {
  const days: string[] = [];
  for (let d = since; d <= until; d = addDays(d, 1)) days.push(d);
  return days;
}

/** The account's amount_spent in cents: everything its ads ever delivered. */
export function amountSpentCents(sim: SimState, account: Account): number {
  const today = dayOf(sim.clock.now());
  return sim.store.list((e) => e.type === "ad" && e.accountId === account.id)
    .flatMap((ad) => deliveredDays(sim, ad, daysFrom(dayOf(ad.createdAt), today)))
    .reduce((sum, [, t]) => sum + t.spendCents, 0);
}

const ACTION_PURCHASE = "offsite_conversion.fb_pixel_purchase";
const ratio = (a: number, b: number, scale = 1) => (b === 0 ? "0" : ((a / b) * scale).toFixed(6));

function metricValues(t: Totals): Record<string, unknown> {
  const spend = t.spendCents / 100;
  const conversions = t.conversions > 0
    ? [{ action_type: ACTION_PURCHASE, value: String(t.conversions) }]
    : [];
  return {
    impressions: String(t.impressions),
    clicks: String(t.clicks),
    spend: spend.toFixed(2),
    reach: String(t.reach),
    actions: [{ action_type: "link_click", value: String(t.clicks) }, ...conversions],
    conversions,
    ctr: ratio(t.clicks, t.impressions, 100),
    cpc: ratio(spend, t.clicks),
    cpm: ratio(spend, t.impressions, 1000),
    frequency: ratio(t.impressions, t.reach),
  };
}

const ID_FIELDS = [
  "account_id",
  "account_name",
  "campaign_id",
  "campaign_name",
  "adset_id",
  "adset_name",
  "ad_id",
  "ad_name",
];
const METRIC_FIELDS = Object.keys(metricValues(ZERO));
const DEFAULT_FIELDS = ["impressions", "clicks", "spend"];

/** Identifying fields of a row grouped at `level`, from the group's representative ad. */
function idValues(sim: SimState, level: Level, ad: Entity): Record<string, unknown> {
  const account = sim.store.accounts.get(ad.accountId);
  const out: Record<string, unknown> = {
    account_id: numericAccountId(ad.accountId),
    account_name: account?.name,
  };
  const depth = LEVELS.indexOf(level);
  for (
    const [i, type, id] of [[1, "campaign", ad.campaignId], [2, "adset", ad.adsetId], [
      3,
      "ad",
      ad.id,
    ]] as const
  ) {
    if (depth >= i && id) {
      out[`${type}_id`] = id;
      out[`${type}_name`] = sim.store.entities.get(id)?.name;
    }
  }
  return out;
}

function groupId(level: Level, ad: Entity): string {
  return level === "account"
    ? ad.accountId
    : level === "campaign"
    ? ad.campaignId!
    : level === "adset"
    ? ad.adsetId!
    : ad.id;
}

function readRange(params: Params, today: string, since0: string): [string, string] {
  if (params.time_range !== undefined) {
    const range = jsonParam(params, "time_range") as { since?: unknown; until?: unknown } | null;
    const valid = (d: unknown): d is string =>
      typeof d === "string" && /^\d{4}-\d{2}-\d{2}$/.test(d);
    if (!range || !valid(range.since) || !valid(range.until) || range.since > range.until) {
      throw errors.invalidParam(
        'Param time_range must be {"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}',
      );
    }
    return [range.since, range.until];
  }
  const preset = stringParam(params, "date_preset") ?? "last_30d";
  const lastN = /^last_(\d+)d$/.exec(preset);
  if (preset === "today") return [today, today];
  if (preset === "yesterday") return [addDays(today, -1), addDays(today, -1)];
  if (preset === "maximum") return [since0, today];
  if (lastN) return [addDays(today, -Number(lastN[1])), addDays(today, -1)];
  throw errors.invalidParam(`date_preset ${preset} is not supported by the simulator`);
}

function readIncrement(params: Params): number | "all_days" {
  const v = stringParam(params, "time_increment") ?? "all_days";
  if (v === "all_days") return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 90) {
    throw errors.invalidParam("Param time_increment must be 1-90 or all_days");
  }
  return n;
}

export type InsightsTarget = {
  level: Level;
  account: Account;
  entity?: Entity;
  /** A synchronous read: more rows than the account's insights.syncMaxRows is too much data. */
  synchronous: boolean;
};

/**
 * Insights of an account or entity. With an explicit finer `level`, rows of DELETED/ARCHIVED
 * objects are left out unless `filtering` on `<level>.effective_status` names those statuses;
 * an entity's own insights are always readable. A synchronous read of more rows than the
 * account's threshold fails with Meta's "reduce the amount of data": the caller runs a report.
 */
export function insights(
  sim: SimState,
  target: InsightsTarget,
  params: Params,
  nextUrl: (after: string) => string,
): Page<Record<string, unknown>> {
  const level = (stringParam(params, "level") ?? target.level) as Level;
  if (!LEVELS.includes(level)) {
    throw errors.invalidParam(`Param level must be one of ${LEVELS.join(", ")}`);
  }
  const fields = fieldsParam(params) ?? DEFAULT_FIELDS;
  const unknown = fields.filter((f) =>
    !ID_FIELDS.includes(f) && !METRIC_FIELDS.includes(f) && f !== "date_start" && f !== "date_stop"
  );
  if (unknown.length) {
    throw errors.invalidParam(`${unknown.join(", ")} is not valid for fields param`);
  }

  const today = dayOf(sim.clock.now());
  const [since, until] = readRange(params, today, dayOf(target.account.createdAt));
  const increment = readIncrement(params);
  const filters = readFilters(params);
  const filtersApply = params.level !== undefined && level !== target.level && level !== "account";

  const scopeId = target.entity?.id ?? target.account.id;
  const ads = sim.store.list((e) =>
    e.type === "ad" && [e.accountId, e.campaignId, e.adsetId, e.id].includes(scopeId)
  ).filter((ad) => {
    if (!filtersApply) return true;
    const group = sim.store.entities.get(groupId(level, ad))!;
    const status = effectiveStatus(sim.store, group);
    const record: Record<string, unknown> = {
      ...group.params,
      id: group.id,
      name: group.name,
      status: group.status,
      effective_status: status,
    };
    return passes(filters, level, status, (f) => record[f]);
  });

  const days = daysFrom(since, until < today ? until : today);
  const buckets = new Map<string, { ad: Entity; start: string; stop: string; totals: Totals }>();
  for (const ad of ads) {
    for (const [day, t] of deliveredDays(sim, ad, days)) {
      const start = increment === "all_days"
        ? since
        : addDays(since, Math.floor(daysBetween(since, day) / increment) * increment);
      const stop = increment === "all_days"
        ? until
        : [addDays(start, increment - 1), until].sort()[0];
      const key = `${start}|${groupId(level, ad)}`;
      const bucket = buckets.get(key) ?? { ad, start, stop, totals: ZERO };
      buckets.set(key, { ...bucket, totals: add(bucket.totals, t) });
    }
  }

  const rows = [...buckets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(
    ([, b], i) => {
      const all = { ...idValues(sim, level, b.ad), ...metricValues(b.totals) };
      const row = Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
      return {
        key: String(i).padStart(8, "0"),
        row: { ...row, date_start: b.start, date_stop: b.stop },
      };
    },
  );
  const { syncMaxRows } = target.account.insights;
  if (target.synchronous && syncMaxRows > 0 && rows.length > syncMaxRows) {
    throw errors.tooMuchData();
  }
  const page = paginate(rows, (r) => r.key, false, params, nextUrl);
  return { ...page, data: page.data.map((r) => r.row) };
}
