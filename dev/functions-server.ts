// The local functions server: Supabase's gateway and edge runtime, as far as adrail relies on
// them. Every supabase/functions/<name>/index.ts is served at /functions/v1/<name>, so
// supabase-js's functions.invoke() works against it, and:
//   - `verify_jwt` from supabase/config.toml, per function, as the hosted gateway applies it: no
//     valid JWT (any role signed with the project's key: anon, user or service role; signature
//     and expiry only, with the functions' own verification) → 401 with the gateway's own body,
//     before the function's code runs;
//   - requests run in workers (isolates) with `EdgeRuntime.waitUntil`: the answer goes out,
//     background work goes on until it settles;
//   - the worker pool of Supabase's edge runtime (crates/base/src/worker/pool.rs) under its
//     `per_worker` policy (the hosted one, and `supabase functions serve`'s since CLI 2.35): every
//     request goes to a live worker of its function, busy or not, round robin among them, so one
//     isolate serves many requests at once; a worker boots only when the function has none that
//     takes requests, at most EDGE_MAX_PARALLELISM (the cores) at once; a request that finds none
//     and no room waits for a request to end (one waiter per end) or a worker to retire, up to
//     EDGE_REQUEST_WAIT_TIMEOUT_MS (10 s), then 503. EDGE_POLICY=oneshot (or `[edge_runtime]
//     policy`) boots one per request;
//   - the limits of its per_worker supervisor (strategy_per_worker.rs), with the CLI's values
//     (templates/main.ts): CPU time accumulates per worker over all its requests; at the soft limit
//     (1 s, EDGE_CPU_SOFT_LIMIT_MS) the worker retires (takes no new request, is dropped once idle),
//     at the hard limit (2 s, EDGE_CPU_LIMIT_MS) it ends, and every request in it unanswered gets
//     546; the wall clock (150 s, EDGE_WALL_CLOCK_SECONDS up to 400) retires it at half and ends it
//     at the limit. `beforeunload` gets the reason first;
//   - one JSON log line per invocation with its wall time, the isolate's CPU time while it was in
//     flight and the isolate that served it; one per isolate at its end with its CPU time.
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
};

/** What the log says of one invocation (and the benchmark reads). */
export type InvocationRecord = {
  function: string;
  method: string;
  path: string;
  status: number;
  /** ok | rejected by the gateway | no worker (failed to boot, or none in time) | ended by a limit. */
  outcome: "ok" | "unauthorized" | "boot_error" | "no_worker" | ShutdownReason;
  wallMs: number;
  /**
   * The isolate's CPU time while the invocation was in flight, its background work included: with
   * other requests in the same isolate at once, theirs too (the runtime counts per worker).
   */
  cpuMs: number;
  /** The worker that served it (none when the gateway refused it). */
  isolate?: string;
  /** That worker's CPU time so far, boot included: what its CPU limits count. */
  isolateCpuMs?: number;
  /** Whether that worker had taken a request before: a warm start. */
  warm?: boolean;
};

export type FunctionsServer = { url: string; port: number; close(): Promise<void> };

/** Supabase's limits: 150 s wall clock (400 s on paid plans); CPU per worker, 1 s soft, 2 s hard. */
const defaultWallClockMs = 150_000;
const maxWallClockMs = 400_000;
const defaultCpuHardLimitMs = 2_000;
/**
 * How long an idle worker waits for a request before it is dropped. Hosted keeps one until it is
 * retired (75 s); 30 s keeps a test's or the benchmark's bursts warm while a machine shared by
 * several stacks does not hold idle isolates (and their pools) for over a minute.
 */
const defaultIdleTimeoutMs = 30_000;
/** The pool's request_wait_timeout_ms: how long a request waits for a worker. */
const defaultRequestWaitTimeoutMs = 10_000;
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
  /** A worker's CPU time at which it retires, and at which it is ended. */
  cpuSoftLimitMs: number;
  cpuHardLimitMs: number;
  idleTimeoutMs: number;
  /** A function's workers booting or taking requests at once. */
  maxParallelism: number;
  requestWaitTimeoutMs: number;
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
  spawn(isolate: string, entrypoint: URL, onError: (error: string) => void): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.#onError.set(isolate, onError);
    this.#send({ type: "spawn", isolate, entrypoint: entrypoint.href, port: port2 }, [port2]);
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
  /** The worker's CPU time when the request went in. */
  cpuAtStart: number;
  status: number;
  answer: (response: Response) => void;
};

/** What a worker tells the pool of its function. */
type WorkerEvents = {
  /** A request was answered: one waiting request may try again. */
  requestEnded(worker: FunctionWorker): void;
  /** The worker takes no more requests (retired or ending): every waiting request may try again. */
  retired(worker: FunctionWorker): void;
  ended(worker: FunctionWorker): void;
};

const workerLimit = () =>
  Response.json({
    code: "WORKER_LIMIT",
    message: "Function failed due to not having enough compute resources (please check logs)",
  }, { status: 546 });

/**
 * One worker (an isolate) of a function. It boots (loads the function), then, under `per_worker`,
 * serves every request the pool sends it, many at once, for as long as it takes requests: it
 * retires (no new requests; dropped once idle) at the soft CPU limit or half the wall-clock
 * limit, is dropped after `idleTimeoutMs` idle, and is ended at the hard CPU limit or the
 * wall-clock limit whatever it is doing. Under `oneshot` it serves one request and ends. Idle
 * means no request in flight and no `EdgeRuntime.waitUntil` work pending.
 */
class FunctionWorker {
  readonly isolate = crypto.randomUUID().slice(0, 8);
  readonly #port: MessagePort;
  readonly #born = performance.now();
  readonly #boot = Promise.withResolvers<boolean>();
  #booted = false;
  #thread: string | undefined;
  /** CPU time of the worker's thread so far, boot included (the last reading once it is gone). */
  #cpuMs = 0;
  readonly #inFlight = new Map<number, Invocation>();
  #nextId = 1;
  #taken = 0;
  #retired = false;
  #ending = false;
  #ended = false;
  #idle: number | undefined;
  readonly #cpuWatch: number;
  readonly #wallClock: number;
  readonly #retirement: number | undefined;

  constructor(
    readonly name: string,
    entrypoint: URL,
    readonly settings: EdgeSettings,
    readonly spawner: Spawner,
    readonly events: WorkerEvents,
  ) {
    this.#port = spawner.spawn(this.isolate, entrypoint, (error) => {
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
      this.#retirement = setTimeout(() => this.#retire(), settings.wallClockMs / 2);
    }
    this.#cpuWatch = setInterval(() => {
      const cpuMs = this.#readCpu();
      if (cpuMs >= settings.cpuHardLimitMs) this.shutDown("cpu");
      else if (cpuMs >= settings.cpuSoftLimitMs) this.#retire();
    }, cpuPollMs);
    this.#port.onmessage = (event: MessageEvent<WorkerMessage>) => this.#receive(event.data);
  }

  /** Resolves once the function is loaded: true, or false when it failed to boot. */
  booted(): Promise<boolean> {
    return this.#boot.promise;
  }

  /** Whether the pool may send it a request: booted and live; under oneshot, never used before. */
  get takesRequests(): boolean {
    return this.#booted && this.holdsPlace &&
      (this.settings.policy === "per_worker" || this.#taken === 0);
  }

  /** Booted and not ending: the request that booted it goes to it even if it retired meanwhile. */
  get live(): boolean {
    return this.#booted && !this.#ending;
  }

  /** Whether it counts against the function's parallelism: booting or taking requests. */
  get holdsPlace(): boolean {
    return !this.#retired && !this.#ending;
  }

  /** Sends the request; resolves with the response as soon as the handler answers. */
  invoke(req: Request, body: ArrayBuffer | null): Promise<Response> {
    clearTimeout(this.#idle);
    const { promise, resolve } = Promise.withResolvers<Response>();
    const id = this.#nextId++;
    this.#inFlight.set(id, {
      method: req.method,
      path: new URL(req.url).pathname,
      started: performance.now(),
      warm: this.#taken++ > 0,
      cpuAtStart: this.#readCpu(),
      status: 0,
      answer: resolve,
    });
    // Inside Supabase a function sees its path from its own name on: /<name>/...
    const url = new URL(req.url);
    url.pathname = url.pathname.slice("/functions/v1".length);
    this.#send({
      type: "request",
      id,
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
    this.events.retired(this);
    setTimeout(() => this.#end(reason), shutdownGraceMs);
  }

  /** No new requests from now on; dropped at once if idle, else once it is. */
  #retire(): void {
    if (this.#retired || this.#ending) return;
    this.#retired = true;
    this.events.retired(this);
    if (this.#booted && this.#inFlight.size === 0) this.shutDown("early_drop");
  }

  #send(message: GatewayMessage, transfer: Transferable[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  #readCpu(): number {
    if (!this.#thread || this.#ended) return this.#cpuMs;
    try {
      this.#cpuMs = threadCpuMs(this.#thread);
    } catch {
      // The thread is gone: the last reading stands.
    }
    return this.#cpuMs;
  }

  #receive(message: WorkerMessage): void {
    if (message.type === "thread") {
      this.#thread = message.thread;
    } else if (message.type === "booted") {
      this.#booted = true;
      this.#boot.resolve(true);
    } else if (message.type === "response") {
      const invocation = this.#inFlight.get(message.id);
      if (!invocation) return;
      invocation.status = message.status;
      invocation.answer(
        new Response(message.body, { status: message.status, headers: message.headers }),
      );
      // The request ends with its answer (the pool's req_end), whatever background work it left.
      if (!this.#retired && !this.#ending) this.events.requestEnded(this);
    } else if (message.type === "done") {
      this.#finish(message.id, "ok");
    } else if (message.type === "idle") {
      if (this.#inFlight.size > 0) return;
      if (this.#ending || this.settings.policy === "oneshot") this.#end("done");
      else if (this.#retired) this.shutDown("early_drop");
      else {
        clearTimeout(this.#idle);
        this.#idle = setTimeout(() => this.shutDown("early_drop"), this.settings.idleTimeoutMs);
      }
    } else if (message.type === "boot_error") {
      console.error(JSON.stringify({
        level: "error",
        message: "boot error",
        function: this.name,
        error: message.error,
      }));
      this.#end("boot_error");
    }
  }

  /** Logs an invocation with its outcome, answering 546 where a limit cut it before its answer. */
  #finish(id: number, outcome: InvocationRecord["outcome"]): void {
    const invocation = this.#inFlight.get(id);
    if (!invocation) return;
    this.#inFlight.delete(id);
    if (invocation.status === 0) {
      invocation.status = 546;
      invocation.answer(workerLimit());
    }
    logInvocation({
      function: this.name,
      method: invocation.method,
      path: invocation.path,
      status: invocation.status,
      outcome,
      wallMs: Math.round(performance.now() - invocation.started),
      cpuMs: this.#readCpu() - invocation.cpuAtStart,
      isolate: this.isolate,
      isolateCpuMs: this.#cpuMs,
      warm: invocation.warm,
    });
  }

  /** Ends the worker: `done` when it ended after its work (oneshot, or shut down meanwhile). */
  #end(reason: ShutdownReason | "boot_error" | "done"): void {
    if (this.#ended) return;
    this.#readCpu();
    this.#ending = true;
    this.events.retired(this);
    for (const id of [...this.#inFlight.keys()]) {
      this.#finish(id, reason === "done" ? "ok" : reason);
    }
    this.#ended = true;
    this.#boot.resolve(false);
    clearInterval(this.#cpuWatch);
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
      invocations: this.#taken,
      cpuMs: this.#cpuMs,
    }));
    this.events.ended(this);
  }
}

/**
 * A function's workers, as the runtime's pool keeps them: requests go round robin to the workers
 * that take requests; a new worker boots only when none does and fewer than `maxParallelism`
 * hold a place; otherwise a request waits its turn, woken (one waiter per request that ends, all
 * of them when a worker retires or ends) to look again.
 */
class FunctionPool {
  readonly #workers = new Set<FunctionWorker>();
  #next = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly entrypoint: URL,
    readonly settings: EdgeSettings,
    readonly spawner: Spawner,
  ) {}

  get workers(): FunctionWorker[] {
    return [...this.#workers];
  }

  /** Serves the request in a worker of the function, or answers why none could take it. */
  async invoke(req: Request, body: ArrayBuffer | null): Promise<Response> {
    const started = performance.now();
    const deadline = started + this.settings.requestWaitTimeoutMs;
    for (;;) {
      const taking = this.workers.filter((worker) => worker.takesRequests);
      if (taking.length > 0) {
        // No await between the choice and the send: the worker cannot retire in between.
        return await taking[this.#next++ % taking.length].invoke(req, body);
      }
      if (
        this.workers.filter((worker) => worker.holdsPlace).length < this.settings.maxParallelism
      ) {
        const worker = this.#spawn();
        if (!(await worker.booted())) return this.#refusal(req, started, "boot_error");
        if (worker.live) return await worker.invoke(req, body);
        continue;
      }
      if (!(await this.#turn(deadline))) return this.#refusal(req, started, "no_worker");
    }
  }

  #spawn(): FunctionWorker {
    const worker = new FunctionWorker(this.name, this.entrypoint, this.settings, this.spawner, {
      requestEnded: () => this.#waiting.shift()?.(),
      retired: () => this.#waiting.splice(0).forEach((wake) => wake()),
      ended: (ended) => this.#workers.delete(ended),
    });
    this.#workers.add(worker);
    return worker;
  }

  /** Waits to be woken; false once the deadline passes first. */
  #turn(deadline: number): Promise<boolean> {
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const wake = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      this.#waiting.splice(this.#waiting.indexOf(wake), 1);
      resolve(false);
    }, Math.max(0, deadline - performance.now()));
    this.#waiting.push(wake);
    return promise;
  }

  /** What the runtime answers when no worker could take the request: 503, BOOT_ERROR. */
  #refusal(req: Request, started: number, outcome: InvocationRecord["outcome"]): Response {
    logInvocation({
      function: this.name,
      method: req.method,
      path: new URL(req.url).pathname,
      status: 503,
      outcome,
      wallMs: Math.round(performance.now() - started),
      cpuMs: 0,
    });
    return Response.json({
      code: "BOOT_ERROR",
      message: "Function failed to boot (please check logs)",
    }, { status: 503 });
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
  const cpuHardLimitMs = limitFromEnv("EDGE_CPU_LIMIT_MS", defaultCpuHardLimitMs);
  const settings: EdgeSettings = {
    policy: edgePolicy(configToml),
    idleTimeoutMs: limitFromEnv("EDGE_IDLE_TIMEOUT_MS", defaultIdleTimeoutMs),
    wallClockMs:
      limitFromEnv("EDGE_WALL_CLOCK_SECONDS", defaultWallClockMs / 1000, maxWallClockMs / 1000) *
      1000,
    cpuHardLimitMs,
    cpuSoftLimitMs: limitFromEnv("EDGE_CPU_SOFT_LIMIT_MS", cpuHardLimitMs / 2, cpuHardLimitMs),
    // The runtime's default: the machine's cores.
    maxParallelism: limitFromEnv("EDGE_MAX_PARALLELISM", navigator.hardwareConcurrency),
    requestWaitTimeoutMs: limitFromEnv(
      "EDGE_REQUEST_WAIT_TIMEOUT_MS",
      defaultRequestWaitTimeoutMs,
    ),
  };
  const spawner = new Spawner();
  const pools = new Map(
    [...names].map((name) => [
      name,
      new FunctionPool(name, new URL(`${name}/index.ts`, functionsDir), settings, spawner),
    ]),
  );
  const recordAnswer = answerRecorder(Deno.env.get("FUNCTIONS_RESPONSE_LOG"));

  const server = Deno.serve(
    { port: options.port ?? 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => recordAnswer(await gateway(req)),
  );
  async function gateway(req: Request): Promise<Response> {
    const name = new URL(req.url).pathname.match(/^\/functions\/v1\/([^/]+)/)?.[1];
    const pool = name ? pools.get(name) : undefined;
    if (!name || !pool) {
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
    return await pool.invoke(req, body);
  }
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      const all = () => [...pools.values()].flatMap((pool) => pool.workers);
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
