// The messages between the local gateway (dev/functions-server.ts), the spawner that boots the
// functions' workers (dev/lib/edge-spawner.ts) and a worker (dev/lib/edge-worker.ts).

/** The request, as it crosses into the worker (bodies are read whole: no streaming). */
export type WorkerRequest = {
  type: "request";
  /** The function's index.ts, as a file URL (loaded by the worker's first request). */
  entrypoint: string;
  url: string;
  method: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
};

/**
 * Why a worker is being shut down: the reasons Supabase's runtime gives `beforeunload`
 * (`early_drop`: an idle worker dropped, once retired or after the idle timeout).
 */
export type ShutdownReason = "wall_clock" | "cpu" | "early_drop" | "termination";

export type GatewayMessage = WorkerRequest | { type: "beforeunload"; reason: ShutdownReason };

export type WorkerMessage =
  /**
   * The handler is loaded and this request starts; `thread` is "<pid>/task/<tid>", `cpuMs` its
   * CPU time at that point.
   */
  | { type: "started"; thread: string; cpuMs: number }
  | { type: "boot_error"; error: string }
  | { type: "response"; status: number; headers: [string, string][]; body: ArrayBuffer }
  /** The response is sent and every EdgeRuntime.waitUntil promise has settled: the worker is idle. */
  | { type: "done" };

/** From the gateway to the spawner (dev/lib/edge-spawner.ts): boot a worker on `port`, or end one. */
export type SpawnerRequest =
  | { type: "spawn"; isolate: string; port: MessagePort }
  | { type: "terminate"; isolate: string };

/** From the spawner: a worker's uncaught error. */
export type SpawnerEvent = { type: "worker_error"; isolate: string; error: string };
