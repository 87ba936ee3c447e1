// The creation worker: claims due jobs and moves each one forward until it is done, waits, or
// the run's time budget is spent. Layers 3 to 6 live here:
//   - one Graph batch per ad set (the ad set and its ads; the campaign rides in the first),
//     each slot committed as `creating` before the call (intent before the call);
//   - every failure classified: RATE_LIMIT releases the job until Meta's regain time, TEMPORARY
//     and UNKNOWN_OUTCOME spend the job's retry budget, PERMANENT (or a spent budget) rolls back;
//   - a slot whose outcome is unknown is never created blindly: its deterministic name is looked
//     up on Meta first and adopted when found;
//   - after the last slot, everything is read back (multi-id reads, 50 ids each, in one batch):
//     what Meta does not have is created again, what matches no slot is removed;
//   - rollback deletes ads, then ad sets, then the campaign, tolerating what is already gone.
import { z } from "zod";
import { type AdAccountAccess, adAccountById } from "./ad-account-access.ts";
import { onShutdown, runInBackground } from "./background-task.ts";
import { CampaignCreateBody, type CampaignCreateRequest } from "./creation-request.ts";
import type { BatchOperation } from "./graph-client.ts";
import type { GraphError, GraphResult } from "./graph-errors.ts";
import {
  JobLease,
  LeaseLost,
  nextJobDueAt,
  RetryBudgetExhausted,
  type Slot,
  type SlotOutcome,
} from "./job-tracker.ts";
import { log } from "./log.ts";
import { liveEffectiveStatuses } from "./effective-statuses.ts";
import { backoffDelayMs, jobBackoff, keyedJitter, retryRead } from "./retry.ts";

/** The worker function's body: how many jobs a run takes on at once. */
export const WorkerBody = z.object({ concurrency: z.number().int().min(1).max(8).optional() })
  .strict();

export type WorkerOptions = {
  /** Stop claiming new jobs after this long (an edge function has a wall-clock limit). */
  budgetMs?: number;
  leaseSeconds?: number;
  /**
   * Jobs run at the same time (each its own campaign: one worker per job, its batches one at a
   * time). Waiting on Meta dominates, so a few in parallel multiply throughput.
   */
  concurrency?: number;
};

export type JobRunReport = {
  jobId: number;
  status: string;
  nextRunAt?: string;
  lost?: boolean;
  error?: string;
};

/** Jobs one worker run takes on at once; the functions' database pool has 5 connections. */
const defaultConcurrency = 4;

/** Waits shorter than this happen in process; longer ones release the job durably. */
const maxInProcessWaitMs = 5_000;
/**
 * A run with nothing due waits this long at most for a released job to come due (a backoff), so
 * short waits do not cost a whole cron period; longer ones (Meta's rate limits are minutes) are
 * left to the next pg_cron tick.
 */
const maxIdleWaitMs = 20_000;
const maxIdsPerRead = 50;

type Failure = { error: GraphError; slots?: Slot[] };
type Step = "again" | "done";

/** Meta's "object does not exist" (code 100, subcode 33): already deleted, or never kept. */
const isMissingObject = (error: GraphError) => error.code === 100 && error.subcode === 33;
const byType = (slots: Slot[], type: Slot["entity_type"]) =>
  slots.filter((s) => s.entity_type === type);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Claims and runs due jobs until none is left or the budget is spent. */
export async function runCreationWorker(options: WorkerOptions = {}): Promise<JobRunReport[]> {
  const deadline = Date.now() + (options.budgetMs ?? 100_000);
  const leaseSeconds = options.leaseSeconds ?? 60;
  const reports: JobRunReport[] = [];
  const lane = async () => {
    while (Date.now() < deadline) {
      const lease = await JobLease.claimNext(leaseSeconds);
      if (lease) {
        reports.push(await runJob(lease, deadline, leaseSeconds));
        continue;
      }
      const dueAt = await nextJobDueAt();
      const waitMs = dueAt === null ? Infinity : dueAt.getTime() - Date.now();
      if (waitMs > maxIdleWaitMs || Date.now() + waitMs >= deadline) return;
      await sleep(Math.max(waitMs, 0) + 50);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? defaultConcurrency }, lane));
  return reports;
}

async function runJob(
  lease: JobLease,
  deadline: number,
  leaseSeconds: number,
): Promise<JobRunReport> {
  const fields = { jobId: lease.job.id, worker: lease.worker };
  try {
    const request = CampaignCreateBody.safeParse(lease.job.request);
    if (!request.success) {
      // Not a request campaign-create accepted: no worker will ever be able to run it.
      await lease.transition("failed", "the job's stored request is not a valid launch request");
      return { jobId: lease.job.id, status: "failed" };
    }
    const access = await adAccountById(lease.job.ad_account_id);
    const report = await new JobRun(lease, access, request.data, deadline, leaseSeconds).advance();
    log.info("creation job run", { ...fields, ...report });
    return report;
  } catch (error) {
    if (error instanceof LeaseLost) {
      log.warn("creation job lease lost: another worker owns it", fields);
      return { jobId: lease.job.id, status: lease.job.status, lost: true };
    }
    // Unexpected (the database, a bug): this job waits for its lease to expire and is taken up
    // again; the other due jobs still run.
    log.error("creation job run failed", {
      ...fields,
      error: error instanceof Error ? error.message : String(error),
    });
    return {
      jobId: lease.job.id,
      status: lease.job.status,
      error: "internal error; it will be retried",
    };
  }
}

class JobRun {
  private readonly graph;
  private readonly act: string;

  constructor(
    private readonly lease: JobLease,
    access: AdAccountAccess,
    private readonly request: CampaignCreateRequest,
    private readonly deadline: number,
    private readonly leaseSeconds: number,
  ) {
    this.graph = access.graph;
    this.act = access.platformAccountId;
  }

  private get job() {
    return this.lease.job;
  }

  async advance(): Promise<JobRunReport> {
    if (this.job.status === "pending") await this.lease.transition("verifying");
    if (this.job.status === "verifying") {
      // Pre-creation verification (layer 1) ran before the job existed; a dry run stops there.
      await this.lease.transition(this.job.dry_run ? "completed" : "in_progress");
    }
    while (this.job.status === "in_progress" || this.job.status === "rolling_back") {
      if (Date.now() > this.deadline) return await this.releaseFor(0);
      await this.lease.extend(this.leaseSeconds);
      const step = this.job.status === "in_progress"
        ? await this.createStep()
        : await this.rollbackStep();
      if (step === "done") break;
      if (step !== "again") return step;
    }
    return { jobId: this.job.id, status: this.job.status };
  }

  private async releaseFor(waitMs: number): Promise<JobRunReport> {
    const nextRunAt = new Date(Date.now() + waitMs);
    await this.lease.release(nextRunAt);
    return { jobId: this.job.id, status: this.job.status, nextRunAt: nextRunAt.toISOString() };
  }

  // ---- creation ------------------------------------------------------------------------------

  /** One unit of work: resolve unknowns, or create the next ad set with its ads, or verify. */
  private async createStep(): Promise<Step | JobRunReport> {
    const slots = await this.lease.slots();
    if (slots.some((s) => s.status === "creating")) {
      const resolved = await this.resolveUnknown(slots);
      return resolved === "again" ? "again" : await this.onFailure(resolved);
    }
    const unit = this.nextUnit(slots);
    if (unit.length > 0) {
      const created = await this.create(unit, slots);
      if (created === "again") return "again";
      // Meta refusing a child can mean its parent was a silent failure (an id came back, nothing
      // was kept): that is a retry, not a reason to roll back.
      if (created.error.class === "PERMANENT") {
        const silent = await this.readBack(await this.lease.slots());
        if (silent !== 0) return await this.onFailure(silent);
      }
      return await this.onFailure(created);
    }
    const verified = await this.verify(slots);
    if (verified === "again") return "again";
    if (verified !== "done") return await this.onFailure(verified);
    await this.lease.transition("completed");
    return "done";
  }

  /** The campaign and the first ad set still to create, with that ad set's ads still to create. */
  private nextUnit(slots: Slot[]): Slot[] {
    const open = (s: Slot) => s.status === "pending" || s.status === "failed";
    const campaign = byType(slots, "campaign").filter(open);
    const adSets = byType(slots, "ad_set");
    const next = adSets.find((adSet) =>
      open(adSet) ||
      byType(slots, "ad").some((ad) => ad.parent_slot_number === adSet.slot_number && open(ad))
    );
    if (!next) return campaign;
    const ads = byType(slots, "ad").filter((ad) =>
      ad.parent_slot_number === next.slot_number && open(ad)
    );
    return [...campaign, ...(open(next) ? [next] : []), ...ads];
  }

  private operation(slot: Slot, slots: Slot[], unit: Slot[]): BatchOperation {
    const campaignSlot = byType(slots, "campaign")[0];
    const inUnit = (s: Slot | undefined) => s !== undefined && unit.includes(s);
    if (slot.entity_type === "campaign") {
      return {
        method: "POST",
        path: `/${this.act}/campaigns`,
        name: "campaign",
        params: { ...this.request.campaign, name: slot.entity_name },
      };
    }
    if (slot.entity_type === "ad_set") {
      return {
        method: "POST",
        path: `/${this.act}/adsets`,
        name: "adset",
        params: {
          ...this.request.adSets.template,
          name: slot.entity_name,
          campaign_id: inUnit(campaignSlot) ? "{result=campaign:$.id}" : campaignSlot.facebook_id!,
        },
      };
    }
    const adSet = byType(slots, "ad_set").find((s) => s.slot_number === slot.parent_slot_number);
    const { creativeId, ...template } = this.request.ads.template;
    return {
      method: "POST",
      path: `/${this.act}/ads`,
      params: {
        ...template,
        name: slot.entity_name,
        adset_id: inUnit(adSet) ? "{result=adset:$.id}" : adSet!.facebook_id!,
        creative: { creative_id: creativeId },
      },
    };
  }

  private async create(unit: Slot[], slots: Slot[]): Promise<"again" | Failure> {
    await this.lease.beginCreations(unit.map((s) => s.id));
    const result = await this.graph.batch(unit.map((slot) => this.operation(slot, slots, unit)));
    if (!result.ok) {
      // The whole request failed. Only a lost answer may have created anything.
      const unknown = result.error.class === "UNKNOWN_OUTCOME";
      await this.lease.recordOutcomes(unit.map((s) => ({
        slot_id: s.id,
        status: unknown ? "creating" : "failed",
        error: result.error.message,
      })));
      return { error: result.error, slots: unit };
    }
    // An item that failed because its parent in the batch was not created says nothing about
    // itself: it is simply created again later. Only the other failures are weighed.
    const parentFailed = (slot: Slot) =>
      unit.some((parent, j) =>
        !result.data[j].ok &&
        ((slot.entity_type === "ad" && parent.entity_type === "ad_set" &&
          parent.slot_number === slot.parent_slot_number) ||
          (slot.entity_type === "ad_set" && parent.entity_type === "campaign"))
      );
    const outcomes: SlotOutcome[] = [];
    const failures: GraphError[] = [];
    for (const [i, slot] of unit.entries()) {
      const answer = result.data[i];
      if (answer.ok) {
        outcomes.push({
          slot_id: slot.id,
          status: "created",
          facebook_id: (answer.data as { id: string }).id,
        });
      } else if (answer.error.class === "UNKNOWN_OUTCOME") {
        outcomes.push({ slot_id: slot.id, status: "creating", error: answer.error.message });
        failures.push(answer.error);
      } else if (parentFailed(slot)) {
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
    await this.lease.recordOutcomes(outcomes);
    if (failures.length === 0) return "again";
    // The gravest failure decides: a refusal beats a throttle beats a lost answer or a transient one.
    const rank = { PERMANENT: 0, RATE_LIMIT: 1, UNKNOWN_OUTCOME: 2, TEMPORARY: 3 };
    failures.sort((a, b) => rank[a.class] - rank[b.class]);
    return { error: failures[0], slots: unit };
  }

  // ---- unknown outcomes (layer 6) ------------------------------------------------------------

  /** Every live object of a kind in the job's account or campaign, by name. */
  private async liveByName(
    path: string,
    extra: Record<string, unknown> = {},
  ): Promise<GraphResult<Map<string, string[]>>> {
    const listed = await retryRead(() =>
      this.graph.getAll<{ id: string; name: string }>(path, {
        fields: "id,name",
        effective_status: liveEffectiveStatuses,
        ...extra,
      })
    );
    if (!listed.ok) return listed;
    const byName = new Map<string, string[]>();
    for (const { id, name } of listed.data) byName.set(name, [...(byName.get(name) ?? []), id]);
    return { ok: true, data: byName };
  }

  /**
   * Looks up, on Meta, each slot left `creating` by its deterministic name: found = adopt it
   * (extra copies of the same name are deleted), not found = failed, to be created again.
   * Inconclusive (the lookup fails) = left as it is, never guessed.
   */
  private async resolveUnknown(slots: Slot[]): Promise<"again" | Failure> {
    const unknown = slots.filter((s) => s.status === "creating");
    const campaignSlot = byType(slots, "campaign")[0];
    const lookups: Map<string, string[]>[] = [];
    const campaigns = campaignSlot.status === "creating"
      ? await this.liveByName(`/${this.act}/campaigns`, {
        filtering: [{ field: "name", operator: "EQUAL", value: campaignSlot.entity_name }],
      })
      : undefined;
    if (campaigns && !campaigns.ok) return { error: campaigns.error };
    if (campaigns) lookups.push(campaigns.data);
    const campaignId = campaignSlot.facebook_id ??
      campaigns?.data.get(campaignSlot.entity_name)?.[0];
    if (campaignId) {
      for (const edge of ["adsets", "ads"]) {
        const children = await this.liveByName(`/${campaignId}/${edge}`);
        if (!children.ok && isMissingObject(children.error)) {
          // The campaign itself is not on Meta (a silent failure): nothing can be under it.
          if (campaignSlot.status === "created") {
            await this.lease.recordVerification([], [campaignSlot.id]);
          }
          break;
        }
        if (!children.ok) return { error: children.error };
        lookups.push(children.data);
      }
    }
    const outcomes: SlotOutcome[] = [];
    const extras: string[] = [];
    for (const slot of unknown) {
      const [found, ...copies] = lookups.find((l) =>
        l.has(slot.entity_name)
      )?.get(slot.entity_name) ?? [];
      extras.push(...copies);
      outcomes.push(
        found ? { slot_id: slot.id, status: "created", facebook_id: found } : {
          slot_id: slot.id,
          status: "failed",
          error: "not on Meta after an unknown outcome: to be created again",
        },
      );
    }
    const removed = await this.deleteAll(extras);
    if (!removed.ok) return { error: removed.error };
    await this.lease.recordOutcomes(outcomes);
    if (extras.length > 0) log.warn("duplicates removed", { jobId: this.job.id, ids: extras });
    return "again";
  }

  // ---- post-creation verification (layer 4) --------------------------------------------------

  /**
   * Reads every created object back (readBack); then removes the live objects in the job's
   * campaign that match no slot.
   */
  private async verify(slots: Slot[]): Promise<Step | Failure> {
    const silent = await this.readBack(slots);
    if (silent !== 0) return silent;
    const strays = await this.strays(slots);
    if (!strays.ok) return { error: strays.error };
    const removed = await this.deleteAll(strays.data);
    if (!removed.ok) return { error: removed.error };
    if (strays.data.length > 0) {
      log.warn("objects matching no slot removed", { jobId: this.job.id, ids: strays.data });
    }
    return "done";
  }

  /**
   * Reads the created slots' objects back and records the result: 0 when Meta has them all;
   * otherwise the missing ones (silent failures) are failed again and the answer is a failure to
   * retry on, which spends the retry budget like any retry: a Meta that keeps dropping objects
   * ends in a rollback, not in a loop.
   */
  private async readBack(slots: Slot[]): Promise<0 | Failure> {
    const created = slots.filter((s) => s.status === "created" && s.facebook_id);
    const present = await this.presentOnMeta(created.map((s) => s.facebook_id!));
    if (!present.ok) return { error: present.error };
    const missing = created.filter((s) => !present.data.has(s.facebook_id!));
    await this.lease.recordVerification(
      created.filter((s) => present.data.has(s.facebook_id!)).map((s) => s.id),
      missing.map((s) => s.id),
    );
    if (missing.length === 0) return 0;
    log.warn("silent failures found", { jobId: this.job.id, slots: missing.map((s) => s.id) });
    const message = `${missing.length} object(s) reported created are missing on Meta`;
    return { error: { class: "TEMPORARY", message } };
  }

  /**
   * The ids Meta has (and has not deleted), out of `ids`. An unknown id fails its whole read,
   * naming the ids it could not find (#803): the rest are read again without them. When the
   * failure names none of them, the answer is inconclusive: an error, never a guess that would
   * have objects created twice.
   */
  private async presentOnMeta(ids: string[]): Promise<GraphResult<Set<string>>> {
    const present = new Set<string>();
    let toRead = ids;
    while (toRead.length > 0) {
      const chunks: string[][] = [];
      for (let i = 0; i < toRead.length; i += maxIdsPerRead) {
        chunks.push(toRead.slice(i, i + maxIdsPerRead));
      }
      const reads = await retryRead(() =>
        this.graph.batch(chunks.map((chunk) => ({
          method: "GET" as const,
          path: "/",
          params: { ids: chunk.join(","), fields: "id,effective_status" },
        })))
      );
      if (!reads.ok) return reads;
      const again: string[] = [];
      for (const [i, read] of reads.data.entries()) {
        if (read.ok) {
          const objects = read.data as Record<string, { effective_status?: string }>;
          for (const [id, object] of Object.entries(objects)) {
            if (object.effective_status !== "DELETED") present.add(id);
          }
          continue;
        }
        const named = new Set(read.error.message.match(/\d+/g) ?? []);
        const absent = chunks[i].filter((id) => named.has(id));
        if (absent.length === 0) {
          return {
            ok: false,
            error: { ...read.error, message: `read-back inconclusive: ${read.error.message}` },
          };
        }
        again.push(...chunks[i].filter((id) => !named.has(id)));
      }
      toRead = again;
    }
    return { ok: true, data: present };
  }

  /** Live ad sets and ads in the job's campaign that are no slot's object. */
  private async strays(slots: Slot[]): Promise<GraphResult<string[]>> {
    const campaignId = byType(slots, "campaign")[0].facebook_id;
    if (!campaignId) return { ok: true, data: [] };
    const known = new Set(slots.map((s) => s.facebook_id).filter(Boolean));
    const strays: string[] = [];
    for (const edge of ["ads", "adsets"]) {
      const live = await this.liveByName(`/${campaignId}/${edge}`);
      if (!live.ok) return live;
      strays.push(...[...live.data.values()].flat().filter((id) => !known.has(id)));
    }
    return { ok: true, data: strays };
  }

  /** Deletes objects (50 a batch); one that is already gone counts as deleted. */
  private async deleteAll(ids: string[]): Promise<GraphResult<void>> {
    for (let i = 0; i < ids.length; i += maxIdsPerRead) {
      const chunk = ids.slice(i, i + maxIdsPerRead);
      const deleted = await retryRead(() =>
        this.graph.batch(chunk.map((id) => ({ method: "DELETE" as const, path: `/${id}` })))
      );
      if (!deleted.ok) return deleted;
      const failed = deleted.data.find((r) => !r.ok && !isMissingObject(r.error));
      if (failed && !failed.ok) return { ok: false, error: failed.error };
    }
    return { ok: true, data: undefined };
  }

  // ---- failures ------------------------------------------------------------------------------

  private async onFailure(failure: Failure): Promise<Step | JobRunReport> {
    const { error } = failure;
    if (error.class === "RATE_LIMIT") {
      const waitMs = error.retryAfterMs ?? 60_000;
      await this.lease.recordRateLimit(new Date(Date.now() + waitMs));
      return await this.releaseFor(waitMs);
    }
    if (error.class === "PERMANENT") {
      return await this.startRollback(`Meta refused: ${error.message}`);
    }
    try {
      await this.lease.spendRetry(`${error.class}: ${error.message}`);
    } catch (spent) {
      if (spent instanceof RetryBudgetExhausted) {
        return await this.startRollback(`retry budget exhausted; last error: ${error.message}`);
      }
      throw spent;
    }
    const attempt = this.job.retry_count++;
    const waitMs = backoffDelayMs(attempt, jobBackoff, keyedJitter(`${this.job.id}:${attempt}`));
    if (waitMs <= maxInProcessWaitMs && Date.now() + waitMs < this.deadline) {
      await sleep(waitMs);
      return "again";
    }
    return await this.releaseFor(waitMs);
  }

  private async startRollback(reason: string): Promise<Step> {
    await this.lease.transition(
      this.job.rollback_policy === "confirm" ? "awaiting_confirmation" : "rolling_back",
      reason,
    );
    return this.job.status === "rolling_back" ? "again" : "done";
  }

  // ---- rollback (layer 5) --------------------------------------------------------------------

  /** Ads, then ad sets, then the campaign; unknown outcomes are looked up first, so none is left behind. */
  private async rollbackStep(): Promise<Step | JobRunReport> {
    let slots = await this.lease.slots();
    if (slots.some((s) => s.status === "creating")) {
      const resolved = await this.resolveUnknown(slots);
      if (resolved !== "again") return await this.onRollbackFailure(resolved);
      slots = await this.lease.slots();
    }
    for (const type of ["ad", "ad_set", "campaign"] as const) {
      const live = byType(slots, type).filter((s) => s.status === "created");
      const deleted = await this.deleteAll(live.map((s) => s.facebook_id!));
      if (!deleted.ok) return await this.onRollbackFailure({ error: deleted.error });
      await this.lease.markRolledBack(live.map((s) => s.id));
    }
    await this.lease.markRolledBack(
      slots.filter((s) => s.status !== "rolled_back").map((s) => s.id),
    );
    await this.lease.transition("rolled_back");
    return "done";
  }

  /** A rollback is never given up on a transient error: it waits and goes on. */
  private async onRollbackFailure(failure: Failure): Promise<Step | JobRunReport> {
    const { error } = failure;
    if (error.class === "PERMANENT") {
      await this.lease.transition("failed", `rollback impossible: ${error.message}`);
      return "done";
    }
    return await this.releaseFor(
      error.retryAfterMs ??
        backoffDelayMs(this.job.retry_count, jobBackoff, keyedJitter(`${this.job.id}:rollback`)),
    );
  }
}

/**
 * Starts a worker run after the response (EdgeRuntime.waitUntil on Supabase and on the local
 * gateway), so a launch starts at once rather than at the next pg_cron tick. Returns the run's
 * id, which its log lines carry.
 */
export function startWorkerInBackground(options: WorkerOptions = {}): string {
  const runId = crypto.randomUUID();
  onShutdown((reason) => {
    // Jobs held by this run keep their leases until they expire; then any run takes them up.
    log.warn("creation worker run cut short by the runtime", { runId, reason });
  });
  runInBackground("creation worker run", async () => {
    const jobs = await runCreationWorker(options);
    log.info("creation worker run finished", { runId, jobs });
  }, { runId });
  return runId;
}
