/** One simulator's whole state; several simulators in one process share nothing. */

import { SimClock } from "./clock.ts";
import { FaultEngine } from "./faults.ts";
import { RequestLog } from "./request-log.ts";
import { Store } from "./store.ts";

export class SimState {
  readonly store: Store;
  readonly clock = new SimClock();
  readonly log = new RequestLog();
  readonly faults: FaultEngine;
  #trace = 0;

  constructor(readonly seed: number, readonly latencyMs: number, faultSeed = seed) {
    this.store = new Store(seed);
    this.faults = new FaultEngine(faultSeed);
  }

  /** POST /__sim/reset: no accounts, objects, faults, log or clock offset (ids keep growing). */
  reset(): void {
    this.store.clear();
    this.clock.reset();
    this.log.clear();
    this.faults.reset();
  }

  /** An fbtrace_id-like token, unique per answer. */
  traceId(): string {
    return `Sim${(++this.#trace).toString(36).padStart(8, "0")}`;
  }
}
