/** What GET /__sim/requests reports: every Graph HTTP request, its batch items and fired faults. */

import type { FaultDecision, FiredFault } from "./faults.ts";

export interface ItemLog {
  index: number;
  method: string;
  path: string;
  /** The item's relative_url as sent, query string included. */
  relativeUrl: string;
  /** HTTP code of the item's answer; null when it came back null. */
  code: number | null;
}

export interface RequestLogEntry {
  seq: number;
  /** Simulated time of arrival. */
  at: string;
  method: string;
  path: string;
  /** The path and query string as received (what a proxy would log). */
  url: string;
  /** HTTP status answered; null when the connection was dropped. */
  status: number | null;
  dropped: boolean;
  batchSize: number | null;
  items: ItemLog[];
  faults: FiredFault[];
  /** Answered with a rate-limit error because a throttle window was open. */
  throttled: boolean;
  /** Waited in injected delays (delayMs faults), on top of the simulated latency. */
  delayedMs: number;
}

/** Logs a fault decision for the request (or one of its batch items): what fired, the delay. */
export function logFaultDecision(entry: RequestLogEntry, decision: FaultDecision): void {
  entry.faults.push(...decision.fired);
  entry.delayedMs += decision.delayMs;
}

export class RequestLog {
  #entries: RequestLogEntry[] = [];
  #seq = 0;

  begin(method: string, url: URL, at: string): RequestLogEntry {
    const entry: RequestLogEntry = {
      seq: ++this.#seq,
      at,
      method,
      path: url.pathname,
      url: url.pathname + url.search,
      status: null,
      dropped: false,
      batchSize: null,
      items: [],
      faults: [],
      throttled: false,
      delayedMs: 0,
    };
    this.#entries.push(entry);
    return entry;
  }

  entries(): readonly RequestLogEntry[] {
    return this.#entries;
  }

  clear(): void {
    this.#entries = [];
    this.#seq = 0;
  }
}
