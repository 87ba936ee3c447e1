// Boots and ends the functions' workers (dev/lib/edge-worker.ts) for the gateway
// (dev/functions-server.ts), off its thread: Deno's `new Worker` blocks its caller until the new
// isolate exists (about 60 ms here, far more on a busy machine), and on the gateway's thread a
// burst's boots would hold every other request, warm ones included, behind them. Each worker talks
// to the gateway through the port it is handed; only its boot, end and errors pass here.
import type { SpawnerEvent, SpawnerRequest } from "./edge-protocol.ts";

const scope = self as unknown as {
  postMessage(message: SpawnerEvent): void;
  onmessage: ((event: MessageEvent<SpawnerRequest>) => void) | null;
};

const workers = new Map<string, Worker>();

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "terminate") {
    workers.get(message.isolate)?.terminate();
    workers.delete(message.isolate);
    return;
  }
  const worker = new Worker(new URL("./edge-worker.ts", import.meta.url), { type: "module" });
  worker.onerror = (error) => {
    error.preventDefault();
    scope.postMessage({ type: "worker_error", isolate: message.isolate, error: error.message });
  };
  workers.set(message.isolate, worker);
  worker.postMessage({ type: "connect", entrypoint: message.entrypoint, port: message.port }, [
    message.port,
  ]);
};
