/** The simulated clock: real time plus an offset that tests move with POST /__sim/clock. */

export const DAY_MS = 86_400_000;

export class SimClock {
  #offsetMs = 0;

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  advance(seconds: number): void {
    this.#offsetMs += seconds * 1000;
  }

  /** Jump to an absolute instant; time keeps flowing from there. */
  set(ms: number): void {
    this.#offsetMs = ms - Date.now();
  }

  offsetSeconds(): number {
    return this.#offsetMs / 1000;
  }

  reset(): void {
    this.#offsetMs = 0;
  }
}

/** UTC calendar day "YYYY-MM-DD" of an instant (accounts are simulated in UTC). */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

export function addDays(day: string, n: number): string {
  return dayOf(dayStartMs(day) + n * DAY_MS);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((dayStartMs(to) - dayStartMs(from)) / DAY_MS);
}

/** Meta's timestamp format, e.g. 2024-03-10T12:00:00+0000. */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+0000");
}
