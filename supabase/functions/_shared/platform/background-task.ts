// Work that goes on after the response. On Supabase (and the local gateway, which provides the
// same global) it is handed to EdgeRuntime.waitUntil, which keeps the isolate alive until it
// settles, within the wall-clock limit; in a plain Deno process it simply runs. Either way a
// failure is logged, in the log context the work was started in, never lost.
import { log } from "./log.ts";

type EdgeRuntimeApi = { waitUntil(work: Promise<unknown>): void };

export function runInBackground(task: string, work: () => Promise<unknown>): void {
  const running = work().catch((error) => {
    log.error(`${task} failed`, { error: error instanceof Error ? error.message : String(error) });
  });
  (globalThis as { EdgeRuntime?: EdgeRuntimeApi }).EdgeRuntime?.waitUntil(running);
}

/**
 * Calls `onShutdown` with the runtime's reason (wall_clock, cpu, early_drop, termination...) before
 * it ends the isolate. Returns the disposer: an isolate serves many requests (Supabase's
 * per_worker policy), so a run removes its listener when it ends, or a later shutdown would call
 * it for a run long finished.
 */
export function onShutdown(onShutdown: (reason: string) => void): () => void {
  const listener = (event: Event) => {
    onShutdown(String((event as CustomEvent<{ reason?: string }>).detail?.reason ?? "unknown"));
  };
  globalThis.addEventListener("beforeunload", listener);
  return () => globalThis.removeEventListener("beforeunload", listener);
}
