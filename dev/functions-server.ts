// The local functions server: serves every supabase/functions/<name>/index.ts at
// /functions/v1/<name>, as Supabase does, so supabase-js's functions.invoke() works against it.
// Each index.ts stays a plain Deno.serve(handler) that deploys unchanged: while importing it,
// Deno.serve is swapped for a stand-in that keeps the handler instead of opening a port.

type FetchHandler = (req: Request) => Response | Promise<Response>;

const functionsDir = new URL("../supabase/functions/", import.meta.url);

/** The functions: every folder of supabase/functions not starting with "_" that has an index.ts. */
export function functionNames(): string[] {
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

function handlerOf(args: unknown[]): FetchHandler {
  const [first, second] = args;
  if (typeof first === "function") return first as FetchHandler;
  if (typeof second === "function") return second as FetchHandler;
  return (first as { handler: FetchHandler }).handler;
}

async function loadHandlers(): Promise<Map<string, FetchHandler>> {
  const handlers = new Map<string, FetchHandler>();
  const realServe = Deno.serve;
  try {
    for (const name of functionNames()) {
      // deno-lint-ignore no-explicit-any
      (Deno as any).serve = (...args: unknown[]) => {
        handlers.set(name, handlerOf(args));
        return {
          finished: Promise.resolve(),
          shutdown: () => Promise.resolve(),
          ref() {},
          unref() {},
        };
      };
      await import(new URL(`${name}/index.ts`, functionsDir).href);
    }
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).serve = realServe;
  }
  return handlers;
}

export type FunctionsServer = { url: string; port: number; close(): Promise<void> };

/**
 * Starts the server. `env` is what Supabase would inject (SUPABASE_DB_URL, keys, secrets);
 * functions read it from Deno.env, so it is set on this process before they load.
 */
export async function startFunctionsServer(
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<FunctionsServer> {
  for (const [key, value] of Object.entries(options.env ?? {})) Deno.env.set(key, value);
  const handlers = await loadHandlers();
  const server = Deno.serve(
    { port: options.port ?? 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
      const handler = match && handlers.get(match[1]);
      if (!handler) {
        return Response.json({ error: "not_found", message: "no such function" }, { status: 404 });
      }
      // Inside Supabase a function sees its path from its own name on: /<name>/...
      url.pathname = url.pathname.slice("/functions/v1".length);
      return await handler(new Request(url, req));
    },
  );
  const port = server.addr.port;
  return { url: `http://127.0.0.1:${port}`, port, close: () => server.shutdown() };
}

if (import.meta.main) {
  const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? 54321);
  const server = await startFunctionsServer({ port });
  console.log(
    `functions server listening on ${server.url}/functions/v1/ (${functionNames().join(", ")})`,
  );
}
