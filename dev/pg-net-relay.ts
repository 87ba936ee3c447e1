// The local stack's stand-in for pg_net's background worker: sends the requests that
// net.http_post/http_get queued (dev/supabase-bootstrap.sql) and records each answer in
// net._http_response, as pg_net does on Supabase. It only ever sees committed rows, so a request
// leaves after its transaction commits and never if it rolls back. Woken by NOTIFY at commit, and
// polling every second besides, so a missed notification delays a request but never loses it.
//
//   DATABASE_URL=postgresql://... deno run -A dev/pg-net-relay.ts
import postgres from "postgres";
import { localStackDatabase } from "./lib/local-db.ts";

/** The channel net.http_request_queue's insert trigger notifies. */
export const relayChannel = "net_http_request_queue";

const pollMs = 1000;
const batchSize = 200;
const userAgent = "pg_net/0.x (adrail local relay)";

/** One line per request sent; never headers or bodies, which hold secrets. */
export type RelayLogEntry = {
  id: string;
  method: string;
  url: string;
  status?: number;
  error?: string;
};

export type PgNetRelay = { close(): Promise<void> };

type QueuedRequest = {
  id: string;
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: Uint8Array | null;
  timeout_milliseconds: number;
};

type Response = {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
};

/** The URL as logged and kept in error messages: no query string, fragment or credentials. */
function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.split(/[?#]/)[0];
  }
}

/** fetch's error message names the URL; keep its query string (it may hold a secret) out. */
function failureMessage(error: unknown, url: string): string {
  let message = error instanceof Error ? error.message : String(error);
  const safe = withoutQuery(url);
  for (const form of [URL.canParse(url) ? new URL(url).href : url, url]) {
    message = message.replaceAll(form, safe);
  }
  return message;
}

/** Header values as pg_net sends them (jsonb_each_text): strings as they are, the rest as JSON. */
function requestHeaders(headers: Record<string, unknown>): Headers {
  const result = new Headers({ "User-Agent": userAgent });
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === null) continue;
    result.set(name, typeof value === "string" ? value : JSON.stringify(value));
  }
  return result;
}

async function send(request: QueuedRequest): Promise<Response> {
  const started = performance.now();
  try {
    const answer = await fetch(request.url, {
      method: request.method,
      headers: requestHeaders(request.headers),
      body: request.body,
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const content = await answer.text();
    return {
      id: request.id,
      status_code: answer.status,
      content_type: answer.headers.get("content-type"),
      headers: Object.fromEntries(answer.headers),
      content: content === "" ? null : content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    const elapsed = (performance.now() - started).toFixed(3);
    return {
      id: request.id,
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: timedOut,
      error_msg: timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${elapsed} ms`
        : failureMessage(error, request.url),
    };
  }
}

/**
 * Starts relaying: every request queued in net.http_request_queue is taken (deleted) by exactly
 * one relay, even with several on one database, sent, and answered in net._http_response.
 * close() stops taking requests and waits for those already taken.
 */
export async function startPgNetRelay(
  options: { databaseUrl: string; log?: (entry: RelayLogEntry) => void },
): Promise<PgNetRelay> {
  const sql = postgres(options.databaseUrl, { max: 4, onnotice: () => {} });
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  let draining: Promise<void> | undefined;
  let wokenWhileDraining = false;

  const deliver = async (request: QueuedRequest) => {
    const response = await send(request);
    options.log?.({
      id: request.id,
      method: request.method,
      url: withoutQuery(request.url),
      ...(response.status_code === null
        ? { error: response.error_msg ?? "" }
        : { status: response.status_code }),
    });
    try {
      await sql`
        insert into net._http_response
          (id, status_code, content_type, headers, content, timed_out, error_msg)
        values (${response.id}, ${response.status_code}, ${response.content_type},
                ${response.headers && sql.json(response.headers)}, ${response.content},
                ${response.timed_out}, ${response.error_msg})`;
    } catch (error) {
      console.error(`pg-net-relay: recording the response to request ${request.id}:`, error);
    }
  };

  const takeBatch = () =>
    sql<QueuedRequest[]>`
      delete from net.http_request_queue
      where id in (select id from net.http_request_queue order by id
                   for update skip locked limit ${batchSize})
      returning id, method, url, headers, body, timeout_milliseconds`;

  // One pass at a time; a wake-up during a pass runs another, so no commit goes unseen.
  const drain = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (draining) {
      wokenWhileDraining = true;
      return draining;
    }
    draining = (async () => {
      do {
        wokenWhileDraining = false;
        let batch: QueuedRequest[];
        do {
          batch = await takeBatch();
          for (const request of batch) {
            const sending = deliver(request).finally(() => inFlight.delete(sending));
            inFlight.add(sending);
          }
        } while (batch.length === batchSize && !closed);
      } while (wokenWhileDraining && !closed);
    })()
      .catch((error) => console.error("pg-net-relay: reading the queue:", error))
      .finally(() => {
        draining = undefined;
        if (wokenWhileDraining) void drain();
      });
    return draining;
  };

  const poll = async () => {
    await drain();
    if (closed) return;
    try {
      // pg_net.ttl: answers are kept 6 hours.
      await sql`delete from net._http_response where created < now() - interval '6 hours'`;
    } catch (error) {
      console.error("pg-net-relay: expiring responses:", error);
    }
  };

  const { unlisten } = await sql.listen(relayChannel, () => void drain());
  let polling: Promise<void> | undefined;
  const timer = setInterval(() => {
    polling ??= poll().finally(() => polling = undefined);
  }, pollMs);
  await drain();

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await unlisten();
      await Promise.all([draining, polling]);
      await Promise.all(inFlight);
      await sql.end();
    },
  };
}

if (import.meta.main) {
  const databaseUrl = Deno.env.get("DATABASE_URL");
  if (!databaseUrl) {
    console.error("pg-net-relay: set DATABASE_URL");
    Deno.exit(1);
  }
  const relay = await startPgNetRelay({
    // Only the local stack's database: on Supabase, pg_net's own worker sends the queue.
    databaseUrl: localStackDatabase(databaseUrl),
    log: (entry) => console.log(JSON.stringify(entry)),
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await relay.close();
      Deno.exit(0);
    });
  }
}
