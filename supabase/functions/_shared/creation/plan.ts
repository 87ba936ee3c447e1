// Planning a job's next creation step from its slots: pure, no I/O. Meta allows one ad set of a
// campaign per batch, so a unit is one ad set with its ads (the campaign riding in the first).
import type { BatchOperation } from "../meta/graph-client.ts";
import type { EntityType } from "../platform/db.ts";
import type { CampaignCreateRequest } from "./creation-request.ts";
import type { Slot } from "./job-tracker.ts";

/** What to do next for a job that is creating. */
export type CreationStep =
  /** Slots left `creating` (an answer lost, a worker killed): look on Meta before anything else. */
  | { kind: "resolve_unknowns"; slots: Slot[] }
  /** Create these slots in one batch. */
  | { kind: "create"; unit: Slot[] }
  /** Every slot is created: read it all back from Meta. */
  | { kind: "verify" };

export const slotsOf = (slots: Slot[], type: EntityType) =>
  slots.filter((s) => s.entity_type === type);

const open = (s: Slot) => s.status === "pending" || s.status === "failed";

export function nextCreationStep(slots: Slot[]): CreationStep {
  const unknown = slots.filter((s) => s.status === "creating");
  if (unknown.length > 0) return { kind: "resolve_unknowns", slots: unknown };
  const campaign = slotsOf(slots, "campaign").filter(open);
  const ads = slotsOf(slots, "ad");
  const adsOf = (adSet: Slot) => ads.filter((ad) => ad.parent_slot_number === adSet.slot_number);
  const next = slotsOf(slots, "ad_set").find((adSet) => open(adSet) || adsOf(adSet).some(open));
  const unit = next
    ? [...campaign, ...(open(next) ? [next] : []), ...adsOf(next).filter(open)]
    : campaign;
  return unit.length > 0 ? { kind: "create", unit } : { kind: "verify" };
}

/**
 * The unit to commit while `unit` is on the wire: the next one, planned as if `unit` comes back
 * created. Only slots never tried (pending): an intent left unsent is withdrawn, and only a
 * first one can be (public.withdraw_slot_creations).
 */
export function followingUnit(slots: Slot[], unit: Slot[]): Slot[] {
  const sent = new Set(unit.map((s) => s.id));
  const step = nextCreationStep(
    slots.map((s) => sent.has(s.id) ? { ...s, status: "created" as const } : s),
  );
  return step.kind === "create" && step.unit.every((s) => s.status === "pending") ? step.unit : [];
}

/**
 * The batch that creates `unit`: each slot's object under its deterministic name, parents in the
 * same batch referenced by `{result=...}`, the others by the id Meta gave them.
 */
export function creationBatch(
  unit: Slot[],
  slots: Slot[],
  request: CampaignCreateRequest,
  act: string,
): BatchOperation[] {
  const inUnit = (slot: Slot | undefined) => slot !== undefined && unit.includes(slot);
  const campaignSlot = slotsOf(slots, "campaign")[0];
  const { creativeId, ...adTemplate } = request.ads.template;
  return unit.map((slot): BatchOperation => {
    if (slot.entity_type === "campaign") {
      return {
        method: "POST",
        path: `/${act}/campaigns`,
        name: "campaign",
        params: { ...request.campaign, name: slot.entity_name },
      };
    }
    if (slot.entity_type === "ad_set") {
      return {
        method: "POST",
        path: `/${act}/adsets`,
        name: "adset",
        params: {
          ...request.adSets.template,
          name: slot.entity_name,
          campaign_id: inUnit(campaignSlot) ? "{result=campaign:$.id}" : campaignSlot.facebook_id!,
        },
      };
    }
    const adSet = slotsOf(slots, "ad_set").find((s) => s.slot_number === slot.parent_slot_number);
    return {
      method: "POST",
      path: `/${act}/ads`,
      params: {
        ...adTemplate,
        name: slot.entity_name,
        adset_id: inUnit(adSet) ? "{result=adset:$.id}" : adSet!.facebook_id!,
        creative: { creative_id: creativeId },
      },
    };
  });
}

/** The slot a batch item was for failed only because its parent in the same batch failed. */
export function parentFailedInBatch(slot: Slot, unit: Slot[], failed: Set<Slot>): boolean {
  return unit.some((parent) =>
    failed.has(parent) &&
    ((slot.entity_type === "ad" && parent.entity_type === "ad_set" &&
      parent.slot_number === slot.parent_slot_number) ||
      (slot.entity_type === "ad_set" && parent.entity_type === "campaign"))
  );
}
