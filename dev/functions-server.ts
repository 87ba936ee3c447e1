// The local functions server: Supabase's gateway and edge runtime, as far as adrail relies on
// them. Every supabase/functions/<name>/index.ts is served at /functions/v1/<name>, so
// supabase-js's functions.invoke() works against it, and:
//   - `verify_jwt` from supabase/config.toml, per function, as the hosted gateway applies it: no
//     valid JWT (any role signed with the project's key: anon, user or service role; signature
//     and expiry only, with the functions' own verification) → 401 with the gateway's own body,
//     before the function's code runs;
//   - each invocation runs in a worker (an isolate) of its own, with `EdgeRuntime.waitUntil`:
//     the answer goes out, background work goes on until it settles;
//   - the wall-clock limit (150 s, EDGE_WALL_CLOCK_SECONDS up to 400) and the CPU limit (2 s,
//     EDGE_CPU_LIMIT_MS) per invocation: `beforeunload` with the reason, then the worker ends;
//   - at most EDGE_MAX_WORKERS (64) isolates alive at once; later requests wait their turn at the
//     gateway (each isolate boots afresh and holds tens of MB: 500 at once would exhaust memory);
//   - one JSON log line per invocation with its wall and CPU time.
// Each index.ts stays a plain Deno.serve(handler) that deploys unchanged.
import { parse as parseToml } from "smol-toml";
import { verifyProjectJwt } from "../supabase/functions/_shared/auth.ts";
import { jwtKeys } from "../supabase/functions/_shared/config.ts";
import type { GatewayMessage, ShutdownReason, WorkerMessage } from "./lib/edge-protocol.ts";
import { threadCpuMs } from "./lib/edge-protocol.ts";

const root = new URL("../", import.meta.url);

export type FunctionsServerOptions = {
  port?: number;
  /** Folder of the functions and of the config.toml that configures them (tests use fixtures). */
  functionsDir?: URL;
  configToml?: URL;
  wallClockMs?: number;
  cpuLimitMs?: number;
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
};

export type FunctionsServer = { url: string; port: number; close(): Promise<void> };

/** Supabase's limits: 150 s wall clock (400 s on paid plans), 2 s of CPU per request. */
const defaultWallClockMs = 150_000;
const maxWallClockMs = 400_000;
const defaultCpuLimitMs = 2_000;
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

type Limits = { wallClockMs: number; cpuLimitMs: number };

/**
 * Runs one invocation in its own worker. Resolves with the response as soon as the handler
 * answers; the worker lives on for its background work and is ended by `done` or a limit.
 */
function invoke(
  name: string,
  entrypoint: URL,
  req: Request,
  body: ArrayBuffer | null,
  limits: Limits,
  running: Set<() => void>,
  isolateEnded: () => void,
): Promise<Response> {
  const started = performance.now();
  const path = new URL(req.url).pathname;
  const worker = new Worker(new URL("./lib/edge-worker.ts", import.meta.url), { type: "module" });
  const send = (message: GatewayMessage, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  let thread: string | undefined;
  let cpuAtStart = 0;
  let cpuMs = 0;
  let status = 0;
  let ended = false;
  let answer: (response: Response) => void;
  const response = new Promise<Response>((resolve) => answer = resolve);

  const readCpu = () => {
    if (!thread) return;
    try {
      cpuMs = threadCpuMs(thread) - cpuAtStart;
    } catch {
      // The thread is gone: the last reading stands.
    }
  };
  const end = (outcome: InvocationRecord["outcome"]) => {
    if (ended) return;
    ended = true;
    readCpu();
    clearTimeout(wallClock);
    clearInterval(cpuWatch);
    running.delete(terminate);
    worker.terminate();
    isolateEnded();
    if (status === 0) {
      // No answer yet: what the hosted runtime answers when a limit ends a request.
      status = 546;
      answer(Response.json({
        code: "WORKER_LIMIT",
        message: "Function failed due to not having enough compute resources (please check logs)",
      }, { status }));
    }
    logInvocation({
      function: name,
      method: req.method,
      path,
      status,
      outcome,
      wallMs: Math.round(performance.now() - started),
      cpuMs,
    });
  };
  const shutDown = (reason: ShutdownReason) => {
    if (ended) return;
    send({ type: "beforeunload", reason });
    setTimeout(() => end(reason), shutdownGraceMs);
  };
  const terminate = () => shutDown("termination");
  running.add(terminate);
  const wallClock = setTimeout(() => shutDown("wall_clock"), limits.wallClockMs);
  const cpuWatch = setInterval(() => {
    readCpu();
    if (cpuMs > limits.cpuLimitMs) {
      clearInterval(cpuWatch);
      shutDown("cpu");
    }
  }, cpuPollMs);

  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    const message = event.data;
    if (message.type === "started") {
      thread = message.thread;
      cpuAtStart = message.cpuMs;
    } else if (message.type === "response") {
      status = message.status;
      answer(new Response(message.body, { status, headers: message.headers }));
    } else if (message.type === "done") {
      end("ok");
    } else if (message.type === "boot_error") {
      console.error(
        JSON.stringify({
          level: "error",
          message: "boot error",
          function: name,
          error: message.error,
        }),
      );
      status = 503;
      answer(
        Response.json({
          code: "BOOT_ERROR",
          message: "Function failed to boot (please check logs)",
        }, {
          status,
        }),
      );
      end("boot_error");
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    console.error(
      JSON.stringify({
        level: "error",
        message: "worker error",
        function: name,
        error: event.message,
      }),
    );
    end("termination");
  };

  // Inside Supabase a function sees its path from its own name on: /<name>/...
  const url = new URL(req.url);
  url.pathname = url.pathname.slice("/functions/v1".length);
  send({
    type: "request",
    entrypoint: entrypoint.href,
    url: url.href,
    method: req.method,
    headers: [...req.headers],
    body,
  }, body ? [body] : []);
  return response;
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
  const verifyJwt = verifyJwtSettings(options.configToml ?? new URL("supabase/config.toml", root));
  const limits: Limits = {
    wallClockMs: options.wallClockMs ??
      limitFromEnv("EDGE_WALL_CLOCK_SECONDS", defaultWallClockMs / 1000, maxWallClockMs / 1000) *
        1000,
    cpuLimitMs: options.cpuLimitMs ?? limitFromEnv("EDGE_CPU_LIMIT_MS", defaultCpuLimitMs),
  };
  const running = new Set<() => void>();
  const maxWorkers = options.maxWorkers ?? limitFromEnv("EDGE_MAX_WORKERS", 64);
  const waiting: (() => void)[] = [];
  const isolateEnded = () => waiting.shift()?.();
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
    while (running.size >= maxWorkers) await new Promise<void>((turn) => waiting.push(turn));
    return await invoke(
      name,
      new URL(`${name}/index.ts`, functionsDir),
      req,
      body,
      limits,
      running,
      isolateEnded,
    );
  }
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      for (const terminate of [...running]) terminate();
      await server.shutdown();
      while (running.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
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
