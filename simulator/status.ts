/** Status rules: effective_status from parents, cascading deletes, and when an entity delivered. */

import { DAY_MS, dayStartMs } from "./clock.ts";
import type { Entity, EntityStatus, Store } from "./store.ts";

/**
 * effective_status: the entity's own status unless a parent stops it
 * (CAMPAIGN_PAUSED / ADSET_PAUSED; a deleted or archived parent passes its status down).
 */
export function effectiveStatus(store: Store, e: Entity): string {
  if (e.status !== "ACTIVE") return e.status;
  const adset = e.adsetId ? store.entities.get(e.adsetId) : undefined;
  const campaign = e.campaignId ? store.entities.get(e.campaignId) : undefined;
  for (
    const [parent, paused] of [[campaign, "CAMPAIGN_PAUSED"], [adset, "ADSET_PAUSED"]] as const
  ) {
    if (parent && parent.status !== "ACTIVE") {
      return parent.status === "PAUSED" ? paused : parent.status;
    }
  }
  return "ACTIVE";
}

/** Change the status, keeping history; deleting a parent deletes its children, as on Meta. */
export function setStatus(store: Store, e: Entity, status: EntityStatus, at: number): void {
  if (e.status !== status) {
    e.status = status;
    e.updatedAt = at;
    e.history.push({ at, status });
  }
  if (status === "DELETED") {
    for (const child of store.entities.values()) {
      if ((child.campaignId === e.id || child.adsetId === e.id) && child.status !== "DELETED") {
        setStatus(store, child, "DELETED", at);
      }
    }
  }
}

type Interval = [number, number];

/** When the entity's own status was ACTIVE, up to `now`. */
function ownActiveIntervals(e: Entity, now: number): Interval[] {
  const out: Interval[] = [];
  e.history.forEach((change, i) => {
    const end = Math.min(e.history[i + 1]?.at ?? now, now);
    if (change.status === "ACTIVE" && end > change.at) out.push([change.at, end]);
  });
  return out;
}

function intersect(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [s1, e1] of a) {
    for (const [s2, e2] of b) {
      const s = Math.max(s1, s2), e = Math.min(e1, e2);
      if (e > s) out.push([s, e]);
    }
  }
  return out;
}

/** When the entity could deliver: it and every parent ACTIVE at once. */
export function deliveryIntervals(store: Store, e: Entity, now: number): Interval[] {
  let intervals = ownActiveIntervals(e, now);
  for (const parentId of [e.adsetId, e.campaignId]) {
    const parent = parentId ? store.entities.get(parentId) : undefined;
    if (parent) intervals = intersect(intervals, ownActiveIntervals(parent, now));
  }
  return intervals;
}

export function deliveredOn(intervals: Interval[], day: string): boolean {
  const start = dayStartMs(day), end = start + DAY_MS;
  return intervals.some(([s, e]) => s < end && e > start);
}
