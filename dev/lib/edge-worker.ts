// One function invocation, inside a Deno Worker of its own, as Supabase's edge runtime runs each
// request in an isolate: it provides `EdgeRuntime.waitUntil`, captures the handler that the
// function's index.ts hands to Deno.serve (so that file deploys unchanged), answers one request,
// then stays alive until the background work it was given settles. The gateway
// (dev/functions-server.ts) measures this thread's CPU time, enforces the limits and, when one is
// hit, sends `beforeunload` with the reason before it terminates the worker.
import {
  type GatewayMessage,
  threadCpuMs,
  type WorkerMessage,
  type WorkerRequest,
} from "./edge-protocol.ts";

type FetchHandler = (req: Request) => Response | Promise<Response>;

/** The worker's own scope (typed here: the project type-checks against Deno's window types). */
const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<GatewayMessage>) => void) | null;
};
const post = (message: WorkerMessage, transfer: Transferable[] = []) =>
  scope.postMessage(message, transfer);

const background = new Set<Promise<unknown>>();

/** Supabase's EdgeRuntime global, as far as functions use it. */
const edgeRuntime = {
  waitUntil(work: Promise<unknown>): void {
    const tracked = Promise.resolve(work).catch((error) => {
      // As the hosted runtime does: a failed background task is logged, never lost silently.
      console.error(JSON.stringify({
        level: "error",
        time: new Date().toISOString(),
        message: "background task failed (EdgeRuntime.waitUntil)",
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }));
    }).finally(() => background.delete(tracked));
    background.add(tracked);
  },
};
Object.defineProperty(globalThis, "EdgeRuntime", { value: edgeRuntime, enumerable: false });

function handlerOf(args: unknown[]): FetchHandler {
  const [first, second] = args;
  if (typeof first === "function") return first as FetchHandler;
  if (typeof second === "function") return second as FetchHandler;
  return (first as { handler: FetchHandler }).handler;
}

async function loadHandler(entrypoint: string): Promise<FetchHandler> {
  let handler: FetchHandler | undefined;
  // deno-lint-ignore no-explicit-any
  (Deno as any).serve = (...args: unknown[]) => {
    handler = handlerOf(args);
    return {
      finished: new Promise(() => {}),
      shutdown: () => Promise.resolve(),
      ref() {},
      unref() {},
    };
  };
  await import(entrypoint);
  if (!handler) throw new Error(`${entrypoint} did not call Deno.serve`);
  return handler;
}

async function answer(handler: FetchHandler, request: WorkerRequest): Promise<void> {
  const req = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  let response: Response;
  try {
    response = await handler(req);
  } catch (error) {
    // What the hosted runtime answers when the handler itself throws.
    console.error(JSON.stringify({
      level: "error",
      time: new Date().toISOString(),
      message: "uncaught error in the function's handler",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }));
    response = Response.json({ code: "WORKER_ERROR", message: "Function exited due to an error" }, {
      status: 500,
    });
  }
  const body = await response.arrayBuffer();
  post({
    type: "response",
    status: response.status,
    headers: [...response.headers],
    body,
  }, [body]);
}

scope.onmessage = async (event: MessageEvent<GatewayMessage>) => {
  const message = event.data;
  if (message.type === "beforeunload") {
    globalThis.dispatchEvent(
      new CustomEvent("beforeunload", { detail: { reason: message.reason } }),
    );
    return;
  }
  if (message.type !== "request") return;
  let handler: FetchHandler;
  try {
    handler = await loadHandler(message.entrypoint);
  } catch (error) {
    post({ type: "boot_error", error: error instanceof Error ? error.message : String(error) });
    return;
  }
  const thread = Deno.readLinkSync("/proc/thread-self");
  post({ type: "started", thread, cpuMs: threadCpuMs(thread) });
  await answer(handler, message);
  while (background.size > 0) await Promise.allSettled([...background]);
  post({ type: "done" });
};
