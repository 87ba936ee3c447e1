// A function's worker, a Deno Worker (an isolate), as Supabase's edge runtime runs functions: it
// provides `EdgeRuntime.waitUntil`, loads the function's index.ts as it boots and captures the
// handler that file hands to Deno.serve (so it deploys unchanged), then answers the requests the
// gateway sends it, as many at once as it is sent (per_worker sends a live worker every request,
// busy or not). Each request's `done` goes out once its answer is sent and the background work it
// started has settled; `idle` once nothing is in flight. The gateway (dev/functions-server.ts)
// reads this thread's CPU time, enforces the limits and, before it ends the worker, sends
// `beforeunload` with the reason.
import { AsyncLocalStorage } from "node:async_hooks";
import { setPriority } from "node:os";
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
  onmessage:
    | ((event: MessageEvent<{ type: "connect"; entrypoint: string; port: MessagePort }>) => void)
    | null;
};

/** The gateway's end: a port the spawner (dev/lib/edge-spawner.ts) hands over first thing. */
const connected = Promise.withResolvers<{ entrypoint: string; port: MessagePort }>();
scope.onmessage = (event) => connected.resolve(event.data);
const { entrypoint, port } = await connected.promise;
const post = (message: WorkerMessage, transfer: Transferable[] = []) =>
  port.postMessage(message, transfer);
post({ type: "thread", thread });

/** Background work (EdgeRuntime.waitUntil), by the request that started it; 0: none did. */
const background = new Map<number, Set<Promise<unknown>>>();
/** The request whose handling the current code belongs to (timers and promises carry it). */
const requestContext = new AsyncLocalStorage<number>();
let inFlight = 0;

/** Supabase's EdgeRuntime global, as far as functions use it. */
const edgeRuntime = {
  waitUntil(work: Promise<unknown>): void {
    const owner = requestContext.getStore() ?? 0;
    const pending = background.get(owner) ?? background.set(owner, new Set()).get(owner)!;
    const tracked = Promise.resolve(work).catch((error) => {
      // As the hosted runtime does: a failed background task is logged, never lost silently.
      console.error(JSON.stringify({
        level: "error",
        time: new Date().toISOString(),
        message: "background task failed (EdgeRuntime.waitUntil)",
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }));
    }).finally(() => {
      pending.delete(tracked);
      if (owner === 0) reportIdle();
    });
    pending.add(tracked);
  },
};
Object.defineProperty(globalThis, "EdgeRuntime", { value: edgeRuntime, enumerable: false });

function reportIdle(): void {
  if (inFlight === 0 && (background.get(0)?.size ?? 0) === 0) post({ type: "idle" });
}

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
    id: request.id,
    status: response.status,
    headers: [...response.headers],
    body,
  }, [body]);
}

/** Settles once every promise of the set, including those added meanwhile, has settled. */
async function settled(pending: Set<Promise<unknown>> | undefined): Promise<void> {
  while (pending && pending.size > 0) await Promise.allSettled([...pending]);
}

async function serve(handler: FetchHandler, request: WorkerRequest): Promise<void> {
  inFlight++;
  await requestContext.run(request.id, () => answer(handler, request));
  await settled(background.get(request.id));
  background.delete(request.id);
  post({ type: "done", id: request.id });
  inFlight--;
  reportIdle();
}

let handler: FetchHandler | undefined;
try {
  handler = await loadHandler(entrypoint);
  post({ type: "booted" });
} catch (error) {
  post({ type: "boot_error", error: error instanceof Error ? error.message : String(error) });
}

port.onmessage = (event: MessageEvent<GatewayMessage>) => {
  const message = event.data;
  if (message.type === "beforeunload") {
    globalThis.dispatchEvent(
      new CustomEvent("beforeunload", { detail: { reason: message.reason } }),
    );
  } else if (message.type === "request" && handler) {
    serve(handler, message);
  }
};
