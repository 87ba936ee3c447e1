// Daily metrics of a whole ad account over a window, at campaign, ad set and ad level, deleted
// and archived entities included; upserted in one statement, so restated days are overwritten.
import type { AdAccountAccess } from "./ad-account-access.ts";
import { db, type EntityType } from "./db.ts";
import type { GraphResult } from "./graph-errors.ts";
import { accountDailyMetrics, type DateRange, type EntityDailyMetrics } from "./insights.ts";
import { retryRead } from "./retry.ts";

const entityTypes: EntityType[] = ["campaign", "ad_set", "ad"];

/** The rows as upsert_daily_metrics takes them. */
function metricRows(metrics: EntityDailyMetrics[]) {
  return metrics.map(({ entityType, platformEntityId, ...day }) => ({
    entity_type: entityType,
    platform_entity_id: platformEntityId,
    ...day,
  }));
}

/** Returns how many daily rows were written. */
export async function syncDailyMetrics(
  account: AdAccountAccess,
  range: DateRange,
): Promise<GraphResult<number>> {
  const metrics: EntityDailyMetrics[] = [];
  for (const entityType of entityTypes) {
    const read = await retryRead(() =>
      accountDailyMetrics(account.graph, account.platformAccountId, entityType, range)
    );
    if (!read.ok) return read;
    metrics.push(...read.data);
  }
  const sql = db();
  const [{ written }] = await sql<{ written: number }[]>`
    select public.upsert_daily_metrics(${account.id}, ${sql.json(metricRows(metrics))}) as written`;
  return { ok: true, data: written };
}
