// Meta's effective_status values. Edges and insights leave DELETED and ARCHIVED objects out
// unless a filter names them, so every read that must see them names them all.

/** Every effective_status of a live object: not deleted, not archived. */
export const liveEffectiveStatuses = [
  "ACTIVE",
  "PAUSED",
  "IN_PROCESS",
  "WITH_ISSUES",
  "CAMPAIGN_PAUSED",
  "ADSET_PAUSED",
  "PENDING_REVIEW",
  "DISAPPROVED",
  "PREAPPROVED",
  "PENDING_BILLING_INFO",
];

/**
 * The ad account statuses (`account_status`) under which Meta takes writes: ACTIVE (1),
 * IN_GRACE_PERIOD (9), and 201, which Meta reports for "any active".
 */
export const writableAccountStatuses: readonly number[] = [1, 9, 201];

/** Every effective_status, DELETED and ARCHIVED included. */
export const allEffectiveStatuses = [...liveEffectiveStatuses, "DELETED", "ARCHIVED"];
