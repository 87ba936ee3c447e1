// What every benchmark section shares: a local stack (dev/lib/stack.ts, never a copy of it) with a
// user of its own whose abuse limits are lifted (one user drives hundreds of launches, as an
// operator would allow a bulk client), supabase-js as that user's app, the simulator's control
// API, and the statistics (medians, percentiles).
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { type LocalStack, startLocalStack } from "../dev/lib/stack.ts";
import { graphApiVersion, localKeys, signLocalUserJwt } from "../dev/lib/local-env.ts";
import { GraphClient } from "../supabase/functions/_shared/meta/graph-client.ts";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: number[]): number {
  return percentile(values, 0.5);
}

/** The nearest-rank percentile (p in 0..1) of the values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** What an ad set needs on Meta: a budget, how it bills and optimizes, and where it shows. */
export const adSetTemplate = {
  daily_budget: 1000,
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  targeting: { geo_locations: { countries: ["FR"] } },
};

/** One Graph request as the simulator's log records it. */
export type LoggedRequest = {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number | null;
  items?: { path: string }[];
  faults: { effect: string }[];
};

/** A functions.invoke() answer: status, body, Retry-After (success or error alike). */
export type Answer = { status: number; body: Record<string, unknown>; retryAfter?: number };

/** Status and JSON body of a functions.invoke() answer, success or error alike, with Retry-After. */
export async function invokeFunction(
  client: SupabaseClient,
  name: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const result = await client.functions.invoke(name, { body, headers });
  const context = (result.error as { context?: Response } | null)?.context;
  if (context instanceof Response) {
    const text = await context.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { text };
    }
    const retryAfter = Number(context.headers.get("Retry-After") ?? parsed.retryAfterSeconds);
    return {
      status: context.status,
      body: parsed,
      retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  }
  if (result.error) throw result.error;
  return { status: result.response?.status ?? 200, body: result.data };
}

export type BenchStack = {
  stack: LocalStack;
  sql: postgres.Sql;
  client: SupabaseClient;
  /** The Meta token every account of this stack shares. */
  token: string;
  control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
  graphRequests(): Promise<number>;
  requestLog(): Promise<LoggedRequest[]>;
  /** A Graph client with the shared token, outside adrail (set-up and the naive launcher). */
  graph: GraphClient;
  /** A new account on the simulator, connected through ad-accounts; returns its act_ id. */
  connect(): Promise<string>;
  invoke(name: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<
    Answer
  >;
  /** POST /campaign-create for a 1-N-1 launch; throws unless it answers 202. */
  launch(act: string, name: string, adSets: number): Promise<number>;
  /** Waits, watching the database only (nobody drives the worker), until the job completes. */
  completed(jobId: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * A supabase-js client signed in as a new user whose own abuse limits are lifted (adrail_limits
 * overrides), as an operator would for a bulk client; each account keeps the defaults.
 */
export async function bulkClient(
  sql: postgres.Sql,
  functionsUrl: string,
  name: string,
): Promise<{ client: SupabaseClient; user: string }> {
  const [{ id: user }] = await sql<{ id: string }[]>`
    insert into auth.users (id, email) values (gen_random_uuid(), ${`${name}@example.com`})
    returning id`;
  await sql`
    insert into public.adrail_limits (action, scope, user_id, quota, window_seconds)
    select action, scope, ${user}, 1000000, window_seconds from public.adrail_limits
    where scope = 'user' and user_id is null`;
  const { anonKey } = await localKeys();
  const client = createClient(functionsUrl, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${await signLocalUserJwt(user, {}, "6h")}` } },
  });
  return { client, user };
}

let accountNumber = Date.now() * 100;

export async function startBenchStack(
  options: { databaseUrl: string; seed: number; latencyMs: number; faultSeed?: number },
): Promise<BenchStack> {
  const stack = await startLocalStack(options);
  const sql = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });
  const suffix = crypto.randomUUID().slice(0, 8);
  const { client, user } = await bulkClient(sql, stack.functions.url, `bench-${suffix}`);
  const token = `EAAB-bench-${suffix}`;

  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${stack.simulator.url}/__sim/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator /__sim/${path} answered ${response.status}`);
    return JSON.parse(text) as T;
  };

  const invoke = (name: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
    invokeFunction(client, name, body, headers);

  const bench: BenchStack = {
    stack,
    sql,
    client,
    token,
    control,
    graph: new GraphClient({
      baseUrl: stack.simulator.url,
      version: graphApiVersion,
      accessToken: token,
    }),
    graphRequests: async () => (await control<{ total: number }>("requests")).total,
    requestLog: async () => (await control<{ requests: LoggedRequest[] }>("requests")).requests,
    async connect() {
      const act = `act_${++accountNumber}`;
      await control("accounts", { id: act, token });
      const answer = await invoke("ad-accounts", { platformAccountId: act, accessToken: token });
      if (answer.status !== 201) throw new Error(`connecting ${act} answered ${answer.status}`);
      return act;
    },
    invoke,
    async launch(act, name, adSets) {
      const answer = await invoke("campaign-create", {
        adAccountId: act,
        campaign: { name, objective: "OUTCOME_SALES" },
        adSets: { count: adSets, template: adSetTemplate },
        ads: { perAdSet: 1, template: { creativeId: "555" } },
      });
      if (answer.status !== 202) {
        throw new Error(`the launch on ${act} answered ${answer.status} ${JSON.stringify(answer)}`);
      }
      return Number(answer.body.jobId);
    },
    async completed(jobId) {
      for (;;) {
        const [{ status }] = await sql<{ status: string }[]>`
          select status from public.campaign_creation_jobs where id = ${jobId}`;
        if (status === "completed") return;
        if (["failed", "rolled_back"].includes(status)) throw new Error(`job ${jobId} ${status}`);
        await sleep(20);
      }
    },
    async close() {
      try {
        await stack.close();
        // The bench's user goes, and its accounts, entities and jobs with it (on delete cascade).
        await sql`delete from auth.users where id = ${user}`;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
  return bench;
}
