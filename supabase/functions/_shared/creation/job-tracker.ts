// The worker's side of a creation job's lease. Every write goes through a SQL function fenced on
// the claim token; when another worker has taken the job over (our lease expired), the database
// answers ADR02 and this module throws LeaseLost, which ends the worker's run without a write.
import { db, DbErrorCode, type EntityType, type Json, type Sql, sqlState } from "../platform/db.ts";

import type { JobStatus, SlotStatus } from "./job-states.ts";

export type { JobStatus, SlotStatus };

export type CreationJob = {
  id: number;
  ad_account_id: string;
  user_id: string;
  campaign_name: string;
  status: JobStatus;
  request: Json;
  retry_count: number;
  retry_budget: number;
  rollback_policy: "auto" | "confirm";
  dry_run: boolean;
  facebook_campaign_id: string | null;
  rollback_attempts: number;
};

export type Slot = {
  id: number;
  slot_number: number;
  entity_type: EntityType;
  parent_slot_number: number | null;
  entity_name: string;
  facebook_id: string | null;
  status: SlotStatus;
  /**
   * A create of it may have been applied without adrail learning the id: objects under its name
   * but not its id are the job's own copies (see entity_creation_slots.may_have_copies).
   */
  may_have_copies: boolean;
};

/** `unknown_outcome`: this resolves a create whose answer never came (sets may_have_copies). */
export type SlotOutcome =
  & (
    | { slot_id: number; status: "created"; facebook_id: string }
    | { slot_id: number; status: "failed" | "creating"; error: string }
  )
  & { unknown_outcome?: true };

/** Another worker holds the job now: stop, write nothing. */
export class LeaseLost extends Error {}

/** The job's retry budget is spent: the caller rolls back. */
export class RetryBudgetExhausted extends Error {}

/** When the soonest unclaimed job becomes claimable (backoff, throttle), or null when none waits. */
export async function nextJobDueAt(): Promise<Date | null> {
  const [{ due_at }] = await db()<{ due_at: Date | null }[]>`
    select public.next_creation_job_due_at() as due_at`;
  return due_at;
}

/** A Slot's columns, of entity_creation_slots or of a function returning its rows. */
const slotColumns = (sql: Sql) =>
  sql`id::int, slot_number, entity_type, parent_slot_number, entity_name, facebook_id, status, may_have_copies`;

/** A lease renewed (claimed or extended) this recently is not extended again. */
const renewalIntervalMs = 1_000;

/** A job's lease, held by one worker (its claim token). */
export class JobLease {
  /** When the lease was last claimed or extended (performance.now()). */
  private renewedAt = performance.now();

  private constructor(readonly job: CreationJob, readonly worker: string) {}

  /** The next due job, claimed, or null. */
  static async claimNext(leaseSeconds: number): Promise<JobLease | null> {
    const worker = `creation-worker:${crypto.randomUUID()}`;
    const [job] = await db()<CreationJob[]>`
      select * from public.claim_campaign_creation_job(${worker}, ${leaseSeconds})`;
    return job ? new JobLease(normalize(job), worker) : null;
  }

  private async fenced<T>(query: Promise<T>): Promise<T> {
    try {
      return await query;
    } catch (error) {
      if (sqlState(error) === DbErrorCode.notClaimant) {
        throw new LeaseLost(`job ${this.job.id}: lease lost`);
      }
      if (sqlState(error) === DbErrorCode.retryBudgetExhausted) {
        throw new RetryBudgetExhausted((error as Error).message);
      }
      throw error;
    }
  }

  async slots(): Promise<Slot[]> {
    const sql = db();
    return await sql<Slot[]>`
      select ${slotColumns(sql)} from public.entity_creation_slots where job_id = ${this.job.id}
      order by array_position(array['campaign', 'ad_set', 'ad'], entity_type), slot_number`;
  }

  /** The heartbeat before a step: extends the lease unless it was renewed just now. */
  async keepAlive(leaseSeconds: number): Promise<void> {
    if (performance.now() - this.renewedAt < renewalIntervalMs) return;
    await this.fenced(
      db()`select public.extend_campaign_creation_job_lease(${this.job.id}, ${this.worker}, ${leaseSeconds})`,
    );
    this.renewedAt = performance.now();
  }

  /** A claimed job that has not started goes on to in_progress (completed for a dry run). */
  async start(): Promise<void> {
    const [job] = await this.fenced(db()<{ status: JobStatus }[]>`
      select status from public.start_campaign_creation_job(${this.job.id}, ${this.worker})`);
    this.job.status = job.status;
  }

  async transition(to: JobStatus, error?: string): Promise<void> {
    await this.fenced(db()`
      select public.transition_campaign_creation_job(${this.job.id}, ${this.worker}, ${to}, ${
      error ?? null
    })`);
    this.job.status = to;
  }

  async spendRetry(error: string): Promise<void> {
    await this.fenced(
      db()`select public.consume_campaign_creation_job_retry(${this.job.id}, ${this.worker}, ${error})`,
    );
  }

  async release(nextRunAt: Date): Promise<void> {
    await this.fenced(
      db()`select public.release_campaign_creation_job(${this.job.id}, ${this.worker}, ${nextRunAt})`,
    );
  }

  async beginCreations(slotIds: number[]): Promise<void> {
    await this.fenced(
      db()`select public.begin_slot_creations(${this.job.id}, ${this.worker}, ${slotIds})`,
    );
  }

  /** Intents committed for a batch that was never sent: those slots are pending again. */
  async withdrawCreations(slotIds: number[]): Promise<void> {
    await this.fenced(
      db()`select public.withdraw_slot_creations(${this.job.id}, ${this.worker}, ${slotIds})`,
    );
  }

  async recordOutcomes(outcomes: SlotOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const sql = db();
    await this.fenced(
      sql`select public.record_slot_outcomes(${this.job.id}, ${this.worker}, ${
        sql.json(outcomes)
      })`,
    );
  }

  /**
   * A clean batch's outcomes, the lease extended and the next batch's intent, in one transaction
   * (sent while the batch between them is on the wire); returns the slots it wrote, as they now are.
   */
  async recordOutcomesAndBegin(
    outcomes: SlotOutcome[],
    nextSlotIds: number[],
    leaseSeconds: number,
  ): Promise<Slot[]> {
    const sql = db();
    const written = await this.fenced(sql<Slot[]>`
      select ${
      slotColumns(sql)
    } from public.record_slot_outcomes_and_begin_next(${this.job.id}, ${this.worker},
        ${sql.json(outcomes)}, ${nextSlotIds}, ${leaseSeconds})`);
    this.renewedAt = performance.now();
    return written;
  }

  async recordVerification(present: number[], missing: number[]): Promise<void> {
    await this.fenced(db()`
      select public.record_slot_verification(${this.job.id}, ${this.worker}, ${present}, ${missing})`);
  }

  async markRolledBack(slotIds: number[]): Promise<void> {
    await this.fenced(
      db()`select public.mark_slots_rolled_back(${this.job.id}, ${this.worker}, ${slotIds})`,
    );
  }

  /** Stores, before a rollback deletes them, the objects' fields as Meta reported them. */
  async recordAudit(
    entries: { entity_type: EntityType; facebook_id: string; fields: Json }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const sql = db();
    await this.fenced(
      sql`select public.record_rollback_audit(${this.job.id}, ${this.worker}, ${
        sql.json(entries)
      })`,
    );
  }

  /** Objects in the job's campaign that adrail did not create: reported, never touched. */
  async recordUnowned(
    objects: { entity_type: EntityType; facebook_id: string; name: string }[],
  ): Promise<void> {
    const sql = db();
    await this.fenced(
      sql`select public.record_unowned_objects(${this.job.id}, ${this.worker}, ${
        sql.json(objects)
      })`,
    );
  }

  /** The rollback cannot proceed: the job waits in rollback_blocked until `until`, released. */
  async blockRollback(reason: string, until: Date): Promise<void> {
    await this.fenced(
      db()`select public.block_rollback(${this.job.id}, ${this.worker}, ${reason}, ${until})`,
    );
    this.job.status = "rollback_blocked";
    this.job.rollback_attempts++;
  }

  async recordRateLimit(until: Date): Promise<void> {
    await db()`select public.record_ad_account_rate_limit(${this.job.ad_account_id}, ${until})`;
  }

  /**
   * Meta failed a probe of the account too: its breaker opens (the wait doubles with each
   * consecutive outage, from `baseMs` to `capMs`); returns until when its jobs wait.
   */
  async recordOutage(backoff: { baseMs: number; capMs: number }): Promise<Date> {
    const [{ until }] = await db()<{ until: Date }[]>`
      select public.record_meta_outage(${this.job.ad_account_id}, ${backoff.baseMs / 1000},
        ${backoff.capMs / 1000}) as until`;
    return until;
  }

  async clearOutage(): Promise<void> {
    await db()`select public.clear_meta_outage(${this.job.ad_account_id})`;
  }
}

function normalize(job: CreationJob): CreationJob {
  return { ...job, id: Number(job.id) };
}
