// The local functions server: Supabase's gateway and edge runtime, as far as adrail relies on
// them. Every supabase/functions/<name>/index.ts is served at /functions/v1/<name>, so
// supabase-js's functions.invoke() works against it, and:
//   - `verify_jwt` from supabase/config.toml, per function, as the hosted gateway applies it: no
//     valid JWT (any role signed with the project's key: anon, user or service role; signature
//     and expiry only, with the functions' own verification) → 401 with the gateway's own body,
//     before the function's code runs;
//   - requests run in workers (isolates) with `EdgeRuntime.waitUntil`: the answer goes out,
//     background work goes on until it settles. Supabase's `per_worker` policy (the hosted one,
//     and `supabase functions serve`'s since CLI 2.35): a function's idle worker serves its next
//     request (a warm start), until it is retired at half the wall-clock limit or idle for
//     EDGE_IDLE_TIMEOUT_MS; EDGE_POLICY=oneshot (or `[edge_runtime] policy`) boots one per request;
//   - the wall-clock limit (150 s, EDGE_WALL_CLOCK_SECONDS up to 400) per worker, and the CPU limit
//     (2 s, EDGE_CPU_LIMIT_MS) per request: `beforeunload` with the reason, then the worker ends;
//   - at most EDGE_MAX_WORKERS (64) isolates alive at once; later requests wait their turn at the
//     gateway (each isolate holds tens of MB: 500 at once would exhaust memory);
//   - one JSON log line per invocation with its wall and CPU time and the isolate that served it.
// Each index.ts stays a plain Deno.serve(handler) that deploys unchanged.
import { parse as parseToml } from "smol-toml";
import { verifyProjectJwt } from "../supabase/functions/_shared/platform/auth.ts";
import { jwtKeys } from "../supabase/functions/_shared/platform/config.ts";
import type {
  GatewayMessage,
  ShutdownReason,
  SpawnerEvent,
  SpawnerRequest,
  WorkerMessage,
} from "./lib/edge-protocol.ts";
import { threadCpuMs } from "../supabase/functions/_shared/platform/thread-cpu.ts";

const root = new URL("../", import.meta.url);

export type FunctionsServerOptions = {
  port?: number;
  /** Folder of the functions and of the config.toml that configures them (tests use fixtures). */
  functionsDir?: URL;
  configToml?: URL;
  wallClockMs?: number;
  cpuLimitMs?: number;
  policy?: EdgePolicy;
  idleTimeoutMs?: number;
  /** The most isolates alive at once (EDGE_MAX_WORKERS). */
  maxWorkers?: number;
};

/** What the log says of one invocation (and the benchmark reads). */
export type InvocationRecord = {
  function: string;
  method: string;
  path: string;
  status: number;
  /** ok | rejected by the gateway | ended by a limit. */
  outcome: "ok" | "unauthorized" | "boot_error" | ShutdownReason;
  wallMs: number;
  cpuMs: number;
  /** The worker that served it (none when the gateway refused it). */
  isolate?: string;
  /** Whether that worker had served a request before: a warm start. */
  warm?: boolean;
};

export type FunctionsServer = { url: string; port: number; close(): Promise<void> };

/** Supabase's limits: 150 s wall clock (400 s on paid plans), 2 s of CPU per request. */
const defaultWallClockMs = 150_000;
const maxWallClockMs = 400_000;
const defaultCpuLimitMs = 2_000;
/** Isolates alive at once: each holds tens of MB, so 500 requests at once must not boot 500. */
const defaultMaxWorkers = 64;
/**
 * How long an idle worker waits for a request before it is dropped. Hosted keeps one until it is
 * retired (75 s); 30 s keeps a test's or the benchmark's bursts warm while a machine shared by
 * several stacks does not hold dozens of idle isolates (and their pools) for over a minute.
 */
const defaultIdleTimeoutMs = 30_000;
/** How long a worker has between `beforeunload` and its end. */
const shutdownGraceMs = 500;
const cpuPollMs = 50;

/** The functions: every folder not starting with "_" that has an index.ts. */
export function functionNames(functionsDir = new URL("supabase/functions/", root)): string[] {
  return [...Deno.readDirSync(functionsDir)]
    .filter((e) => e.isDirectory && !e.name.startsWith("_"))
    .filter((e) => {
      try {
        return Deno.statSync(new URL(`${e.name}/index.ts`, functionsDir)).isFile;
      } catch {
        return false;
      }
    })
    .map((e) => e.name)
    .sort();
}

/** verify_jwt per function from config.toml; a function it does not name gets Supabase's default, on. */
export function verifyJwtSettings(configToml: URL): (name: string) => boolean {
  const config = parseToml(Deno.readTextFileSync(configToml)) as {
    functions?: Record<string, { verify_jwt?: boolean }>;
  };
  return (name) => config.functions?.[name]?.verify_jwt ?? true;
}

const gatewayError = (message: string) => Response.json({ code: 401, message }, { status: 401 });

/**
 * The hosted gateway's check, and no more: a JWT signed with the project's key (pinned algorithms)
 * and not expired, whatever its role or claims. The functions apply their own rules after it.
 */
async function gatewayAllows(req: Request): Promise<Response | undefined> {
  const header = req.headers.get("Authorization");
  if (!header) return gatewayError("Missing authorization header");
  const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return gatewayError("Invalid JWT");
  try {
    await verifyProjectJwt(token, jwtKeys());
    return undefined;
  } catch {
    return gatewayError("Invalid JWT");
  }
}

/**
 * The policy: EDGE_POLICY, else config.toml's `[edge_runtime] policy` (as `supabase functions
 * serve` reads it), else `per_worker`.
 */
export function edgePolicy(configToml: URL): EdgePolicy {
  const config = parseToml(Deno.readTextFileSync(configToml)) as {
    edge_runtime?: { policy?: string };
  };
  const policy = Deno.env.get("EDGE_POLICY") || config.edge_runtime?.policy || "per_worker";
  if (policy !== "per_worker" && policy !== "oneshot") {
    throw new Error(`edge runtime policy ${policy}: per_worker or oneshot`);
  }
  return policy;
}

function limitFromEnv(name: string, fallback: number, max = Infinity): number {
  const value = Number(Deno.env.get(name));
  return Number.isFinite(value) && value > 0 ? Math.min(value, max) : fallback;
}

function logInvocation(record: InvocationRecord): void {
  console.log(JSON.stringify({
    level: record.outcome === "ok" || record.outcome === "unauthorized" ? "info" : "error",
    time: new Date().toISOString(),
    message: "invocation",
    ...record,
  }));
}

/** How the runtime runs a function's requests (Supabase's `[edge_runtime] policy`). */
export type EdgePolicy = "per_worker" | "oneshot";

type EdgeSettings = {
  policy: EdgePolicy;
  wallClockMs: number;
  cpuLimitMs: number;
  idleTimeoutMs: number;
};

/**
 * The thread that boots and ends the functions' workers (dev/lib/edge-spawner.ts), so that a boot
 * never holds the gateway's thread; the gateway talks to each worker through a port of its own.
 */
class Spawner {
  readonly #thread = new Worker(new URL("./lib/edge-spawner.ts", import.meta.url), {
    type: "module",
  });
  readonly #onError = new Map<string, (error: string) => void>();

  constructor() {
    this.#thread.onmessage = (event: MessageEvent<SpawnerEvent>) =>
      this.#onError.get(event.data.isolate)?.(event.data.error);
  }

  /** Boots a worker; returns the gateway's end of its port. */
  spawn(isolate: string, onError: (error: string) => void): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.#onError.set(isolate, onError);
    this.#send({ type: "spawn", isolate, port: port2 }, [port2]);
    return port1;
  }

  terminate(isolate: string): void {
    this.#onError.delete(isolate);
    this.#send({ type: "terminate", isolate });
  }

  close(): void {
    this.#thread.terminate();
  }

  #send(message: SpawnerRequest, transfer: Transferable[] = []): void {
    this.#thread.postMessage(message, transfer);
  }
}

/** An invocation in flight in a worker. */
type Invocation = {
  method: string;
  path: string;
  started: number;
  warm: boolean;
  /** The thread's CPU time when the request started (known once the worker says so). */
  cpuAtStart?: number;
  cpuMs: number;
  status: number;
  answer: (response: Response) => void;
};

/**
 * One worker (an isolate) of a function. Per Supabase's `per_worker` policy it serves requests one
 * at a time, for as long as it lives: it is retired (no new requests) at half the wall-clock limit
 * and dropped as soon as it is idle then, dropped after `idleTimeoutMs` idle before that, and
 * ended at the wall-clock limit whatever it is doing. Under `oneshot` it ends after its first
 * request. Idle means no request in flight and no `EdgeRuntime.waitUntil` work pending, so that a
 * request's CPU time is the thread's CPU time while it is the worker's only work.
 */
class FunctionWorker {
  readonly isolate = crypto.randomUUID().slice(0, 8);
  readonly #port: MessagePort;
  readonly #born = performance.now();
  #thread: string | undefined;
  #current: Invocation | undefined;
  #served = 0;
  #retired = false;
  #ending = false;
  #ended = false;
  #idle: number | undefined;
  #cpuWatch: number | undefined;
  readonly #wallClock: number;
  readonly #retirement: number | undefined;

  constructor(
    readonly name: string,
    readonly entrypoint: URL,
    readonly settings: EdgeSettings,
    readonly spawner: Spawner,
    readonly onEnd: (worker: FunctionWorker) => void,
    /** Called when the worker turns idle (it may take a request again). */
    readonly onIdle: () => void,
  ) {
    this.#port = spawner.spawn(this.isolate, (error) => {
      console.error(JSON.stringify({
        level: "error",
        message: "worker error",
        function: name,
        isolate: this.isolate,
        error,
      }));
      this.#end("termination");
    });
    this.#wallClock = setTimeout(() => this.shutDown("wall_clock"), settings.wallClockMs);
    if (settings.policy === "per_worker") {
      this.#retirement = setTimeout(() => {
        this.#retired = true;
        if (!this.#current) this.shutDown("early_drop");
      }, settings.wallClockMs / 2);
    }
    this.#port.onmessage = (event: MessageEvent<WorkerMessage>) => this.#receive(event.data);
  }

  /** Whether a new request may go to this worker. */
  get available(): boolean {
    return !this.#current && !this.#retired && !this.#ending &&
      this.settings.policy === "per_worker";
  }

  /** Sends the request; resolves with the response as soon as the handler answers. */
  invoke(req: Request, body: ArrayBuffer | null): Promise<Response> {
    clearTimeout(this.#idle);
    const { promise, resolve } = Promise.withResolvers<Response>();
    this.#current = {
      method: req.method,
      path: new URL(req.url).pathname,
      started: performance.now(),
      warm: this.#served > 0,
      cpuMs: 0,
      status: 0,
      answer: resolve,
    };
    this.#cpuWatch = setInterval(() => {
      if (this.#readCpu() > this.settings.cpuLimitMs) {
        clearInterval(this.#cpuWatch);
        this.shutDown("cpu");
      }
    }, cpuPollMs);
    // Inside Supabase a function sees its path from its own name on: /<name>/...
    const url = new URL(req.url);
    url.pathname = url.pathname.slice("/functions/v1".length);
    this.#send({
      type: "request",
      entrypoint: this.entrypoint.href,
      url: url.href,
      method: req.method,
      headers: [...req.headers],
      body,
    }, body ? [body] : []);
    return promise;
  }

  /** `beforeunload` with the reason, then, after a grace period, the end. */
  shutDown(reason: ShutdownReason): void {
    if (this.#ending) return;
    this.#ending = true;
    clearTimeout(this.#idle);
    this.#send({ type: "beforeunload", reason });
    setTimeout(() => this.#end(reason), shutdownGraceMs);
  }

  #send(message: GatewayMessage, transfer: Transferable[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  /** The current invocation's CPU time so far (the last reading once the thread is gone). */
  #readCpu(): number {
    const current = this.#current;
    if (!current || !this.#thread || current.cpuAtStart === undefined) return 0;
    try {
      current.cpuMs = threadCpuMs(this.#thread) - current.cpuAtStart;
    } catch {
      // The thread is gone: the last reading stands.
    }
    return current.cpuMs;
  }

  #receive(message: WorkerMessage): void {
    const current = this.#current;
    if (message.type === "started") {
      this.#thread = message.thread;
      if (current) current.cpuAtStart = message.cpuMs;
    } else if (message.type === "response" && current) {
      current.status = message.status;
      current.answer(
        new Response(message.body, { status: message.status, headers: message.headers }),
      );
    } else if (message.type === "done") {
      this.#finish("ok");
      if (this.#ending || this.settings.policy === "oneshot") this.#end("done");
      else if (this.#retired) this.shutDown("early_drop");
      else {
        this.#idle = setTimeout(() => this.shutDown("early_drop"), this.settings.idleTimeoutMs);
        this.onIdle();
      }
    } else if (message.type === "boot_error") {
      console.error(JSON.stringify({
        level: "error",
        message: "boot error",
        function: this.name,
        error: message.error,
      }));
      if (current) {
        current.status = 503;
        current.answer(Response.json({
          code: "BOOT_ERROR",
          message: "Function failed to boot (please check logs)",
        }, { status: 503 }));
      }
      this.#end("boot_error");
    }
  }

  /** Logs the invocation in flight, if any, with its outcome; the worker is idle after it. */
  #finish(outcome: InvocationRecord["outcome"]): void {
    const current = this.#current;
    if (!current) return;
    this.#readCpu();
    clearInterval(this.#cpuWatch);
    this.#current = undefined;
    this.#served++;
    if (current.status === 0) {
      // No answer yet: what the hosted runtime answers when a limit ends a request.
      current.status = 546;
      current.answer(Response.json({
        code: "WORKER_LIMIT",
        message: "Function failed due to not having enough compute resources (please check logs)",
      }, { status: 546 }));
    }
    logInvocation({
      function: this.name,
      method: current.method,
      path: current.path,
      status: current.status,
      outcome,
      wallMs: Math.round(performance.now() - current.started),
      cpuMs: current.cpuMs,
      isolate: this.isolate,
      warm: current.warm,
    });
  }

  /** Ends the worker: `done` when it ended after its work (oneshot, or shut down meanwhile). */
  #end(reason: ShutdownReason | "boot_error" | "done"): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ending = true;
    this.#finish(reason === "done" ? "ok" : reason);
    clearTimeout(this.#wallClock);
    clearTimeout(this.#retirement);
    clearTimeout(this.#idle);
    this.spawner.terminate(this.isolate);
    this.#port.close();
    console.log(JSON.stringify({
      level: "info",
      time: new Date().toISOString(),
      message: "isolate ended",
      function: this.name,
      isolate: this.isolate,
      reason,
      ageMs: Math.round(performance.now() - this.#born),
      invocations: this.#served,
    }));
    this.onEnd(this);
  }
}

/**
 * With a file (FUNCTIONS_RESPONSE_LOG, set by the test command through dev/lib/stack.ts), every
 * answer's status and body is appended to it as a JSON line, for the secret scan
 * (dev/lib/secret-scan.ts); without one, answers pass untouched.
 */
function answerRecorder(file: string | undefined): (response: Response) => Promise<Response> {
  if (!file) return (response) => Promise.resolve(response);
  return async (response) => {
    const body = await response.clone().text();
    await Deno.writeTextFile(file, JSON.stringify({ status: response.status, body }) + "\n", {
      append: true,
    });
    return response;
  };
}

/** Starts the server. Functions read their settings from this process's environment. */
export function startFunctionsServer(options: FunctionsServerOptions = {}): FunctionsServer {
  const functionsDir = options.functionsDir ?? new URL("supabase/functions/", root);
  const names = new Set(functionNames(functionsDir));
  const configToml = options.configToml ?? new URL("supabase/config.toml", root);
  const verifyJwt = verifyJwtSettings(configToml);
  const settings: EdgeSettings = {
    policy: options.policy ?? edgePolicy(configToml),
    idleTimeoutMs: options.idleTimeoutMs ??
      limitFromEnv("EDGE_IDLE_TIMEOUT_MS", defaultIdleTimeoutMs),
    wallClockMs: options.wallClockMs ??
      limitFromEnv("EDGE_WALL_CLOCK_SECONDS", defaultWallClockMs / 1000, maxWallClockMs / 1000) *
        1000,
    cpuLimitMs: options.cpuLimitMs ?? limitFromEnv("EDGE_CPU_LIMIT_MS", defaultCpuLimitMs),
  };
  const spawner = new Spawner();
  /** Each function's live workers. */
  const workers = new Map<string, Set<FunctionWorker>>();
  const live = (name: string) => workers.get(name) ?? workers.set(name, new Set()).get(name)!;
  const maxWorkers = options.maxWorkers ?? limitFromEnv("EDGE_MAX_WORKERS", defaultMaxWorkers);
  /** Requests waiting for a place under `maxWorkers`, woken one at a time. */
  const waiting: (() => void)[] = [];
  const nextTurn = () => waiting.shift()?.();
  const recordAnswer = answerRecorder(Deno.env.get("FUNCTIONS_RESPONSE_LOG"));

  const server = Deno.serve(
    { port: options.port ?? 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => recordAnswer(await gateway(req)),
  );
  async function gateway(req: Request): Promise<Response> {
    const name = new URL(req.url).pathname.match(/^\/functions\/v1\/([^/]+)/)?.[1];
    if (!name || !names.has(name)) {
      return Response.json({ code: "NOT_FOUND", message: "Requested function was not found" }, {
        status: 404,
      });
    }
    // Preflight carries no Authorization: the gateway lets it through to the function.
    if (verifyJwt(name) && req.method !== "OPTIONS") {
      const refusal = await gatewayAllows(req);
      if (refusal) {
        logInvocation({
          function: name,
          method: req.method,
          path: new URL(req.url).pathname,
          status: 401,
          outcome: "unauthorized",
          wallMs: 0,
          cpuMs: 0,
        });
        return refusal;
      }
    }
    const body = req.body ? await req.arrayBuffer() : null;
    return await invokeWorker(name, req, body);
  }
  /**
   * Sends the request to an idle worker of the function, else to a new one while fewer than
   * `maxWorkers` live; at the cap, another function's idle worker is dropped to make room, or the
   * request waits for a worker to turn idle or end. A worker is found and given its request with
   * no await between: another request must not find it idle meanwhile.
   */
  async function invokeWorker(
    name: string,
    req: Request,
    body: ArrayBuffer | null,
  ): Promise<Response> {
    const pool = live(name);
    for (;;) {
      const idle = [...pool].find((worker) => worker.available);
      if (idle) return await idle.invoke(req, body);
      const all = [...workers.values()].flatMap((each) => [...each]);
      if (all.length < maxWorkers) {
        const worker = new FunctionWorker(
          name,
          new URL(`${name}/index.ts`, functionsDir),
          settings,
          spawner,
          (ended) => {
            pool.delete(ended);
            nextTurn();
          },
          nextTurn,
        );
        pool.add(worker);
        return await worker.invoke(req, body);
      }
      all.find((worker) => worker.available)?.shutDown("early_drop");
      await new Promise<void>((turn) => waiting.push(turn));
    }
  }
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      const all = () => [...workers.values()].flatMap((pool) => [...pool]);
      for (const worker of all()) worker.shutDown("termination");
      await server.shutdown();
      while (all().length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      spawner.close();
    },
  };
}

if (import.meta.main) {
  const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? 54321);
  // Another folder of functions and its config.toml (the gateway's own tests use fixtures).
  const dir = Deno.env.get("FUNCTIONS_DIR");
  const functionsDir = dir ? new URL(`file://${dir.replace(/\/?$/, "/")}`) : undefined;
  const server = startFunctionsServer({
    port,
    functionsDir,
    configToml: functionsDir && new URL("config.toml", functionsDir),
  });
  // The first line says where it listens: whoever started it (on port 0) reads it.
  console.log(JSON.stringify({
    message: "listening",
    url: server.url,
    functions: functionNames(functionsDir),
  }));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, async () => {
      await server.close();
      Deno.exit(0);
    });
  }
}
