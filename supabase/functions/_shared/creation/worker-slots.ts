// A creation-worker run's slot: the database allows a fixed number of runs at once
// (creation_worker_slots), so a burst of launches cannot pile up runs, each with its own
// connections. The run holds its slot while it works, extending the hold on a heartbeat; a run
// the runtime kills frees its slot when the hold expires.
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { log } from "../platform/log.ts";

/** A hold outlives the heartbeat by this much: a killed run's slot is free again within it. */
const holdSeconds = 30;
const heartbeatMs = 10_000;

export class WorkerSlot {
  private heartbeat: number | undefined;
  /** False once the run no longer holds its slot (expired and taken, or capacity lowered). */
  held = true;

  private constructor(readonly slot: number, readonly runId: string) {}

  /** Takes a free slot for the run, or returns null when every slot is held. */
  static async claim(runId: string): Promise<WorkerSlot | null> {
    const [{ slot }] = await db()<{ slot: number | null }[]>`
      select public.claim_creation_worker_slot(${runId}, ${holdSeconds}) as slot`;
    if (slot === null) return null;
    const claimed = new WorkerSlot(slot, runId);
    claimed.heartbeat = setInterval(() => claimed.extend(), heartbeatMs);
    return claimed;
  }

  private async extend(): Promise<void> {
    try {
      await db()`select public.extend_creation_worker_slot(${this.slot}, ${this.runId}, ${holdSeconds})`;
    } catch (error) {
      if (sqlState(error) !== DbErrorCode.notClaimant) {
        // The next beat tries again; the hold outlasts two missed beats.
        log.warn("creation worker slot not extended", {
          runId: this.runId,
          error: error instanceof Error ? error.message : String(error),
        });
        return;
      }
      log.warn("creation worker slot lost: taking no more jobs", { runId: this.runId });
      this.held = false;
      clearInterval(this.heartbeat);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    this.held = false;
    await db()`select public.release_creation_worker_slot(${this.slot}, ${this.runId})`;
  }
}
