// A function's worker, a Deno Worker (an isolate), as Supabase's edge runtime runs functions: it
// provides `EdgeRuntime.waitUntil`, loads the function's index.ts once (its first request) and
// captures the handler that file hands to Deno.serve (so it deploys unchanged), then answers the
// requests the gateway sends it, one at a time: each one's `done` goes out once the answer is sent
// and the background work settled. The gateway (dev/functions-server.ts) sends a request only to
// an idle worker, measures this thread's CPU time per request, enforces the limits and, before it
// ends the worker, sends `beforeunload` with the reason.
import { setPriority } from "node:os";
import { threadCpuMs } from "../../supabase/functions/_shared/platform/thread-cpu.ts";
import { type GatewayMessage, type WorkerMessage, type WorkerRequest } from "./edge-protocol.ts";

type FetchHandler = (req: Request) => Response | Promise<Response>;

/** This worker's thread, as /proc names it (`<pid>/task/<tid>`): the gateway reads its CPU time. */
const thread = Deno.readLinkSync("/proc/thread-self");

// On Supabase the gateway and the database run on machines of their own, never in the isolates'
// CPU share; here they share a few cores with many isolate threads, and the kernel's fair share
// per thread would starve the gateway's one thread behind fifty busy isolates. So this thread
// yields to them (nice EDGE_WORKER_NICE, 5 by default; Linux, where a thread id is a process id
// for setpriority). The CPU limit counts this thread's CPU time, which its priority does not change.
try {
  const nice = Number(Deno.env.get("EDGE_WORKER_NICE") ?? 5);
  const threadId = Number(thread.split("/").pop());
  if (nice > 0 && threadId !== Deno.pid) setPriority(threadId, nice);
} catch {
  // Not allowed: the isolate keeps the gateway's priority.
}

/** The worker's own scope (typed here: the project type-checks against Deno's window types). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ type: "connect"; port: MessagePort }>) => void) | null;
};

/** The gateway's end: a port the spawner (dev/lib/edge-spawner.ts) hands over first thing. */
const gateway = Promise.withResolvers<MessagePort>();
scope.onmessage = (event) => gateway.resolve(event.data.port);
const port = await gateway.promise;
const post = (message: WorkerMessage, transfer: Transferable[] = []) =>
  port.postMessage(message, transfer);

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

/** The function's handler, loaded by the first request and kept for the worker's life. */
let loaded: Promise<FetchHandler> | undefined;

port.onmessage = async (event: MessageEvent<GatewayMessage>) => {
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
    loaded ??= loadHandler(message.entrypoint);
    handler = await loaded;
  } catch (error) {
    post({ type: "boot_error", error: error instanceof Error ? error.message : String(error) });
    return;
  }
  post({ type: "started", thread, cpuMs: threadCpuMs(thread) });
  await answer(handler, message);
  while (background.size > 0) await Promise.allSettled([...background]);
  post({ type: "done" });
};
