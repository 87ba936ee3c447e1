// One creation job's run, as a short pipeline of named steps, each returning one result:
//   - plan (plan.ts): resolve unknown outcomes first, else create the next ad set with its ads in
//     one batch (intent committed before the call), else verify; while a batch is on the wire,
//     one call records the clean batch before it and commits the next one's intent, so that
//     batches leave back to back (a next batch left unsent has its intent withdrawn);
//   - resolve unknowns: a slot left `creating` is looked up on Meta by its deterministic name and
//     adopted when found, never created blindly (meta-inventory.ts);
//   - verify: everything read back through the campaign and its edges in one batch; what Meta
//     lacks is created again, copies of the job's own objects are removed, anything else in the
//     campaign is reported and left alone;
//   - roll back (rollback.ts): ads, ad sets, campaign, audited first; a rollback that cannot
//     proceed blocks and is tried again later, for as long as it takes.
// Every decision on a failure is the failure policy's (failure-policy.ts).
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import type { CampaignCreateRequest } from "./creation-request.ts";
import type { GraphClient } from "../meta/graph-client.ts";
import type { GraphError, GraphResult } from "../meta/graph-errors.ts";
import { type JobLease, RetryBudgetExhausted, type Slot, type SlotOutcome } from "./job-tracker.ts";
import { log } from "../platform/log.ts";
import { writableAccountStatuses } from "../meta/effective-statuses.ts";
import {
  creatingJobStatuses,
  finalJobStatuses,
  type JobStatus,
  runnableJobStatuses,
} from "./job-states.ts";
import { creationBatch, followingUnit, nextCreationStep, parentFailedInBatch } from "./plan.ts";
import {
  isOnMeta,
  type JobInventory,
  objectsOf,
  readJobInventory,
  strangers,
} from "./meta-inventory.ts";
import {
  creationFailureAction,
  type FailureAction,
  type JobFailureContext,
  mayBeOutage,
  outageBackoff,
  rollbackFailureAction,
} from "./failure-policy.ts";
import { deleteObjects, rollBack } from "./rollback.ts";
import type { RunBudget } from "../platform/run-budget.ts";

export type JobRunReport = {
  jobId: number;
  status: JobStatus;
  nextRunAt?: string;
  lost?: boolean;
  error?: string;
};

/** Waits shorter than this happen in process; longer ones release the job durably. */
const maxInProcessWaitMs = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a step did: go on, the job now waits (released), or no worker step is left. */
type StepResult = { kind: "next" } | { kind: "released"; at: Date } | { kind: "settled" };

const next: StepResult = { kind: "next" };
const settled: StepResult = { kind: "settled" };

export class JobPipeline {
  private readonly graph: GraphClient;
  private readonly act: string;
  /** Transient failures of the rollback in this run: a few are retried soon, then it blocks. */
  private transientRollbackFailures = 0;
  /**
   * The next batch, its intent committed while the clean batch before it was on the wire, whose
   * outcomes (`unrecorded`) are written while this one is: to be sent next.
   */
  private prepared: { unit: Slot[]; slots: Slot[]; unrecorded: SlotOutcome[] } | undefined;

  constructor(
    private readonly lease: JobLease,
    access: AdAccountAccess,
    /** Null when the stored request no longer parses: nothing more can be created from it. */
    private readonly request: CampaignCreateRequest | null,
    private readonly budget: RunBudget,
    private readonly leaseSeconds: number,
  ) {
    this.graph = access.graph;
    this.act = access.platformAccountId;
  }

  private get job() {
    return this.lease.job;
  }

  async run(): Promise<JobRunReport> {
    if (!this.request && creatingJobStatuses.includes(this.job.status)) {
      // Whatever it made is rolled back (a rollback needs only the slots).
      await this.apply({
        kind: "roll_back",
        reason: "the job's stored request is not a valid launch request",
      }, { class: "PERMANENT", message: "invalid stored request" });
    }
    // Pre-creation verification ran before the job existed; a dry run stops there.
    if (["pending", "verifying"].includes(this.job.status)) await this.lease.start();
    while (runnableJobStatuses.includes(this.job.status)) {
      await this.lease.keepAlive(this.leaseSeconds);
      this.budget.step();
      const result = this.job.status === "in_progress"
        ? await this.createStep()
        : await this.rollbackStep();
      if (result.kind === "released") return this.report(result.at);
      if (result.kind === "settled") break;
      // Checked after a step, so that every claim moves its job on. A prepared batch is sent
      // whatever the budget: its intent is committed, and the outcomes before it ride on its call.
      if (!this.prepared && this.budget.spent()) return await this.release(new Date());
    }
    // Waiting for a person (awaiting_confirmation): give the job back, so that their answer
    // is taken up at once rather than when this lease expires.
    if (!finalJobStatuses.includes(this.job.status)) return await this.release(new Date());
    return this.report();
  }

  private report(nextRunAt?: Date): JobRunReport {
    return { jobId: this.job.id, status: this.job.status, nextRunAt: nextRunAt?.toISOString() };
  }

  private async release(at: Date): Promise<JobRunReport> {
    await this.lease.release(at);
    return this.report(at);
  }

  // ---- creating ------------------------------------------------------------------------------

  private async createStep(): Promise<StepResult> {
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared) return await this.create(prepared.unit, prepared.slots, prepared.unrecorded);
    const slots = await this.lease.slots();
    const step = nextCreationStep(slots);
    if (step.kind === "create") {
      await this.lease.beginCreations(step.unit.map((s) => s.id));
      return await this.create(step.unit, slots);
    }
    const inventory = await readJobInventory(this.graph, this.act, slots);
    if (!inventory.ok) return await this.onCreationFailure(inventory.error);
    if (step.kind === "resolve_unknowns") {
      const failure = await this.adopt(slots, inventory.data);
      return failure ? await this.onCreationFailure(failure) : next;
    }
    return await this.verify(slots, inventory.data);
  }

  /**
   * One batch, the unit's slots committed `creating` already; their outcomes recorded after.
   * While it is on the wire, one call records the outcomes of the clean batch before it
   * (`unrecorded`), extends the lease and commits the following batch's intent (when the run's
   * budget allows one more), so that the following batch leaves as soon as this one is answered.
   */
  private async create(
    unit: Slot[],
    slots: Slot[],
    unrecorded: SlotOutcome[] = [],
  ): Promise<StepResult> {
    // run() rolled back a job without a valid request before any create step.
    const request = this.request!;
    const following = this.budget.spent() ? [] : followingUnit(slots, unit);
    const [answered, written] = await Promise.allSettled([
      this.graph.batch(creationBatch(unit, slots, request, this.act)),
      unrecorded.length > 0 || following.length > 0
        ? this.lease.recordOutcomesAndBegin(
          unrecorded,
          following.map((s) => s.id),
          this.leaseSeconds,
        )
        : Promise.resolve([]),
    ]);
    // A lost lease (or a failed write) ends the run: the slots left creating are looked up on
    // Meta by whoever claims the job next.
    if (written.status === "rejected") throw written.reason;
    if (answered.status === "rejected") throw answered.reason;
    const result = answered.value;
    const outcomes = result.ok ? this.outcomesOf(unit, result.data) : undefined;
    if (outcomes && outcomes.failures.length === 0) {
      return await this.prepareFollowing(slots, outcomes.outcomes, following, written.value);
    }
    // The following batch was never sent: its slots are pending again, not in doubt.
    if (following.length > 0) await this.lease.withdrawCreations(following.map((s) => s.id));
    if (!result.ok) {
      // The whole request failed. Only a lost answer may have created anything.
      const unknown = result.error.class === "UNKNOWN_OUTCOME";
      await this.lease.recordOutcomes(unit.map((s) => ({
        slot_id: s.id,
        status: unknown ? "creating" : "failed",
        error: result.error.message,
      })));
      return await this.onCreationFailure(result.error);
    }
    const { failures } = outcomes!;
    await this.lease.recordOutcomes(outcomes!.outcomes);
    // The gravest failure decides: a refusal beats a throttle beats a lost answer or a transient one.
    const rank = { PERMANENT: 0, RATE_LIMIT: 1, UNKNOWN_OUTCOME: 2, TEMPORARY: 3 };
    const [gravest] = failures.sort((a, b) => rank[a.class] - rank[b.class]);
    if (gravest.class === "PERMANENT") {
      // Meta refusing a child can mean its parent was a silent failure (an id came back, nothing
      // was kept): then it is that silent failure to retry, not a refusal to roll back on.
      const now = await this.lease.slots();
      const inventory = await readJobInventory(this.graph, this.act, now);
      if (!inventory.ok) return await this.onCreationFailure(inventory.error);
      const silent = await this.recordReadBack(now, inventory.data);
      if (silent) return await this.onCreationFailure(silent);
    }
    return await this.onCreationFailure(gravest);
  }

  /** Each item's outcome for its slot, and the failures among them that the policy weighs. */
  private outcomesOf(
    unit: Slot[],
    answers: GraphResult<unknown>[],
  ): { outcomes: SlotOutcome[]; failures: GraphError[] } {
    const failedSlots = new Set(unit.filter((_, i) => !answers[i].ok));
    const outcomes: SlotOutcome[] = [];
    const failures: GraphError[] = [];
    for (const [i, slot] of unit.entries()) {
      const answer = answers[i];
      if (answer.ok) {
        // The id comes from Meta's answer to this very item.
        const id = (answer.data as { id?: unknown } | undefined)?.id;
        if (typeof id === "string" && id !== "") {
          outcomes.push({ slot_id: slot.id, status: "created", facebook_id: id });
          continue;
        }
        outcomes.push({ slot_id: slot.id, status: "creating", error: "an answer without an id" });
        failures.push({
          class: "UNKNOWN_OUTCOME",
          message: "Meta answered a create without an id",
        });
      } else if (answer.error.class === "UNKNOWN_OUTCOME") {
        outcomes.push({ slot_id: slot.id, status: "creating", error: answer.error.message });
        failures.push(answer.error);
      } else if (parentFailedInBatch(slot, unit, failedSlots)) {
        // Its parent was not created in the same batch: it says nothing about this item.
        outcomes.push({
          slot_id: slot.id,
          status: "failed",
          error: "its parent was not created in the same batch",
        });
      } else {
        outcomes.push({ slot_id: slot.id, status: "failed", error: answer.error.message });
        failures.push(answer.error);
      }
    }
    return { outcomes, failures };
  }

  /**
   * A clean batch: the following batch, its intent committed, is sent next, and these outcomes
   * are written while it is on the wire. Without one (the last batch, or the budget spent), the
   * outcomes are written now.
   */
  private async prepareFollowing(
    slots: Slot[],
    outcomes: SlotOutcome[],
    following: Slot[],
    written: Slot[],
  ): Promise<StepResult> {
    if (following.length === 0) {
      await this.lease.recordOutcomes(outcomes);
      return next;
    }
    const created = new Map(
      outcomes.flatMap((o) => o.status === "created" ? [[o.slot_id, o.facebook_id] as const] : []),
    );
    const byId = new Map(written.map((s) => [s.id, s]));
    const now = (s: Slot): Slot => {
      const id = created.get(s.id);
      return id ? { ...s, status: "created", facebook_id: id } : byId.get(s.id) ?? s;
    };
    this.prepared = { unit: following.map(now), slots: slots.map(now), unrecorded: outcomes };
    return next;
  }

  /**
   * Each slot left `creating` is looked up by its name: found = adopted, absent = failed (to be
   * created again). Its create may have been applied unseen, so from now on until the job
   * completes, further objects under its name (made by a retry) are its copies, and are removed.
   */
  private async adopt(slots: Slot[], inventory: JobInventory): Promise<GraphError | undefined> {
    const adopted = slots.map((slot) => {
      if (slot.status !== "creating") return slot;
      const found = objectsOf(inventory, slot.entity_type).find((o) => o.name === slot.entity_name);
      const inDoubt = { ...slot, may_have_copies: true };
      return found ? { ...inDoubt, status: "created" as const, facebook_id: found.id } : inDoubt;
    });
    const { copies } = strangers(inventory, adopted);
    const removed = await deleteObjects(this.graph, copies);
    if (!removed.ok) return removed.error;
    if (copies.length > 0) {
      log.warn("copies of the job's objects removed", {
        jobId: this.job.id,
        ids: copies.map((o) => o.id),
      });
    }
    await this.lease.recordOutcomes(
      adopted.filter((_, i) => slots[i].status === "creating").map((s): SlotOutcome =>
        s.status === "created"
          ? { slot_id: s.id, status: "created", facebook_id: s.facebook_id!, unknown_outcome: true }
          : {
            slot_id: s.id,
            status: "failed",
            error: "not on Meta after an unknown outcome: to be created again",
            unknown_outcome: true,
          }
      ),
    );
    return undefined;
  }

  /**
   * Records which created slots Meta has; the missing ones (silent failures) are failed again.
   * Returns the failure to retry on when some are missing: it spends the retry budget like any
   * retry, so a Meta that keeps dropping objects ends in a rollback, not in a loop.
   */
  private async recordReadBack(
    slots: Slot[],
    inventory: JobInventory,
  ): Promise<GraphError | undefined> {
    const created = slots.filter((s) => s.status === "created");
    const missing = created.filter((s) => !isOnMeta(inventory, s));
    await this.lease.recordVerification(
      created.filter((s) => isOnMeta(inventory, s)).map((s) => s.id),
      missing.map((s) => s.id),
    );
    if (missing.length === 0) return undefined;
    log.warn("silent failures found", { jobId: this.job.id, slots: missing.map((s) => s.id) });
    return {
      class: "TEMPORARY",
      message: `${missing.length} object(s) reported created are missing on Meta`,
    };
  }

  private async verify(slots: Slot[], inventory: JobInventory): Promise<StepResult> {
    const silent = await this.recordReadBack(slots, inventory);
    if (silent) return await this.onCreationFailure(silent);
    const { copies, unowned } = strangers(inventory, slots);
    await this.recordUnowned(unowned);
    const removed = await deleteObjects(this.graph, copies);
    if (!removed.ok) return await this.onCreationFailure(removed.error);
    await this.lease.transition("completed");
    return settled;
  }

  private async recordUnowned(unowned: ReturnType<typeof strangers>["unowned"]): Promise<void> {
    if (unowned.length > 0) {
      log.warn("objects in the campaign that adrail did not create: left alone", {
        jobId: this.job.id,
        ids: unowned.map((o) => o.id),
      });
    }
    await this.lease.recordUnowned(
      unowned.map((o) => ({ entity_type: o.entityType, facebook_id: o.id, name: o.name })),
    );
  }

  // ---- failures ------------------------------------------------------------------------------

  /** The ad account's status on Meta: the outage probe, and the check before a blocked rollback. */
  private async accountStatus(): Promise<GraphResult<number>> {
    const account = await this.graph.get<{ account_status?: number }>(`/${this.act}`, {
      fields: "account_status",
    });
    return account.ok ? { ok: true, data: Number(account.data.account_status) } : account;
  }

  /** Meta down for the whole account, or this job's own failure? One read of the account tells. */
  private async outageUntil(error: GraphError): Promise<Date | undefined> {
    if (!mayBeOutage(error)) return undefined;
    const probe = await this.accountStatus();
    if (!probe.ok && mayBeOutage(probe.error)) return await this.lease.recordOutage(outageBackoff);
    await this.lease.clearOutage();
    return undefined;
  }

  private async context(error: GraphError): Promise<JobFailureContext> {
    return {
      jobId: this.job.id,
      retriesUsed: this.job.retry_count,
      retryBudget: this.job.retry_budget,
      rollbackAttempts: this.job.rollback_attempts,
      outageUntil: await this.outageUntil(error),
      transientRollbackFailures: this.transientRollbackFailures,
    };
  }

  private async onCreationFailure(error: GraphError): Promise<StepResult> {
    return await this.apply(creationFailureAction(error, await this.context(error)), error);
  }

  private async onRollbackFailure(error: GraphError): Promise<StepResult> {
    if (mayBeOutage(error)) this.transientRollbackFailures++;
    return await this.apply(rollbackFailureAction(error, await this.context(error)), error);
  }

  /** A short wait happens in process; a longer one (or past the run's deadline) releases the job. */
  private async waitUntil(at: Date): Promise<StepResult> {
    if (at.getTime() - Date.now() <= maxInProcessWaitMs && at.getTime() < this.budget.deadline) {
      await sleep(Math.max(0, at.getTime() - Date.now()));
      return next;
    }
    await this.lease.release(at);
    return { kind: "released", at };
  }

  private async apply(action: FailureAction, error: GraphError): Promise<StepResult> {
    switch (action.kind) {
      case "wait":
        if (error.class === "RATE_LIMIT") await this.lease.recordRateLimit(action.until);
        return await this.waitUntil(action.until);
      case "retry":
        try {
          await this.lease.spendRetry(action.reason);
        } catch (spent) {
          if (!(spent instanceof RetryBudgetExhausted)) throw spent;
          return await this.apply({ kind: "roll_back", reason: spent.message }, error);
        }
        this.job.retry_count++;
        return await this.waitUntil(action.at);
      case "roll_back":
        await this.lease.transition(
          this.job.rollback_policy === "confirm" ? "awaiting_confirmation" : "rolling_back",
          action.reason,
        );
        return next;
      case "block_rollback":
        await this.lease.blockRollback(action.reason, action.until);
        log.warn("rollback blocked", {
          jobId: this.job.id,
          reason: action.reason,
          until: action.until,
        });
        return { kind: "released", at: action.until };
    }
  }

  // ---- rolling back --------------------------------------------------------------------------

  private async rollbackStep(): Promise<StepResult> {
    if (this.job.status === "rollback_blocked") {
      // Before each new try: is the account able to take writes again?
      const account = await this.accountStatus();
      if (!account.ok) return await this.onRollbackFailure(account.error);
      const status = account.data;
      if (!writableAccountStatuses.includes(status)) {
        return await this.onRollbackFailure({
          class: "PERMANENT",
          message: `the ad account is not active (account_status ${status})`,
        });
      }
      await this.lease.transition("rolling_back");
    }
    let slots = await this.lease.slots();
    const inventory = await readJobInventory(this.graph, this.act, slots);
    if (!inventory.ok) return await this.onRollbackFailure(inventory.error);
    if (slots.some((s) => s.status === "creating")) {
      const failure = await this.adopt(slots, inventory.data);
      if (failure) return await this.onRollbackFailure(failure);
      slots = await this.lease.slots();
    }
    await this.recordUnowned(strangers(inventory.data, slots).unowned);
    const outcome = await rollBack(this.graph, this.lease, slots, inventory.data);
    if (outcome.kind === "failed") return await this.onRollbackFailure(outcome.error);
    const kept = outcome.keptCampaign;
    await this.lease.transition(
      "rolled_back",
      kept ? `campaign ${kept.id} kept: it holds objects adrail did not create` : undefined,
    );
    return settled;
  }
}
