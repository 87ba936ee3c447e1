// The settings of Graph timeouts and of the database pool (where it connects, and how many): defaults when unset, the value when
// well formed, a configuration error naming the setting (never echoing it) otherwise.
import assert from "node:assert/strict";
import {
  ConfigError,
  databaseConnection,
  dbPoolMax,
  defaultGraphTimeouts,
  graphSettings,
} from "../../functions/_shared/platform/config.ts";
import { closeDb, db } from "../../functions/_shared/platform/db.ts";
import { databaseUrl } from "../_support/stack.ts";

/** Runs `check` with `settings` in the environment, then puts the environment back. */
async function withEnv(
  settings: Record<string, string | undefined>,
  check: () => unknown,
): Promise<void> {
  const before = Object.fromEntries(Object.keys(settings).map((key) => [key, Deno.env.get(key)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
  };
  apply(settings);
  try {
    await check();
  } finally {
    apply(before);
  }
}

function refused(setting: string, read: () => unknown): void {
  assert.throws(read, (error) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual([error.setting, error.problem], [setting, "malformed"]);
    return true;
  });
}

Deno.test("Graph timeouts: 20 s for reads, 30 s for writes unless set; malformed is refused", async () => {
  await withEnv({ GRAPH_READ_TIMEOUT_MS: undefined, GRAPH_WRITE_TIMEOUT_MS: undefined }, () => {
    assert.deepEqual(graphSettings().timeouts, defaultGraphTimeouts);
    assert.deepEqual(defaultGraphTimeouts, { readMs: 20_000, writeMs: 30_000 });
  });
  await withEnv({ GRAPH_READ_TIMEOUT_MS: "4000", GRAPH_WRITE_TIMEOUT_MS: "1000" }, () => {
    assert.deepEqual(graphSettings().timeouts, { readMs: 4000, writeMs: 1000 });
  });
  for (const bad of ["0", "-5", "1.5", "20s", "400001"]) {
    await withEnv({ GRAPH_WRITE_TIMEOUT_MS: bad }, () => {
      refused("GRAPH_WRITE_TIMEOUT_MS", graphSettings);
    });
  }
});

Deno.test("DB_POOL_MAX: 20 unless set, 1 to 100", async () => {
  await withEnv({ DB_POOL_MAX: undefined }, () => assert.equal(dbPoolMax(), 20));
  await withEnv({ DB_POOL_MAX: "12" }, () => assert.equal(dbPoolMax(), 12));
  for (const bad of ["0", "101", "five"]) {
    await withEnv({ DB_POOL_MAX: bad }, () => refused("DB_POOL_MAX", dbPoolMax));
  }
});

Deno.test("the database: DB_POOLER_URL (the transaction pooler, no prepared statements) before the direct URL", async () => {
  const direct = "postgres://postgres:pw@db.example.supabase.co:5432/postgres";
  const pooler = "postgres://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres";
  await withEnv({ DB_POOLER_URL: undefined, SUPABASE_DB_URL: direct }, () => {
    assert.deepEqual(databaseConnection(), { url: direct, transactionPooler: false });
  });
  await withEnv({ DB_POOLER_URL: pooler, SUPABASE_DB_URL: direct }, () => {
    assert.deepEqual(databaseConnection(), { url: pooler, transactionPooler: true });
  });
});

/** The statements one pool connection holds prepared after it ran a parameterized query twice. */
async function preparedAfterTwoQueries(): Promise<number> {
  const connection = await db().reserve();
  try {
    for (const value of [1, 2]) await connection`select ${value}::int as value`;
    const [{ count }] = await connection<{ count: number }[]>`
      select count(*)::int as count from pg_prepared_statements`;
    return count;
  } finally {
    connection.release();
    await closeDb();
  }
}

Deno.test("the pool prepares its statements on a direct connection, and none through the transaction pooler", async () => {
  const url = databaseUrl();
  await closeDb();
  const direct = { DB_POOLER_URL: undefined, SUPABASE_DB_URL: url };
  let count = 0;
  await withEnv(direct, async () => count = await preparedAfterTwoQueries());
  assert.ok(count >= 1, `a direct connection prepared ${count} statements`);
  // The same database stands in for the pooler: what is checked is what the pool asks of it.
  await withEnv({ ...direct, DB_POOLER_URL: url }, async () => {
    count = await preparedAfterTwoQueries();
  });
  assert.equal(count, 0);
});
