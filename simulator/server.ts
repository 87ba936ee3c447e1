/** The simulator's HTTP server: the Graph API under /<version>/, the control API under /__sim/. */

import { authenticate } from "./auth.ts";
import { runBatch } from "./batch.ts";
import { handleControl } from "./control.ts";
import { isLoopback } from "./loopback.ts";
import {
  accountOf,
  answering,
  type Outcome,
  runOperation,
  servedOperation,
  sleep,
  withFaults,
} from "./dispatch.ts";
import { makeOperation } from "./graph-routes.ts";
import { readParams } from "./params.ts";
import { logFaultDecision, type RequestLogEntry } from "./request-log.ts";
import { SimState } from "./state.ts";
import { usageHeaders } from "./usage.ts";

export interface SimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  /** A loopback address (default 127.0.0.1); anything else is refused. */
  hostname?: string;
  /** Seeds ids, metrics and fault probabilities. */
  seed?: number;
  /**
   * Seeds fault probabilities instead of `seed`: a fixed fault draw with fresh ids, so a rerun on
   * the same database (which keeps the ids of earlier runs) meets the same storm.
   */
  faultSeed?: number;
  /** Every Graph API answer (not the control API's) leaves this long after its request arrived. */
  latencyMs?: number;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:54330, no trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A response whose body fails before its first byte: Deno then closes the connection without
 * sending a status line, so the client's fetch rejects with a network error (checked
 * empirically; node:http's socket.destroy() does not cut the connection under Deno 2.1).
 */
function droppedConnection(): Response {
  return new Response(
    new ReadableStream({ start: (c) => c.error(new Error("simulated dropped connection")) }),
  );
}

async function graphOutcome(
  sim: SimState,
  req: Request,
  url: URL,
  serverUrl: string,
  entry: RequestLogEntry,
): Promise<Outcome> {
  const { params, bodyText } = await readParams(req, url);
  const outcome = await answering(sim, undefined, async () => {
    const ctx = await authenticate(sim.store, params, req.headers);
    const op = makeOperation(
      req.method,
      url.pathname,
      url.search.slice(1),
      params,
      bodyText,
      serverUrl,
      ctx,
    );
    // Meta takes a batch as a POST with a `batch` parameter (docs post it to / or /me).
    if (req.method !== "POST" || params.batch === undefined) {
      return runOperation(sim, ctx, op, entry, true);
    }
    // The envelope's own version and legacy features; its items default to its version.
    servedOperation(op, sim.clock.now());
    const account = accountOf(sim, ctx);
    const decision = sim.faults.evaluate({
      method: "POST",
      path: op.path,
      versionedPath: url.pathname,
      body: bodyText,
      envelope: true,
    });
    logFaultDecision(entry, decision);
    const outcome = await withFaults(
      sim,
      account,
      decision,
      (commit) => answering(sim, account, () => runBatch(sim, ctx, op, serverUrl, entry, commit)),
    );
    return outcome === "dropped" || !account
      ? outcome
      : { ...outcome, headers: { ...usageHeaders(account, sim.clock.now()), ...outcome.headers } };
  });
  entry.dropped = outcome === "dropped";
  entry.status = outcome === "dropped" ? null : outcome.status;
  return outcome;
}

async function handle(sim: SimState, req: Request, serverUrl: string): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname.startsWith("/__sim/")) return await handleControl(sim, req, url);
  const arrived = performance.now();
  const entry = sim.log.begin(req.method, url, new Date(sim.clock.now()).toISOString());
  const outcome = await graphOutcome(sim, req, url, serverUrl, entry);
  // The latency is Meta's time to answer, counted from arrival: the simulator's own work is in
  // it, so that a benchmark's network floor (requests × latency) is what a perfect client gets.
  // Injected delays come on top.
  const wait = sim.latencyMs - (performance.now() - arrived - entry.delayedMs);
  if (wait > 0) await sleep(wait);
  if (outcome === "dropped") return droppedConnection();
  return Response.json(outcome.body, {
    status: outcome.status,
    headers: { ...outcome.headers, "x-fb-trace-id": sim.traceId() },
  });
}

/**
 * Starts the simulator on a loopback address (127.0.0.1 by default); any other address is refused:
 * its control API (/__sim/) is open to whoever reaches it.
 */
export function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopback(hostname)) {
    return Promise.reject(
      new Error(
        `refusing to listen on ${hostname}: the simulator's control API (/__sim/) is open to ` +
          "whoever reaches it, so it listens on loopback only (127.0.0.1, ::1, localhost)",
      ),
    );
  }
  const seed = options.seed ?? 1;
  const sim = new SimState(seed, options.latencyMs ?? 0, options.faultSeed ?? seed);
  let serverUrl = "";
  const server = Deno.serve(
    { port: options.port ?? 0, hostname, onListen: () => {} },
    async (req) => {
      const response = await handle(sim, req, serverUrl);
      // One connection per request: Deno's graceful shutdown otherwise waits, sometimes for
      // minutes, on keep-alive connections its clients still pool. A client cannot tell.
      response.headers.set("connection", "close");
      return response;
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  serverUrl = `http://${host}:${port}`;
  return Promise.resolve({ url: serverUrl, port, close: () => server.shutdown() });
}
