// A whole adrail stack for one test file, on random ports: the local stack (dev/lib/stack.ts: the
// Graph API simulator, the functions server behind its gateway, the pg_net relay, pg_cron wired
// to the functions through Vault) on the real database ($DATABASE_URL, migrated by the test
// runner). Users are real rows in auth.users with JWTs signed by the local secret, and call the
// functions through supabase-js as an app would. Nothing here runs the worker: launches start it
// in the background, pg_cron's ticks resume released jobs.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import type { RunningSimulator } from "../../../simulator/server.ts";
import { type FunctionsProcess, startLocalStack } from "../../../dev/lib/stack.ts";
import {
  functionsEnv as localFunctionsEnv,
  localKeys,
  signLocalUserJwt,
} from "../../../dev/lib/local-env.ts";
import type { JobStatus } from "../../functions/_shared/creation/job-tracker.ts";

export type TestStack = {
  sql: postgres.Sql;
  simulator: RunningSimulator;
  functions: FunctionsProcess;
  /** A new auth user; returns its id. */
  createUser(): Promise<string>;
  /** supabase-js as that user's app would hold it. */
  clientFor(userId: string): Promise<SupabaseClient>;
  /**
   * A new ad account on the simulated Meta with a fresh token (and `appSecret`, when given, which
   * Meta then requires a proof of), connected by the user through the ad-accounts function (so its
   * token is stored encrypted, the user its owner).
   */
  connectAdAccount(
    userId: string,
    options?: { appSecret?: string },
  ): Promise<{ id: string; token: string }>;
  /** supabase-js with only the anon key (signed out). */
  anonClient(): Promise<SupabaseClient>;
  /** POST to the simulator's control API. */
  sim(path: string, body?: unknown): Promise<unknown>;
  /**
   * Waits, only watching the database, until job `jobId` is in one of `statuses` (by default a
   * status no worker moves on from) and returns it; fails after `timeoutMs`.
   */
  jobSettled(jobId: number, options?: { statuses?: JobStatus[]; timeoutMs?: number }): Promise<
    JobStatus
  >;
  close(): Promise<void>;
};

/** Statuses no worker moves a job on from (awaiting_confirmation waits for a person). */
export const settledStatuses: JobStatus[] = [
  "completed",
  "failed",
  "rolled_back",
  "awaiting_confirmation",
];

let accountNumber = Date.now() % 1_000_000_000;

/** A fresh act_ id, unique across the test files of one run (they share one database). */
export function nextAdAccountId(): string {
  return `act_${++accountNumber}`;
}

/** Whether anything answers HTTP at `url`. */
export async function reachable(url: string): Promise<boolean> {
  try {
    await (await fetch(url)).body?.cancel();
    return true;
  } catch {
    return false;
  }
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
async function startTestStack(
  seed: number,
  functionsEnv: Record<string, string> = {},
): Promise<TestStack> {
  const local = await startLocalStack({
    databaseUrl: databaseUrl(),
    seed,
    functionsEnv,
    echoFunctionsLog: Deno.env.get("ADRAIL_ECHO_LOGS") === "1",
  });
  const { simulator, functions } = local;
  // Tests that read what the functions wrote (a stored token) use the functions' own settings.
  for (const [key, value] of Object.entries(localFunctionsEnv(databaseUrl(), simulator.url))) {
    Deno.env.set(key, value);
  }
  const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
  const { anonKey } = await localKeys();
  /** The users this stack made: removed at close, with everything theirs (on delete cascade). */
  const users: string[] = [];

  const stack: TestStack = {
    sql,
    simulator,
    functions,
    async createUser() {
      const [user] = await sql<{ id: string }[]>`
        insert into auth.users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@test.adrail')
        returning id`;
      users.push(user.id);
      return user.id;
    },
    async clientFor(userId) {
      return client(
        functions.url,
        anonKey,
        await signLocalUserJwt(userId),
      );
    },
    async connectAdAccount(userId, options = {}) {
      const id = nextAdAccountId();
      const token = `EAAB-test-${crypto.randomUUID()}`;
      await stack.sim("/__sim/accounts", { id, token, ...options });
      const client = await stack.clientFor(userId);
      const answer = await invokeResult(
        await client.functions.invoke("ad-accounts", {
          body: { platformAccountId: id, accessToken: token, ...options },
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
    async jobSettled(jobId, options = {}) {
      const statuses = options.statuses ?? settledStatuses;
      const until = Date.now() + (options.timeoutMs ?? 60_000);
      let status: JobStatus | undefined;
      while (Date.now() < until) {
        [{ status }] = await sql<{ status: JobStatus }[]>`
          select status from public.campaign_creation_jobs where id = ${jobId}`;
        if (statuses.includes(status)) return status;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`job ${jobId} is still ${status} after ${options.timeoutMs ?? 60_000} ms`);
    },
    async close() {
      try {
        await local.close();
        // What a file leaves behind would be the next file's in the same database: the safety
        // net and pg_cron work on every account (a backlog of final syncs and attribution tails
        // left by one file once ended another's safety-net run at the CPU limit).
        await sql`delete from auth.users where id = any(${users})`.catch((error) =>
          console.error(`test stack: its users were not removed: ${error.message}`)
        );
      } finally {
        await sql.end({ timeout: 5 });
      }
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

/**
 * A Deno test with its own stack, started before its steps and stopped after, whatever happens.
 * `functionsEnv` adds settings for the functions (limits, budgets).
 */
export function testWithStack(
  name: string,
  fn: (t: Deno.TestContext, stack: TestStack) => Promise<void>,
  functionsEnv: Record<string, string> = {},
): void {
  Deno.test(name, async (t) => {
    const stack = await startTestStack(seedOf(name), functionsEnv);
    try {
      await fn(t, stack);
    } finally {
      await stack.close();
    }
  });
}
