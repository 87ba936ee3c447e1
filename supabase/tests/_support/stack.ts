// A whole adrail stack for one test file, in process and on random ports: the Graph API
// simulator, the local functions server running the real functions, and the real database
// ($DATABASE_URL, migrated by the test runner). Users are real rows in auth.users with JWTs
// signed by the local secret, and call the functions through supabase-js as an app would.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { type RunningSimulator, startSimulator } from "../../../simulator/server.ts";
import { type FunctionsServer, startFunctionsServer } from "../../../dev/functions-server.ts";
import { functionsEnv, localKeys, signLocalJwt } from "../../../dev/lib/local-env.ts";
import { closeDb } from "../../functions/_shared/db.ts";

export type TestStack = {
  sql: postgres.Sql;
  simulator: RunningSimulator;
  functions: FunctionsServer;
  /** A new auth user; returns its id. */
  createUser(): Promise<string>;
  /** supabase-js as that user's app would hold it. */
  clientFor(userId: string): Promise<SupabaseClient>;
  /**
   * A new ad account on the simulated Meta with a fresh token, connected by the user through
   * the ad-accounts function (so its token is stored encrypted, the user its owner).
   */
  connectAdAccount(userId: string): Promise<{ id: string; token: string }>;
  /** supabase-js with only the anon key (signed out). */
  anonClient(): Promise<SupabaseClient>;
  /** POST to the simulator's control API. */
  sim(path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
};

let accountNumber = Date.now() % 1_000_000_000;

/** A fresh act_ id, unique across the test files of one run (they share one database). */
export function nextAdAccountId(): string {
  return `act_${++accountNumber}`;
}

export function databaseUrl(): string {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) throw new Error("DATABASE_URL is not set: run the tests with `deno task test`");
  return url;
}

function client(url: string, anonKey: string, bearer: string): SupabaseClient {
  return createClient(url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${bearer}` } },
  });
}

/** A 32-bit FNV-1a hash: each test's own simulator seed, hence its own Meta ids. */
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

/**
 * `seed` seeds the simulator's metrics and its ids: stacks with other seeds never share a Meta
 * id, as real accounts never do, though they share one database.
 */
async function startTestStack(seed: number): Promise<TestStack> {
  const simulator = await startSimulator({ port: 0, seed });
  const functions = await startFunctionsServer({
    port: 0,
    env: functionsEnv(databaseUrl(), simulator.url),
  });
  const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
  const { anonKey } = await localKeys();

  const stack: TestStack = {
    sql,
    simulator,
    functions,
    async createUser() {
      const [user] = await sql<{ id: string }[]>`
        insert into auth.users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@test.adrail')
        returning id`;
      return user.id;
    },
    async clientFor(userId) {
      return client(
        functions.url,
        anonKey,
        await signLocalJwt({ sub: userId, role: "authenticated" }),
      );
    },
    async connectAdAccount(userId) {
      const id = nextAdAccountId();
      const token = `EAAB-test-${crypto.randomUUID()}`;
      await stack.sim("/__sim/accounts", { id, token });
      const client = await stack.clientFor(userId);
      const answer = await invokeResult(
        await client.functions.invoke("ad-accounts", {
          body: { platformAccountId: id, accessToken: token },
        }),
      );
      if (answer.status !== 201) throw new Error(`connecting ${id} answered ${answer.status}`);
      return { id, token };
    },
    anonClient() {
      return Promise.resolve(client(functions.url, anonKey, anonKey));
    },
    async sim(path, body) {
      const response = await fetch(`${simulator.url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${path} answered ${response.status}: ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async close() {
      await functions.close();
      await simulator.close();
      await closeDb();
      await sql.end({ timeout: 5 });
    },
  };
  return stack;
}

/** Status and JSON body of a functions.invoke() answer, success or error alike. */
export async function invokeResult(
  result: { data: unknown; error: unknown; response?: Response },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const context = (result.error as { context?: Response } | null)?.context;
  if (context instanceof Response) return { status: context.status, body: await context.json() };
  if (result.error) throw result.error;
  return { status: result.response?.status ?? 0, body: result.data as Record<string, unknown> };
}

/** A Deno test with its own stack, started before its steps and stopped after, whatever happens. */
export function testWithStack(
  name: string,
  fn: (t: Deno.TestContext, stack: TestStack) => Promise<void>,
): void {
  Deno.test(name, async (t) => {
    const stack = await startTestStack(seedOf(name));
    try {
      await fn(t, stack);
    } finally {
      await stack.close();
    }
  });
}
