// Mirrors an ad account's campaigns, ad sets and ads from Meta, deleted and archived ones
// included (Meta lists them only when asked), in one database transaction.
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import { db, type Json } from "../platform/db.ts";
import type { GraphResult } from "../meta/graph-errors.ts";
import { allEffectiveStatuses } from "../meta/effective-statuses.ts";
import { retryRead } from "../meta/retry.ts";

export type EntitySyncCounts = {
  campaigns: number;
  adSets: number;
  ads: number;
  statusChanges: number;
};

const edges = [
  { edge: "campaigns", fields: "id,name,status,effective_status,objective" },
  { edge: "adsets", fields: "id,name,status,effective_status,campaign_id" },
  { edge: "ads", fields: "id,name,status,effective_status,adset_id,creative" },
] as const;

export async function syncEntities(
  account: AdAccountAccess,
): Promise<GraphResult<EntitySyncCounts>> {
  const lists: Json[][] = [];
  for (const { edge, fields } of edges) {
    const listed = await retryRead(() =>
      account.graph.getAll<Json>(`/${account.platformAccountId}/${edge}`, {
        fields,
        effective_status: allEffectiveStatuses,
      })
    );
    if (!listed.ok) return listed;
    lists.push(listed.data);
  }
  const sql = db();
  const [campaigns, adSets, ads] = lists.map((list) => sql.json(list));
  const [{ counts }] = await sql<{ counts: EntitySyncCounts }[]>`
    select public.sync_ad_entities(${account.id}, ${campaigns}, ${adSets}, ${ads}) as counts`;
  return { ok: true, data: counts };
}
