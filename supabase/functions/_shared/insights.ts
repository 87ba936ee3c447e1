// Daily metrics from Meta's Insights API: one row per entity per day (time_increment=1), read
// either for one entity by its own id (which answers for deleted and archived entities too) or
// for a whole account at one level, naming every status so deleted and archived entities are
// not silently left out (https://developers.facebook.com/docs/marketing-api/insights).
import type { EntityType } from "./db.ts";
import type { GraphClient } from "./graph-client.ts";
import { allEffectiveStatuses } from "./effective-statuses.ts";
import type { GraphResult } from "./graph-errors.ts";

export type DateRange = { since: string; until: string };

export type DailyMetrics = {
  date: string;
  impressions: number;
  clicks: number;
  spend: number;
  reach: number;
  conversions: number;
  actions: Action[];
};

export type EntityDailyMetrics = DailyMetrics & {
  entityType: EntityType;
  platformEntityId: string;
};

type Action = { action_type: string; value: string };
type InsightRow = {
  date_start: string;
  impressions?: string;
  clicks?: string;
  spend?: string;
  reach?: string;
  actions?: Action[];
  conversions?: Action[];
  campaign_id?: string;
  adset_id?: string;
  ad_id?: string;
};

const metricFields = "impressions,clicks,spend,reach,actions,conversions";

const levels = {
  campaign: { level: "campaign", idField: "campaign_id" },
  ad_set: { level: "adset", idField: "adset_id" },
  ad: { level: "ad", idField: "ad_id" },
} as const;

/** The metrics of one insights row; Meta sends numbers as strings and conversions as actions. */
export function dailyMetricsOf(row: InsightRow): DailyMetrics {
  const count = (value: string | undefined) => Number(value ?? 0) || 0;
  return {
    date: row.date_start,
    impressions: count(row.impressions),
    clicks: count(row.clicks),
    spend: count(row.spend),
    reach: count(row.reach),
    conversions: (row.conversions ?? []).reduce((sum, action) => sum + count(action.value), 0),
    actions: row.actions ?? [],
  };
}

/** YYYY-MM-DD of a time, in UTC. */
export function dayOf(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The `days` days up to and including `until`'s day. */
export function rangeEndingAt(until: Date, days: number): DateRange {
  return { since: dayOf(new Date(until.getTime() - (days - 1) * 86_400_000)), until: dayOf(until) };
}

/** One entity's daily metrics, by its own id. */
export async function entityDailyMetrics(
  graph: GraphClient,
  platformEntityId: string,
  range: DateRange,
): Promise<GraphResult<DailyMetrics[]>> {
  const rows = await graph.getAll<InsightRow>(`/${platformEntityId}/insights`, {
    fields: metricFields,
    time_increment: 1,
    time_range: range,
  });
  return rows.ok ? { ok: true, data: rows.data.map(dailyMetricsOf) } : rows;
}

/** Every entity's daily metrics at one level of an account, deleted and archived included. */
export async function accountDailyMetrics(
  graph: GraphClient,
  platformAccountId: string,
  entityType: EntityType,
  range: DateRange,
): Promise<GraphResult<EntityDailyMetrics[]>> {
  const { level, idField } = levels[entityType];
  const rows = await graph.getAll<InsightRow>(`/${platformAccountId}/insights`, {
    fields: `${idField},${metricFields}`,
    level,
    time_increment: 1,
    time_range: range,
    filtering: [{
      field: `${level}.effective_status`,
      operator: "IN",
      value: allEffectiveStatuses,
    }],
  });
  if (!rows.ok) return rows;
  return {
    ok: true,
    data: rows.data.map((row) => ({
      ...dailyMetricsOf(row),
      entityType,
      platformEntityId: row[idField]!,
    })),
  };
}
