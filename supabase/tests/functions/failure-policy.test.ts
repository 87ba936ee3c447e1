// The creation jobs' failure policy (creation/failure-policy.ts): pure functions, tested as such.
// What matters is which action a failure leads to and how long it waits.
import assert from "node:assert/strict";
import {
  creationFailureAction,
  type JobFailureContext,
  rollbackFailureAction,
  rollbackTransientRetries,
} from "../../functions/_shared/creation/failure-policy.ts";
import type { GraphError } from "../../functions/_shared/meta/graph-errors.ts";

const transient: GraphError = { class: "TEMPORARY", message: "Service temporarily unavailable" };
const lost: GraphError = { class: "UNKNOWN_OUTCOME", message: "the answer was lost" };
const refused: GraphError = { class: "PERMANENT", message: "account disabled" };
const throttled: GraphError = {
  class: "RATE_LIMIT",
  message: "too many calls",
  retryAfterMs: 90_000,
};

const job = (overrides: Partial<JobFailureContext> = {}): JobFailureContext => ({
  jobId: 7,
  retriesUsed: 0,
  retryBudget: 5,
  rollbackAttempts: 0,
  ...overrides,
});

/** Seconds from now until the action's time. */
function waitSeconds(action: ReturnType<typeof rollbackFailureAction>): number {
  const at = action.kind === "retry" ? action.at : "until" in action ? action.until : new Date();
  return (at.getTime() - Date.now()) / 1000;
}

Deno.test("creating: a transient failure spends a retry; a refusal or a spent budget rolls back", () => {
  assert.equal(creationFailureAction(transient, job()).kind, "retry");
  assert.equal(creationFailureAction(refused, job()).kind, "roll_back");
  assert.equal(creationFailureAction(transient, job({ retriesUsed: 5 })).kind, "roll_back");
  const outage = new Date(Date.now() + 40_000);
  assert.deepEqual(creationFailureAction(lost, job({ outageUntil: outage })).kind, "wait");
  const wait = creationFailureAction(throttled, job());
  assert.equal(wait.kind, "wait");
  assert.ok(Math.abs(waitSeconds(wait) - 90) < 1, "a rate limit waits for Meta's regain time");
});

Deno.test("rolling back: a transient failure or a lost answer is tried again within seconds", () => {
  for (const error of [transient, lost]) {
    for (let n = 1; n <= rollbackTransientRetries; n++) {
      const action = rollbackFailureAction(
        error,
        job({ rollbackAttempts: 6, transientRollbackFailures: n }),
      );
      assert.equal(action.kind, "wait", `${error.class} #${n}`);
      // The job backoff's ceiling (16 s), not the blocked rollback's doubling (6 blocks: 16 min).
      assert.ok(waitSeconds(action) <= 16, `${error.class} #${n} waits ${waitSeconds(action)} s`);
    }
  }
});

Deno.test("rolling back: transient failures that persist block the rollback, with its doubling wait", () => {
  const action = rollbackFailureAction(
    transient,
    job({ rollbackAttempts: 2, transientRollbackFailures: rollbackTransientRetries + 1 }),
  );
  assert.equal(action.kind, "block_rollback");
  assert.ok(Math.abs(waitSeconds(action) - 60) < 1, "15 s doubled twice");
});

Deno.test("rolling back: Meta down for the account waits for the outage; a rate limit for Meta", () => {
  const outage = new Date(Date.now() + 40_000);
  const down = rollbackFailureAction(
    lost,
    job({ outageUntil: outage, transientRollbackFailures: 1 }),
  );
  assert.deepEqual(down, {
    kind: "wait",
    until: outage,
    reason: `Meta unavailable: ${lost.message}`,
  });
  const wait = rollbackFailureAction(throttled, job({ rollbackAttempts: 9 }));
  assert.equal(wait.kind, "wait");
  assert.ok(Math.abs(waitSeconds(wait) - 90) < 1);
});

Deno.test("rolling back: a refusal blocks, 15 s doubling with each block, an hour at most", () => {
  const waits = [0, 1, 2, 10].map((attempts) =>
    Math.round(waitSeconds(rollbackFailureAction(refused, job({ rollbackAttempts: attempts }))))
  );
  assert.deepEqual(waits, [15, 30, 60, 3600]);
  assert.equal(rollbackFailureAction(refused, job()).kind, "block_rollback");
});
