// Migrations applied and recorded as the Supabase CLI records them: only the pending files, each
// with its record in one transaction, and nothing at all when an applied file was edited. Each
// test runs on a throwaway database of its own on $DATABASE_URL's cluster, never the test database.
import assert from "node:assert/strict";
import postgres from "postgres";
import { runSqlFile } from "../../../dev/lib/local-db.ts";
import { resetDatabase } from "../../../dev/lib/db-reset.ts";
import {
  applyMigrations,
  MigrationChangedError,
  MigrationFailedError,
  migrationFiles,
  migrationState,
} from "../../../dev/lib/migrations.ts";

const root = new URL("../../../", import.meta.url).pathname;

/** $DATABASE_URL: its cluster holds the throwaway databases. */
function clusterUrl(): string {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) throw new Error("DATABASE_URL is not set: run the tests with `deno task test`");
  return url;
}

/** A new migration, after every one of the repo's. */
const probe = "29991231000000_migration_probe.sql";

/** Runs `test` on a new database of the cluster (bootstrapped unless `bare`), dropped after. */
async function withDatabase(
  test: (url: string, sql: postgres.Sql) => Promise<void>,
  { bare = false } = {},
): Promise<void> {
  const name = `adrail_migrations_test_${Deno.pid}`;
  const url = new URL(clusterUrl());
  url.pathname = `/${name}`;
  const cluster = postgres(clusterUrl(), { max: 1, onnotice: () => {} });
  await cluster.unsafe(`drop database if exists ${name} with (force)`);
  await cluster.unsafe(`create database ${name}`);
  const sql = postgres(url.href, { max: 1, onnotice: () => {} });
  try {
    if (!bare) await runSqlFile(url.href, `${root}dev/supabase-bootstrap.sql`);
    await test(url.href, sql);
  } finally {
    await sql.end();
    await cluster.unsafe(`drop database if exists ${name} with (force)`);
    await cluster.end();
  }
}

/** A copy of the repo's migrations plus `extra` files (name → SQL); removed after `use`. */
async function withMigrationsDir(
  extra: Record<string, string>,
  use: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adrail-migrations-" });
  try {
    for (const m of migrationFiles()) await Deno.copyFile(m.path, `${dir}/${m.file}`);
    for (const [file, text] of Object.entries(extra)) {
      await Deno.writeTextFile(`${dir}/${file}`, text);
    }
    await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function history(sql: postgres.Sql) {
  const rows = await sql<{ version: string; name: string; statements: string[] }[]>`
    select version, name, statements from supabase_migrations.schema_migrations order by version`;
  return [...rows];
}

async function tableExists(sql: postgres.Sql, table: string): Promise<boolean> {
  const [row] = await sql`select to_regclass(${table}) is not null as found`;
  return row.found;
}

Deno.test("a fresh database: every migration applied and recorded as the Supabase CLI does", async () => {
  await withDatabase(async (url, sql) => {
    const files = migrationFiles();
    assert.equal(files[0].version, "20261123180000");
    assert.equal(files[0].name, "ad_accounts_and_members");

    const applied = await applyMigrations(url);
    assert.deepEqual(applied.map((m) => m.file), files.map((m) => m.file));
    assert.deepEqual(
      await history(sql),
      files.map((m) => ({
        version: m.version,
        name: m.name,
        statements: [Deno.readTextFileSync(m.path)],
      })),
    );
    assert.ok(await tableExists(sql, "public.campaign_creation_jobs"));
    assert.deepEqual(await applyMigrations(url), [], "a second run has nothing to apply");
  });
});

Deno.test("a new migration file: only it is applied and recorded, once", async () => {
  await withDatabase(async (url, sql) => {
    await applyMigrations(url);
    const text = "create table public.migration_probe (id int primary key);\n";
    await withMigrationsDir({ [probe]: text }, async (dir) => {
      const applied = await applyMigrations(url, dir);
      assert.deepEqual(applied.map((m) => [m.version, m.name]), [[
        "29991231000000",
        "migration_probe",
      ]]);
      assert.ok(await tableExists(sql, "public.migration_probe"));
      const last = (await history(sql)).at(-1);
      assert.deepEqual(last, {
        version: "29991231000000",
        name: "migration_probe",
        statements: [text],
      });
      assert.deepEqual(await applyMigrations(url, dir), []);
    });
  });
});

Deno.test("an applied migration edited: refused by name, and no pending file applied", async () => {
  await withDatabase(async (url, sql) => {
    await applyMigrations(url);
    const edited = migrationFiles()[2];
    // Pending and first in order, so applying files while still checking later ones would show.
    const pending = "00000000000000_migration_probe.sql";
    await withMigrationsDir(
      { [pending]: "create table public.migration_probe (id int);\n" },
      async (dir) => {
        await Deno.writeTextFile(`${dir}/${edited.file}`, "-- one more comment\n", {
          append: true,
        });
        await assert.rejects(applyMigrations(url, dir), (error) => {
          assert.ok(error instanceof MigrationChangedError);
          assert.equal(error.file, edited.file);
          assert.match(error.message, /deno task db:reset/);
          return true;
        });
        assert.equal(await tableExists(sql, "public.migration_probe"), false);
        assert.equal((await history(sql)).length, migrationFiles().length);
      },
    );
  });
});

Deno.test("a failing migration: neither its changes nor its record remain", async () => {
  await withDatabase(async (url, sql) => {
    await applyMigrations(url);
    const text = "create table public.migration_probe (id int);\nselect no_such_function();\n";
    await withMigrationsDir({ [probe]: text }, async (dir) => {
      await assert.rejects(applyMigrations(url, dir), (error) => {
        assert.ok(error instanceof MigrationFailedError);
        assert.equal(error.file, probe);
        assert.match(error.message, /no_such_function.*\(line 2\)/);
        return true;
      });
      assert.equal(await tableExists(sql, "public.migration_probe"), false);
      assert.equal((await history(sql)).length, migrationFiles().length);
    });
  });
});

Deno.test("migrationState: empty, unrecorded (an older adrail's migrations), recorded", async () => {
  await withDatabase(async (url) => {
    assert.equal(await migrationState(url), "empty");
    await runSqlFile(url, `${root}dev/supabase-bootstrap.sql`);
    assert.equal(await migrationState(url), "empty", "the bootstrap alone is no migration");
    for (const m of migrationFiles()) await runSqlFile(url, m.path);
    assert.equal(await migrationState(url), "unrecorded");
  }, { bare: true });
  await withDatabase(async (url) => {
    await applyMigrations(url);
    assert.equal(await migrationState(url), "recorded");
  });
});

Deno.test("db reset twice: the schema rebuilt and every migration recorded each time", async () => {
  await withDatabase(async (url, sql) => {
    for (let i = 0; i < 2; i++) {
      const applied = await resetDatabase(url);
      assert.equal(applied.length, migrationFiles().length);
      assert.deepEqual(
        (await history(sql)).map((row) => row.version),
        migrationFiles().map((m) => m.version),
      );
      assert.ok(await tableExists(sql, "public.campaign_creation_jobs"));
    }
  }, { bare: true });
});
