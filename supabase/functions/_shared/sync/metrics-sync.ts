// Daily metrics of a whole ad account over a window, at campaign, ad set and ad level, deleted
// and archived entities included; upserted in one statement, so restated days are overwritten. A
// level too big for a synchronous read runs as an async report; one not finished by the deadline
// is left to the account's next sync (pendingReports).
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import { db, type EntityType } from "../platform/db.ts";
import type { GraphResult } from "../meta/graph-errors.ts";
import { accountDailyMetrics, type DateRange, type EntityDailyMetrics } from "../meta/insights.ts";

const entityTypes: EntityType[] = ["campaign", "ad_set", "ad"];

/** The rows as upsert_daily_metrics takes them. */
function metricRows(metrics: EntityDailyMetrics[]) {
  return metrics.map(({ entityType, platformEntityId, ...day }) => ({
    entity_type: entityType,
    platform_entity_id: platformEntityId,
    ...day,
  }));
}

export type MetricsSyncCounts = {
  /** Daily rows written. */
  rows: number;
  /** Levels whose report run was still running at the deadline: the next sync reads them. */
  pendingReports: EntityType[];
};

/** `deadline` (epoch ms) bounds the polling of async reports. */
export async function syncDailyMetrics(
  account: AdAccountAccess,
  range: DateRange,
  deadline: number,
): Promise<GraphResult<MetricsSyncCounts>> {
  const metrics: EntityDailyMetrics[] = [];
  const pendingReports: EntityType[] = [];
  for (const entityType of entityTypes) {
    const read = await accountDailyMetrics(account, entityType, range, deadline);
    if (!read.ok) return read;
    if (read.data.status === "read") metrics.push(...read.data.metrics);
    else pendingReports.push(entityType);
  }
  const sql = db();
  const [{ written }] = await sql<{ written: number }[]>`
    select public.upsert_daily_metrics(${account.id}, ${sql.json(metricRows(metrics))}) as written`;
  return { ok: true, data: { rows: written, pendingReports } };
}
