// One Postgres connection pool per function instance, DB_POOL_MAX connections at most (config.ts
// says why 20). On a direct connection (SUPABASE_DB_URL) statements are prepared, once per
// connection: a parameterized statement sent unprepared costs postgres.js a describe round trip
// first, and Postgres plans it afresh every time. Through Supavisor's transaction pooler
// (DB_POOLER_URL, port 6543) a prepared statement does not outlive its transaction, so none is
// prepared there. Nothing here relies on a session (no SET, LISTEN or session advisory lock).
import postgres from "postgres";
import { databaseConnection, dbPoolMax } from "./config.ts";
import { ignoreStaleSocketWrites } from "./stale-socket-writes.ts";

export type Sql = postgres.Sql;
/** The sql of a transaction (db().begin). */
export type Transaction = postgres.TransactionSql;
/** The kinds of ad entity, as the entity_type columns name them. */
export type EntityType = "campaign" | "ad_set" | "ad";

/** A value postgres.js can send as json/jsonb (sql.json). */
export type Json = postgres.JSONValue;

let pool: Sql | undefined;

export function db(): Sql {
  if (pool) return pool;
  ignoreStaleSocketWrites();
  const { url, transactionPooler } = databaseConnection();
  pool = postgres(url, {
    prepare: !transactionPooler,
    max: dbPoolMax(),
    // An idle instance keeps its pool for its next request; a connection idle 20 s goes back.
    idle_timeout: 20,
    // A database that does not answer fails the request in seconds, not after 30 s.
    connect_timeout: 10,
    // Names the functions' sessions in pg_stat_activity (dashboard SQL, the soak's connection count).
    connection: { application_name: "adrail-functions" },
    onnotice: () => {},
  });
  return pool;
}

/** Closes the pool (tests and the local server's shutdown; Supabase just drops the worker). */
export async function closeDb(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.end({ timeout: 5 });
}

/** adrail's own SQLSTATEs (raised with `using errcode` in the migrations). */
export const DbErrorCode = {
  illegalTransition: "ADR01",
  notClaimant: "ADR02",
  idempotencyConflict: "ADR03",
  notFound: "ADR04",
  retryBudgetExhausted: "ADR05",
  /** A member whose role does not allow the action (private.account_role_actions). */
  roleForbids: "ADR06",
  /** Connecting an ad account that other members have connected already. */
  connectedByOthers: "ADR07",
  /** A membership change that would leave an ad account without an owner. */
  lastOwner: "ADR08",
  /** An abuse limit reached (public.adrail_limits); DETAIL holds {action, scope, quota}. */
  limitReached: "ADR09",
  /** A reservation over the ad account's daily budget cap; DETAIL holds {cap, reserved, requested}. */
  budgetCapExceeded: "ADR10",
  /** An approval decision the job cannot take now; DETAIL holds {status, decision}. */
  approvalConflict: "ADR11",
  /** The requester approving their own launch. */
  ownApproval: "ADR12",
  /** An update, delete or truncate of the append-only budget_ledger. */
  ledgerAppendOnly: "ADR13",
  /** A daily budget cap below what the ad account has reserved already. */
  capBelowReserved: "ADR14",
  /** A status change without an open attribution tail (not final-synced yet, settled, superseded). */
  noOpenTail: "ADR15",
  /** A sync of the ad account is running (its lease is held): one sync per account at a time. */
  syncRunning: "ADR18",
  /** The sync's lease on its account is gone (expired and taken by another sync). */
  syncLeaseLost: "ADR19",
  /** A webhook delivery attempt recorded by a run that no longer holds the event. */
  notWebhookClaimant: "ADR20",
} as const;
export type DbErrorCode = (typeof DbErrorCode)[keyof typeof DbErrorCode];

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  return error instanceof postgres.PostgresError ? error.code : undefined;
}
