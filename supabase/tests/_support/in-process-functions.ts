// The functions' own handlers, loaded in the test's process and served over HTTP on loopback at
// /functions/v1/<name>, for tests that send thousands of requests (the fuzz). The local functions
// server starts a Deno Worker per invocation, as the edge runtime starts an isolate: 150 to 300 ms
// of module loading each, here, which thousands of requests cannot afford. Each index.ts is
// imported as the edge worker imports it (dev/lib/edge-worker.ts): its Deno.serve call is caught
// and its handler kept. Behind the handlers are the stack's database and simulator (the settings
// testWithStack puts in this process's environment); there is no gateway (verify_jwt) in front:
// the functions check the JWT themselves. Requests get the path the function sees on Supabase,
// /<name>/..., as on the functions server.
import { closeDb } from "../../functions/_shared/platform/db.ts";

type Handler = (req: Request) => Response | Promise<Response>;

export type InProcessFunctions = {
  /** Where to send requests: `${url}/functions/v1/<name>`. */
  url: string;
  close(): Promise<void>;
};

async function handlerOf(name: string): Promise<Handler> {
  const serve = Deno.serve;
  let handler: Handler | undefined;
  // deno-lint-ignore no-explicit-any
  (Deno as any).serve = (h: Handler) => {
    handler = h;
    return { finished: Promise.resolve(), shutdown: () => Promise.resolve() };
  };
  try {
    await import(new URL(`../../functions/${name}/index.ts`, import.meta.url).href);
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).serve = serve;
  }
  if (!handler) throw new Error(`${name}/index.ts did not call Deno.serve(handler)`);
  return handler;
}

/** Serves the named functions in this process until `close` (which also closes their pool). */
export async function serveFunctionsInProcess(names: string[]): Promise<InProcessFunctions> {
  const handlers = new Map<string, Handler>();
  for (const name of names) handlers.set(name, await handlerOf(name));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const url = new URL(req.url);
    const name = url.pathname.match(/^\/functions\/v1\/([^/]+)/)?.[1];
    const handler = name && handlers.get(name);
    if (!handler) return Response.json({ code: "NOT_FOUND" }, { status: 404 });
    url.pathname = url.pathname.slice("/functions/v1".length);
    return handler(new Request(url, { method: req.method, headers: req.headers, body: req.body }));
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      await closeDb();
    },
  };
}
