// Daily metrics from Meta's Insights API: one row per entity per day (time_increment=1), read
// either for many entities by their own ids, 50 to a batch (an entity's own insights answer for
// deleted and archived entities too), or for a whole account at one level, naming every status so
// deleted and archived entities are not silently left out
// (https://developers.facebook.com/docs/marketing-api/insights).
import type { EntityType } from "../platform/db.ts";
import {
  type BatchOperation,
  type GraphClient,
  type GraphPage,
  maxBatchOperations,
} from "./graph-client.ts";
import { allEffectiveStatuses } from "./effective-statuses.ts";
import { type GraphResult, isTooMuchData } from "./graph-errors.ts";
import { readAsReport } from "./insights-report-runs.ts";
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import type {
  DateRange,
  MetricData,
  MetricsFetcher,
  MetricsRequest,
  MetricsResult,
} from "../sync/metrics-fetcher.ts";
import { backoffDelayMs, readBackoff, retryRead } from "./retry.ts";

export type { DateRange };

export type EntityDailyMetrics = MetricData & {
  entityType: EntityType;
  platformEntityId: string;
};

type Action = MetricData["actions"][number];
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
export function dailyMetricsOf(row: InsightRow): MetricData {
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

/** Tries of a batch item Meta fails transiently (reads are idempotent). */
const itemAttempts = 3;

const entityInsightsParams = (range: DateRange) => ({
  fields: metricFields,
  time_increment: 1,
  time_range: range,
  limit: 500,
});

/** The rest of an entity's insights after the page its batch item read, when Meta has more. */
async function allDays(
  graph: GraphClient,
  request: MetricsRequest,
  page: GraphPage<InsightRow>,
): Promise<MetricsResult> {
  const after = page.paging?.next ? page.paging.cursors?.after : undefined;
  const rest = after
    ? await retryRead(() =>
      graph.getAll<InsightRow>(`/${request.platformEntityId}/insights`, {
        ...entityInsightsParams(request.range),
        after,
      })
    )
    : { ok: true as const, data: [] };
  return rest.ok ? { ok: true, data: [...page.data, ...rest.data].map(dailyMetricsOf) } : rest;
}

/**
 * Meta's metrics fetcher: each entity's `/<id>/insights` as one operation of a batch (relative
 * URLs, 50 to a request); items Meta fails transiently go again in a later batch, a few times.
 */
export function metaMetricsFetcher(graph: GraphClient): MetricsFetcher {
  return {
    platform: "facebook",
    batchSize: maxBatchOperations,
    async fetch(requests) {
      const results: MetricsResult[] = new Array(requests.length);
      let pending = requests.map((request, index) => ({ request, index }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const operations: BatchOperation[] = pending.map(({ request }) => ({
          method: "GET",
          path: `/${request.platformEntityId}/insights`,
          params: entityInsightsParams(request.range),
        }));
        const answers = await retryRead(() => graph.batch(operations));
        if (!answers.ok) {
          for (const { index } of pending) results[index] = answers;
          break;
        }
        const again: typeof pending = [];
        for (const [i, answer] of answers.data.entries()) {
          const { request, index } = pending[i];
          if (answer.ok) {
            results[index] = await allDays(graph, request, answer.data as GraphPage<InsightRow>);
          } else if (answer.error.class === "TEMPORARY" && attempt < itemAttempts) {
            again.push(pending[i]);
          } else results[index] = answer;
        }
        if (again.length > 0) {
          await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, readBackoff)));
        }
        pending = again;
      }
      return results;
    },
  };
}

/** An account's metrics at one level: read, or left to a report run the next sync continues. */
export type AccountMetrics =
  | { status: "read"; metrics: EntityDailyMetrics[] }
  | { status: "pending"; reportRunId: string };

/**
 * Every entity's daily metrics at one level of an account, deleted and archived included. When
 * Meta finds the read too large, it runs as an async report, polled until `deadline` (epoch ms).
 */
export async function accountDailyMetrics(
  account: AdAccountAccess,
  entityType: EntityType,
  range: DateRange,
  deadline: number,
): Promise<GraphResult<AccountMetrics>> {
  const { level, idField } = levels[entityType];
  const params = {
    fields: `${idField},${metricFields}`,
    level,
    time_increment: 1,
    time_range: range,
    filtering: [{
      field: `${level}.effective_status`,
      operator: "IN",
      value: allEffectiveStatuses,
    }],
  };
  const asMetrics = (rows: InsightRow[]): AccountMetrics => ({
    status: "read",
    metrics: rows.map((row) => ({
      ...dailyMetricsOf(row),
      entityType,
      platformEntityId: row[idField]!,
    })),
  });
  const read = await retryRead(() =>
    account.graph.getAll<InsightRow>(`/${account.platformAccountId}/insights`, params)
  );
  if (read.ok) return { ok: true, data: asMetrics(read.data) };
  if (!isTooMuchData(read.error)) return read;
  const report = await readAsReport<InsightRow>(
    account.graph,
    account.platformAccountId,
    { adAccountId: account.id, level: entityType, range },
    params,
    deadline,
  );
  if (!report.ok) return report;
  return {
    ok: true,
    data: report.data.status === "read" ? asMetrics(report.data.rows) : report.data,
  };
}
