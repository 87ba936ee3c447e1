// What exists on Meta for a job: its campaign and the live ad sets and ads in it. One module
// serves post-creation verification, adoption of unknown outcomes and rollback. It reads through
// the campaign itself and its edges, in one batch, paged: never root `?ids=` multi-ID reads, which
// Meta removed (Graph API v26.0; on every version since 2026-10-27).
import type { EntityType } from "../platform/db.ts";
import { liveEffectiveStatuses } from "../meta/effective-statuses.ts";
import type { GraphClient, GraphPage } from "../meta/graph-client.ts";
import { type GraphResult, isMissingObject } from "../meta/graph-errors.ts";
import type { Slot } from "./job-tracker.ts";
import { retryRead } from "../meta/retry.ts";
import { slotsOf } from "./plan.ts";

export type MetaObject = { id: string; name: string; entityType: EntityType };

export type JobInventory = {
  /** The job's campaign as Meta has it; null when Meta has none (never kept, or deleted). */
  campaign: MetaObject | null;
  /** Other live campaigns of the account with the campaign slot's name: copies from lost answers. */
  campaignCopies: MetaObject[];
  /** Live ad sets and ads in the campaign, whoever made them. */
  adSets: MetaObject[];
  ads: MetaObject[];
};

const pageSize = 500;
const fields = "id,name,effective_status";
type Listed = { id: string; name: string; effective_status?: string };

const asObject = (entityType: EntityType) => (listed: Listed): MetaObject => ({
  id: listed.id,
  name: listed.name,
  entityType,
});

/** The rest of an edge after the page read in the batch, when Meta says there is more. */
async function restOf(
  graph: GraphClient,
  path: string,
  page: GraphPage<Listed>,
): Promise<GraphResult<Listed[]>> {
  const after = page.paging?.next ? page.paging.cursors?.after : undefined;
  if (!after) return { ok: true, data: page.data };
  const rest = await retryRead(() =>
    graph.getAll<Listed>(path, {
      fields,
      effective_status: liveEffectiveStatuses,
      limit: pageSize,
      after,
    })
  );
  return rest.ok ? { ok: true, data: [...page.data, ...rest.data] } : rest;
}

/** The live campaigns of the account named `name` (the lookup of a campaign whose answer was lost). */
async function campaignsNamed(
  graph: GraphClient,
  act: string,
  name: string,
): Promise<GraphResult<MetaObject[]>> {
  const listed = await retryRead(() =>
    graph.getAll<Listed>(`/${act}/campaigns`, {
      fields,
      effective_status: liveEffectiveStatuses,
      filtering: [{ field: "name", operator: "EQUAL", value: name }],
    })
  );
  if (!listed.ok) return listed;
  return { ok: true, data: listed.data.filter((c) => c.name === name).map(asObject("campaign")) };
}

/**
 * Reads what Meta has for the job. The campaign is found by its id, or by its slot's name when
 * its creation's answer was lost; then the campaign and its two edges go in one batch (one
 * request for a 1-50-1 launch). A failed read is an error, never taken for "nothing there".
 */
export async function readJobInventory(
  graph: GraphClient,
  act: string,
  slots: Slot[],
): Promise<GraphResult<JobInventory>> {
  const campaignSlot = slotsOf(slots, "campaign")[0];
  let campaignId = campaignSlot.facebook_id;
  let campaignCopies: MetaObject[] = [];
  if (!campaignId && campaignSlot.status === "creating") {
    const named = await campaignsNamed(graph, act, campaignSlot.entity_name);
    if (!named.ok) return named;
    [campaignId, campaignCopies] = [named.data[0]?.id ?? null, named.data.slice(1)];
  }
  const nothing = { campaign: null, campaignCopies, adSets: [], ads: [] };
  if (!campaignId) return { ok: true, data: nothing };

  const edge = (name: string) => ({
    method: "GET" as const,
    path: `/${campaignId}/${name}`,
    params: { fields, effective_status: liveEffectiveStatuses, limit: pageSize },
  });
  const read = await retryRead(() =>
    graph.batch([
      { method: "GET", path: `/${campaignId}`, params: { fields } },
      edge("adsets"),
      edge("ads"),
    ])
  );
  if (!read.ok) return read;
  const [campaignRead, adSetsRead, adsRead] = read.data;
  if (!campaignRead.ok && isMissingObject(campaignRead.error)) return { ok: true, data: nothing };
  if (!campaignRead.ok) return campaignRead;
  const campaign = campaignRead.data as Listed;
  if (campaign.effective_status === "DELETED") return { ok: true, data: nothing };
  if (!adSetsRead.ok) return adSetsRead;
  if (!adsRead.ok) return adsRead;
  const adSets = await restOf(graph, `/${campaignId}/adsets`, adSetsRead.data as GraphPage<Listed>);
  if (!adSets.ok) return adSets;
  const ads = await restOf(graph, `/${campaignId}/ads`, adsRead.data as GraphPage<Listed>);
  if (!ads.ok) return ads;
  return {
    ok: true,
    data: {
      campaign: asObject("campaign")(campaign),
      campaignCopies,
      adSets: adSets.data.map(asObject("ad_set")),
      ads: ads.data.map(asObject("ad")),
    },
  };
}

/** The inventory's objects of one type. */
export function objectsOf(inventory: JobInventory, type: EntityType): MetaObject[] {
  if (type === "campaign") return inventory.campaign ? [inventory.campaign] : [];
  return type === "ad_set" ? inventory.adSets : inventory.ads;
}

/** Is the slot's object on Meta? */
export function isOnMeta(inventory: JobInventory, slot: Slot): boolean {
  return objectsOf(inventory, slot.entity_type).some((o) => o.id === slot.facebook_id);
}

/**
 * The objects of the campaign that no slot owns, split in two: copies of the job's own slots (same
 * deterministic name as a slot a create of which may have been applied unseen, may_have_copies: a
 * create whose answer was lost and that was made again) may be removed; anything else (a
 * colleague's ad set, or their duplicate of one of the job's objects) is reported and never
 * touched.
 */
export function strangers(
  inventory: JobInventory,
  slots: Slot[],
): { copies: MetaObject[]; unowned: MetaObject[] } {
  const owned = new Set(slots.map((s) => s.facebook_id).filter(Boolean));
  const copyable = new Set(
    slots.filter((s) => s.may_have_copies).map((s) => `${s.entity_type}:${s.entity_name}`),
  );
  const others = [...inventory.campaignCopies, ...inventory.adSets, ...inventory.ads]
    .filter((o) => !owned.has(o.id));
  return {
    copies: others.filter((o) => copyable.has(`${o.entityType}:${o.name}`)),
    unowned: others.filter((o) => !copyable.has(`${o.entityType}:${o.name}`)),
  };
}
