// What the final-sync layer needs of an ad platform: the daily metrics of entities by their own
// ids, many at once. Each platform brings its fetcher (Meta's is metaMetricsFetcher, with the
// Graph code in insights.ts); the handler (atomic-status-handler.ts) never knows which API answers.
import type { EntityType } from "../platform/db.ts";
import type { GraphError } from "../meta/graph-errors.ts";

export type DateRange = { since: string; until: string };

/** One entity's numbers for one day, as ad_metrics_daily keeps them. */
export type MetricData = {
  date: string;
  impressions: number;
  clicks: number;
  spend: number;
  reach: number;
  conversions: number;
  actions: { action_type: string; value: string }[];
};

export type MetricsRequest = {
  entityType: EntityType;
  platformEntityId: string;
  range: DateRange;
};

/** Why a platform gave no metrics: its error class (what to do next) and its own words. */
export type MetricsFetchError = Pick<GraphError, "class" | "message" | "retryAfterMs">;

export type MetricsResult =
  | { ok: true; data: MetricData[] }
  | { ok: false; error: MetricsFetchError };

export interface MetricsFetcher {
  /** The platform it reads, as ad_accounts.platform names it. */
  readonly platform: string;
  /** The most requests one fetch takes (Meta: one batch of 50). */
  readonly batchSize: number;
  /** One result per request, in order; a fetch that fails as a whole fails every request. */
  fetch(requests: MetricsRequest[]): Promise<MetricsResult[]>;
}
