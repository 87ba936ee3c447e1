// Configuration comes from the environment only: Supabase's own variables plus adrail's.
// Each setting is read when it is needed, so a function fails on the first request that needs a
// missing one, naming it, and a module never needs settings it does not use.
import { AdrailError } from "./errors.ts";
import { maskSecrets } from "./log.ts";

/**
 * A required setting is missing (or empty) or unusable. It carries the setting's NAME only, never
 * its value: the HTTP layer logs the name and answers a bare 500.
 */
export class ConfigError extends AdrailError {
  override readonly name = "ConfigError";

  constructor(readonly setting: string, readonly problem: "missing" | "malformed" = "missing") {
    super("config_missing", `${problem} setting ${setting}`, { setting, problem });
  }
}

function required(name: string, ...fallbacks: string[]): string {
  for (const key of [name, ...fallbacks]) {
    const value = Deno.env.get(key);
    if (value) return value;
  }
  throw new ConfigError(name);
}

/** Where the functions' pool connects, and whether a server connection lasts only a transaction. */
export type DatabaseConnection = { url: string; transactionPooler: boolean };

/**
 * The database: DB_POOLER_URL when set (Supavisor's transaction pooler, for many instances at
 * once; a custom secret, as SUPABASE_ names are reserved), else SUPABASE_DB_URL (injected by
 * Supabase, direct), else DATABASE_URL (elsewhere).
 */
export function databaseConnection(): DatabaseConnection {
  const pooler = Deno.env.get("DB_POOLER_URL");
  if (pooler) return { url: pooler, transactionPooler: true };
  return { url: required("SUPABASE_DB_URL", "DATABASE_URL"), transactionPooler: false };
}

/** A whole number from 1 to `max` from the environment; `fallback` when unset or empty. */
function positiveInteger(name: string, fallback: number, max: number): number {
  const value = Deno.env.get(name);
  if (!value) return fallback;
  if (!/^[1-9][0-9]*$/.test(value) || Number(value) > max) throw new ConfigError(name, "malformed");
  return Number(value);
}

/**
 * How long a Graph call may take before it is abandoned. A read that times out is tried again
 * (it changed nothing); a write that times out is an unknown outcome, looked up on Meta before
 * anything is sent again, so writes are given longer.
 */
export type GraphTimeouts = { readMs: number; writeMs: number };

/**
 * 20 s for a read, 30 s for a write: together (a creation batch, then the account probe that
 * follows its failure) they fit in the 60 s lease a job step starts with, and well inside an
 * invocation's 150 s wall clock. Meta answers a 50-item batch in seconds.
 */
export const defaultGraphTimeouts: GraphTimeouts = { readMs: 20_000, writeMs: 30_000 };

/** Above the paid plans' 400 s wall clock a timeout means nothing. */
const maxGraphTimeoutMs = 400_000;

export type GraphSettings = { baseUrl: string; version: string; timeouts: GraphTimeouts };

/** The Graph API version adrail speaks: Meta's current one (v27.0, 2026-11-04). */
export const defaultGraphApiVersion = "v27.0";

/**
 * Where Meta's Graph API is (the real one by default, the simulator in tests and the demo) and
 * how long a call may take (GRAPH_READ_TIMEOUT_MS, GRAPH_WRITE_TIMEOUT_MS).
 */
export function graphSettings(): GraphSettings {
  return {
    baseUrl: (Deno.env.get("GRAPH_BASE_URL") ?? "https://graph.facebook.com").replace(/\/+$/, ""),
    version: Deno.env.get("GRAPH_API_VERSION") ?? defaultGraphApiVersion,
    timeouts: {
      readMs: positiveInteger(
        "GRAPH_READ_TIMEOUT_MS",
        defaultGraphTimeouts.readMs,
        maxGraphTimeoutMs,
      ),
      writeMs: positiveInteger(
        "GRAPH_WRITE_TIMEOUT_MS",
        defaultGraphTimeouts.writeMs,
        maxGraphTimeoutMs,
      ),
    },
  };
}

/**
 * Connections of a function instance's database pool (DB_POOL_MAX), opened as queries need them.
 * An instance (isolate) serves its function's requests at once, so its pool serves them all. 20 by
 * default: the creation worker's four runs at once (creation_worker_slots) may all land in one
 * isolate, each with its lanes (one job each, one query at a time) and its slot's heartbeat, 5.
 */
export function dbPoolMax(): number {
  return positiveInteger("DB_POOL_MAX", 20, 100);
}

/**
 * The isolate's CPU time at which its creation-worker runs stop taking on work
 * (CREATION_WORKER_CPU_BUDGET_MS): 1,200 ms by default. Supabase counts CPU per isolate, over all
 * its requests: it retires the isolate at 1 s (no new requests) and ends it at 2 s. Past the
 * first, the runs that take over the due jobs land in a fresh isolate; under the second by the
 * steps in flight, the releases and the isolate's other requests.
 */
export function creationWorkerCpuBudgetMs(): number {
  return positiveInteger("CREATION_WORKER_CPU_BUDGET_MS", 1_200, 2_000);
}

/**
 * The isolate's CPU time at which a safety-net run stops reading final syncs and attribution tails
 * (SAFETY_NET_CPU_BUDGET_MS): 1,200 ms by default, as the creation worker's and for the same
 * reasons; what it claimed and did not reach is released for the next run.
 */
export function safetyNetCpuBudgetMs(): number {
  return positiveInteger("SAFETY_NET_CPU_BUDGET_MS", 1_200, 2_000);
}

export type JwtKeys = {
  /** HS256 secret of the project's (legacy) JWTs. */
  secret?: string;
  /** JSON Web Key Set of the project's asymmetric signing keys. */
  jwks?: { keys: JsonWebKey[] };
};

/**
 * The keys user JWTs are verified with. Custom secrets may not start with SUPABASE_: JWT_SECRET.
 * SUPABASE_JWKS comes as a key set ({"keys": [...]}) or as a bare array of keys: both are taken.
 */
export function jwtKeys(): JwtKeys {
  const jwks = Deno.env.get("SUPABASE_JWKS");
  let keySet: JwtKeys["jwks"];
  if (jwks) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(jwks);
    } catch {
      throw new ConfigError("SUPABASE_JWKS", "malformed");
    }
    keySet = Array.isArray(parsed) ? { keys: parsed } : parsed as JwtKeys["jwks"];
    if (!Array.isArray(keySet?.keys)) throw new ConfigError("SUPABASE_JWKS", "malformed");
  }
  const secret = Deno.env.get("SUPABASE_JWT_SECRET") || Deno.env.get("JWT_SECRET") || undefined;
  maskSecrets(secret);
  // Without either, no JWT can be verified: a deployment error, not the caller's.
  if (!secret && !keySet) throw new ConfigError("SUPABASE_JWT_SECRET or SUPABASE_JWKS");
  return { secret, jwks: keySet };
}

/**
 * The issuer user JWTs must name (`iss`), when set: Supabase Auth's URL,
 * `https://<project ref>.supabase.co/auth/v1`. Unset, the issuer is not checked. A custom secret:
 * JWT_ISSUER.
 */
export function jwtIssuer(): string | undefined {
  return Deno.env.get("JWT_ISSUER") || undefined;
}

/**
 * The keys secrets at rest are encrypted under (token-crypto.ts): `current`, TOKEN_ENCRYPTION_KEY,
 * encrypts and decrypts; `others`, TOKEN_ENCRYPTION_KEYRING (comma-separated, optional), only
 * decrypt: the key being rotated away from, or the next one, staged. Each is 32 bytes, as 64 hex
 * digits or base64. Checked here, so a malformed key is a configuration error naming the
 * setting, never echoing it.
 */
export type TokenEncryptionKeys = { current: Uint8Array; others: Uint8Array[] };

export function tokenEncryptionKeys(): TokenEncryptionKeys {
  const keyring = Deno.env.get("TOKEN_ENCRYPTION_KEYRING") ?? "";
  maskSecrets(Deno.env.get("TOKEN_ENCRYPTION_KEY"), ...keyring.split(",").map((key) => key.trim()));
  return {
    current: keyBytes("TOKEN_ENCRYPTION_KEY", required("TOKEN_ENCRYPTION_KEY")),
    others: keyring.split(",").map((key) => key.trim()).filter((key) => key !== "")
      .map((key) => keyBytes("TOKEN_ENCRYPTION_KEYRING", key)),
  };
}

function keyBytes(setting: string, encoded: string): Uint8Array {
  if (/^[0-9a-f]{64}$/i.test(encoded)) {
    return Uint8Array.from(encoded.match(/../g)!, (digits) => parseInt(digits, 16));
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  } catch {
    // not base64 either
  }
  if (bytes?.length !== 32) throw new ConfigError(setting, "malformed");
  return bytes;
}

/** The secret pg_cron sends (x-cron-secret) to call service-only functions; unset = no cron access. */
export function cronSecret(): string | undefined {
  const secret = Deno.env.get("CRON_SECRET") || undefined;
  maskSecrets(secret);
  return secret;
}

/**
 * A duration in seconds from the environment, 0 or more and of the kind `valid` accepts (whole or
 * finite); `fallback` when unset or empty.
 */
function seconds(name: string, fallback: number, valid: (value: number) => boolean): number {
  const value = Deno.env.get(name);
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!valid(parsed) || parsed < 0) throw new ConfigError(name, "malformed");
  return parsed;
}

/** The default of ATTRIBUTION_TAIL_READ_EVERY_SECONDS: four re-reads a day at most. */
export const defaultAttributionTailReadEverySeconds = 6 * 3600;

/**
 * How often a stopped entity's metrics are re-read in its 28-day attribution tail, at most
 * (ATTRIBUTION_TAIL_READ_EVERY_SECONDS; 0 re-reads on every sync).
 */
export function attributionTailReadEverySeconds(): number {
  return seconds(
    "ATTRIBUTION_TAIL_READ_EVERY_SECONDS",
    defaultAttributionTailReadEverySeconds,
    Number.isInteger,
  );
}

/** The default of INSIGHTS_REPORT_WAIT_SECONDS. */
export const defaultInsightsReportWaitSeconds = 20;

/**
 * How long one sync polls Meta's async insights reports before leaving them to the next sync
 * (INSIGHTS_REPORT_WAIT_SECONDS): well inside the edge function's wall-clock limit.
 */
export function insightsReportWaitSeconds(): number {
  return seconds("INSIGHTS_REPORT_WAIT_SECONDS", defaultInsightsReportWaitSeconds, Number.isFinite);
}

/**
 * Whether the functions run on adrail's local stack: dev/lib/local-env.ts sets
 * ADRAIL_LOCAL_STACK_FUNCTIONS=1 (as ADRAIL_LOCAL_STACK=1 declares the local stack's database; a
 * name of its own, so that one never implies the other). Never set on Supabase. Webhooks may then
 * go to a loopback http URL.
 */
export function localStack(): boolean {
  return Deno.env.get("ADRAIL_LOCAL_STACK_FUNCTIONS") === "1";
}
