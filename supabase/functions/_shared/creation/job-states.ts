// The status names of creation jobs and slots, defined once. The legal moves between them live in
// the database (private.state_transitions, enforced by a trigger); a test checks that these lists
// name exactly the statuses that table knows.

export const jobStatuses = [
  "awaiting_approval",
  "pending",
  "verifying",
  "in_progress",
  "awaiting_confirmation",
  "rolling_back",
  "rollback_blocked",
  "completed",
  "failed",
  "rolled_back",
  "rejected",
] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** Statuses a job ends in: no worker moves it on (a verify request may reopen a completed one). */
export const finalJobStatuses: readonly JobStatus[] = [
  "completed",
  "failed",
  "rolled_back",
  "rejected",
];

/** Statuses of a job still creating (before any rollback was decided). */
export const creatingJobStatuses: readonly JobStatus[] = ["pending", "verifying", "in_progress"];

/** Statuses a worker claims a due job in. */
export const runnableJobStatuses: readonly JobStatus[] = [
  "pending",
  "verifying",
  "in_progress",
  "rolling_back",
  "rollback_blocked",
];

export const slotStatuses = ["pending", "creating", "created", "failed", "rolled_back"] as const;
export type SlotStatus = (typeof slotStatuses)[number];
