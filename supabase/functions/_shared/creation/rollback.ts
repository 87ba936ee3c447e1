// Rollback, the last resort: the job's objects are deleted, ads first, then ad sets, then the
// campaign, each recorded in the job's audit with its fields as Meta reported them just before.
// Only what the job made is touched: its slots' objects and copies of them (same deterministic
// name). An object someone else put in the campaign is never deleted, and the campaign that
// holds one is kept (deleting it would take theirs along).
import type { EntityType, Json } from "../platform/db.ts";
import type { BatchOperation, GraphClient } from "../meta/graph-client.ts";
import { type GraphError, type GraphResult, isMissingObject } from "../meta/graph-errors.ts";
import type { JobLease, Slot } from "./job-tracker.ts";
import { backoffDelayMs, readBackoff, retryRead } from "../meta/retry.ts";
import {
  isOnMeta,
  type JobInventory,
  type MetaObject,
  objectsOf,
  strangers,
} from "./meta-inventory.ts";
import { slotsOf } from "./plan.ts";

const maxPerBatch = 50;

/** The fields kept in the audit: what it takes to recreate each kind of object. */
const auditFields: Record<EntityType, string> = {
  campaign: "id,name,objective,status,special_ad_categories,daily_budget,lifetime_budget",
  ad_set:
    "id,name,campaign_id,status,billing_event,optimization_goal,targeting,daily_budget,lifetime_budget,bid_amount,start_time,end_time",
  ad: "id,name,adset_id,status,creative",
};

const chunks = <T>(items: T[]) =>
  Array.from(
    { length: Math.ceil(items.length / maxPerBatch) },
    (_, i) => items.slice(i * maxPerBatch, (i + 1) * maxPerBatch),
  );

/** Tries of a batch's failed items when Meta fails them transiently (deletes and reads are idempotent). */
const itemAttempts = 3;

/**
 * Runs `operation` for each object in batches of 50 and tries again, a few times, the items Meta
 * failed transiently; an item that keeps failing, or a refusal, is the answer. An object Meta
 * does not have is skipped (already deleted).
 */
async function forEachObject(
  graph: GraphClient,
  objects: MetaObject[],
  operation: (o: MetaObject) => BatchOperation,
  onAnswer: (o: MetaObject, data: unknown) => void,
): Promise<GraphResult<void>> {
  for (const chunk of chunks(objects)) {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const answers = await retryRead(() => graph.batch(pending.map(operation)));
      if (!answers.ok) return answers;
      const again: MetaObject[] = [];
      for (const [i, answer] of answers.data.entries()) {
        if (answer.ok) onAnswer(pending[i], answer.data);
        else if (isMissingObject(answer.error)) continue;
        else if (answer.error.class === "TEMPORARY" && attempt < itemAttempts) {
          again.push(pending[i]);
        } else return answer;
      }
      if (again.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, readBackoff)));
      }
      pending = again;
    }
  }
  return { ok: true, data: undefined };
}

/** Deletes objects, 50 a batch; one already gone counts as deleted. */
export async function deleteObjects(
  graph: GraphClient,
  objects: MetaObject[],
): Promise<GraphResult<void>> {
  return await forEachObject(
    graph,
    objects,
    (o) => ({ method: "DELETE", path: `/${o.id}` }),
    () => {},
  );
}

/** The objects' fields as Meta has them now (those already gone are left out). */
async function auditEntries(
  graph: GraphClient,
  objects: MetaObject[],
): Promise<GraphResult<{ entity_type: EntityType; facebook_id: string; fields: Json }[]>> {
  const entries: { entity_type: EntityType; facebook_id: string; fields: Json }[] = [];
  const read = await forEachObject(
    graph,
    objects,
    (o) => ({ method: "GET", path: `/${o.id}`, params: { fields: auditFields[o.entityType] } }),
    (o, fields) =>
      entries.push({ entity_type: o.entityType, facebook_id: o.id, fields: fields as Json }),
  );
  return read.ok ? { ok: true, data: entries } : read;
}

export type RollbackOutcome =
  | { kind: "rolled_back"; keptCampaign?: MetaObject }
  | { kind: "failed"; error: GraphError };

/**
 * Deletes what the job made, as `inventory` shows it (unknown outcomes already resolved), and
 * marks its slots rolled back. Each kind is audited, deleted and recorded before the next.
 */
export async function rollBack(
  graph: GraphClient,
  lease: JobLease,
  slots: Slot[],
  inventory: JobInventory,
): Promise<RollbackOutcome> {
  const { copies, unowned } = strangers(inventory, slots);
  const keptCampaign = unowned.length > 0 ? inventory.campaign ?? undefined : undefined;
  for (const type of ["ad", "ad_set", "campaign"] as const) {
    const created = slotsOf(slots, type).filter((s) => s.status === "created");
    const live = created.filter((s) => isOnMeta(inventory, s));
    const doomed = [
      ...objectsOf(inventory, type).filter((o) => live.some((s) => s.facebook_id === o.id)),
      ...copies.filter((o) => o.entityType === type),
    ].filter((o) => o.id !== keptCampaign?.id);
    const audit = await auditEntries(graph, doomed);
    if (!audit.ok) return { kind: "failed", error: audit.error };
    await lease.recordAudit(audit.data);
    const deleted = await deleteObjects(graph, doomed);
    if (!deleted.ok) return { kind: "failed", error: deleted.error };
    await lease.markRolledBack(
      created.filter((s) => s.facebook_id !== keptCampaign?.id).map((s) => s.id),
    );
  }
  await lease.markRolledBack(
    slots.filter((s) => s.status !== "created" && s.status !== "rolled_back").map((s) => s.id),
  );
  return { kind: "rolled_back", keptCampaign };
}
