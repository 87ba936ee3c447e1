// The local pg_net stand-in end to end: net.http_post (dev/supabase-bootstrap.sql) queues, the
// relay (dev/pg-net-relay.ts) sends after commit to a real HTTP server and records the answer in
// net._http_response, as pg_net's worker does on Supabase. Every request is told apart by its
// own tag, so another relay on the same database (the local stack's) may send some of them too.
import assert from "node:assert/strict";
import postgres from "postgres";
import { type PgNetRelay, type RelayLogEntry, startPgNetRelay } from "../../../dev/pg-net-relay.ts";
import { databaseUrl } from "../_support/stack.ts";

type Received = {
  tag: string;
  method: string;
  query: Record<string, string>;
  headers: Headers;
  body: string;
};

/** An HTTP server recording what reaches it; /slow/ answers only when the client gives up. */
function startTarget() {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const [, kind, tag] = url.pathname.split("/");
    received.push({
      tag,
      method: req.method,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: await req.text(),
    });
    if (kind === "slow") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        req.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return Response.json({ answered: tag }, { status: 201 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    hits: (tag: string) => received.filter((r) => r.tag === tag),
    close: () => server.shutdown(),
  };
}

type Post = {
  url?: string;
  body?: postgres.JSONValue;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  timeoutMs?: number;
};

type ResponseRow = {
  status_code: number | null;
  content_type: string | null;
  content: string | null;
  timed_out: boolean | null;
  error_msg: string | null;
};

async function eventually<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A relay, a target and two connections for one test; cleans up every row its requests left. */
async function withStandIn(
  test: (ctx: {
    sql: postgres.Sql;
    other: postgres.Sql;
    target: ReturnType<typeof startTarget>;
    post: (
      tx: postgres.TransactionSql | postgres.Sql,
      path: string,
      options?: Post,
    ) => Promise<string>;
    response: (id: string) => Promise<ResponseRow>;
    startRelay: (log?: (entry: RelayLogEntry) => void) => Promise<PgNetRelay>;
  }) => Promise<void>,
): Promise<void> {
  const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
  const other = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  const target = startTarget();
  const relays: PgNetRelay[] = [];
  const ids: string[] = [];
  try {
    await test({
      sql,
      other,
      target,
      async post(tx, path, options = {}) {
        const [row] = await tx<{ id: string }[]>`
          select net.http_post(
            url := ${options.url ?? `${target.url}/${path}`},
            body := ${sql.json(options.body ?? { path })},
            params := ${sql.json(options.params ?? {})},
            headers := ${sql.json(options.headers ?? { "Content-Type": "application/json" })},
            timeout_milliseconds := ${options.timeoutMs ?? 5000}) as id`;
        ids.push(row.id);
        return row.id;
      },
      response: (id) =>
        eventually(async () => {
          const [row] = await other<ResponseRow[]>`
            select status_code, content_type, content, timed_out, error_msg
            from net._http_response where id = ${id}`;
          return row;
        }, `the response to request ${id}`),
      async startRelay(log) {
        const relay = await startPgNetRelay({ databaseUrl: databaseUrl(), log });
        relays.push(relay);
        return relay;
      },
    });
  } finally {
    await Promise.all(relays.map((relay) => relay.close()));
    await sql`delete from net.http_request_queue where id = any(${ids}::bigint[])`;
    await sql`delete from net._http_response where id = any(${ids}::bigint[])`;
    await target.close();
    await Promise.all([sql.end(), other.end()]);
  }
}

Deno.test("a request is sent only once its transaction commits, exactly as queued", async () => {
  await withStandIn(async ({ sql, other, target, post, response, startRelay }) => {
    await startRelay();
    const tag = crypto.randomUUID();
    const body = { job: "campaign-create/worker", n: 1, nested: { ok: true, text: "é & ?" } };
    const id = await sql.begin(async (tx) => {
      const queuedId = await post(tx, "", {
        url: `${target.url}/post/${tag}?fixed=1`,
        body,
        params: { "a key": "a value & more", unicode: "ü" },
        headers: { "Content-Type": "application/json", "x-cron-secret": "s3" },
      });
      const [queued] = await other`
        select count(*)::int as n from net.http_request_queue where id = ${queuedId}`;
      assert.equal(queued.n, 0, "another connection sees the queued request before commit");
      // Longer than the relay's poll: it has looked at the queue while this was open.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(target.hits(tag).length, 0, "sent before its transaction committed");
      return queuedId;
    });
    const answer = await response(id);
    const [hit, ...more] = target.hits(tag);
    assert.equal(more.length, 0);
    assert.equal(hit.method, "POST");
    assert.deepEqual(JSON.parse(hit.body), body);
    assert.deepEqual(hit.query, { fixed: "1", "a key": "a value & more", unicode: "ü" });
    assert.equal(hit.headers.get("content-type"), "application/json");
    assert.equal(hit.headers.get("x-cron-secret"), "s3");
    assert.deepEqual(answer, {
      status_code: 201,
      content_type: "application/json",
      content: JSON.stringify({ answered: tag }),
      timed_out: false,
      error_msg: null,
    });
    const [left] =
      await sql`select count(*)::int as n from net.http_request_queue where id = ${id}`;
    assert.equal(left.n, 0, "a sent request stays queued");
  });
});

Deno.test("a rolled-back transaction's request is never sent", async () => {
  await withStandIn(async ({ sql, target, post, response, startRelay }) => {
    await startRelay();
    const tag = crypto.randomUUID();
    let rolledBack = "";
    await assert.rejects(
      sql.begin(async (tx) => {
        rolledBack = await post(tx, `post/${tag}`);
        throw new Error("roll back");
      }),
      /roll back/,
    );
    // A request committed afterwards is answered: the relay has been through the queue since.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await response(await post(sql, `post/${crypto.randomUUID()}`));
    assert.equal(target.hits(tag).length, 0);
    const [answers] = await sql`
      select count(*)::int as n from net._http_response where id = ${rolledBack}`;
    assert.equal(answers.n, 0);
  });
});

Deno.test("a refused connection is recorded with no status and an error", async () => {
  await withStandIn(async ({ sql, post, response, startRelay }) => {
    await startRelay();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const id = await post(sql, "", { url: `http://127.0.0.1:${closedPort}/x?token=hidden` });
    const answer = await response(id);
    assert.equal(answer.status_code, null);
    assert.equal(answer.timed_out, false);
    assert.match(answer.error_msg ?? "", /\S/);
    assert.doesNotMatch(
      answer.error_msg ?? "",
      /hidden/,
      "the error message shows the query string",
    );
  });
});

Deno.test("a target slower than timeout_milliseconds is recorded as timed out", async () => {
  await withStandIn(async ({ sql, target, post, response, startRelay }) => {
    await startRelay();
    const tag = crypto.randomUUID();
    const started = Date.now();
    const answer = await response(await post(sql, `slow/${tag}`, { timeoutMs: 300 }));
    assert.equal(target.hits(tag).length, 1);
    assert.ok(Date.now() - started < 4000, "the timeout was not honoured");
    assert.equal(answer.timed_out, true);
    assert.equal(answer.status_code, null);
    assert.match(answer.error_msg ?? "", /^Timeout of 300 ms reached/);
  });
});

Deno.test("two relays on one database send each request exactly once", async () => {
  await withStandIn(async ({ sql, other, target, post, response, startRelay }) => {
    const sentBy = new Map<string, string[]>();
    const log = (relay: string) => (entry: RelayLogEntry) =>
      sentBy.set(entry.id, [...(sentBy.get(entry.id) ?? []), relay]);
    await Promise.all([startRelay(log("first")), startRelay(log("second"))]);
    const tags = Array.from({ length: 40 }, () => crypto.randomUUID());
    const ids = await sql.begin(async (tx) => {
      const queued: string[] = [];
      for (const tag of tags) queued.push(await post(tx, `post/${tag}`));
      return queued;
    });
    for (const id of ids) await response(id);
    for (const tag of tags) assert.equal(target.hits(tag).length, 1, `request ${tag} hits`);
    const [answers] = await other`
      select count(*)::int as n, count(distinct id)::int as ids
      from net._http_response where id = any(${ids}::bigint[])`;
    assert.deepEqual(answers, { n: ids.length, ids: ids.length });
    for (const [id, relays] of sentBy) {
      assert.equal(relays.length, 1, `request ${id} sent by ${relays}`);
    }
  });
});
