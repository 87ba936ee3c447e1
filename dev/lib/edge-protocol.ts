// The messages between the local gateway (dev/functions-server.ts), the spawner that boots the
// functions' workers (dev/lib/edge-spawner.ts) and a worker (dev/lib/edge-worker.ts).

/** A request, as it crosses into the worker (bodies are read whole: no streaming). */
export type WorkerRequest = {
  type: "request";
  /** The gateway's number for it: the worker's answers about it carry it. */
  id: number;
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
  /** First thing: the worker's thread, "<pid>/task/<tid>", whose CPU time the gateway reads. */
  | { type: "thread"; thread: string }
  /** The function's index.ts is loaded: the worker takes requests. */
  | { type: "booted" }
  | { type: "boot_error"; error: string }
  | { type: "response"; id: number; status: number; headers: [string, string][]; body: ArrayBuffer }
  /** The request's answer is sent and the EdgeRuntime.waitUntil work it started has settled. */
  | { type: "done"; id: number }
  /** No request in flight and no background work pending. */
  | { type: "idle" };

/**
 * From the gateway to the spawner (dev/lib/edge-spawner.ts): boot a worker of the function at
 * `entrypoint` (its index.ts, a file URL) on `port`, or end one.
 */
export type SpawnerRequest =
  | { type: "spawn"; isolate: string; entrypoint: string; port: MessagePort }
  | { type: "terminate"; isolate: string };

/** From the spawner: a worker's uncaught error. */
export type SpawnerEvent = { type: "worker_error"; isolate: string; error: string };
