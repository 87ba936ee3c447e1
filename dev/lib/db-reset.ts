// Rebuilds adrail's schema on a database: drop what adrail, the test bootstrap and the migration
// history own, then the bootstrap (Supabase's roles, auth, extensions, net, vault), then every
// migration in order, unchanged and recorded as the Supabase CLI records it.
import { runSql, runSqlFile } from "./local-db.ts";
import { applyMigrations, type Migration, MigrationError, migrationState } from "./migrations.ts";

const root = new URL("../../", import.meta.url).pathname;

const dropEverything = `
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'cron') then
    perform cron.unschedule(jobid) from cron.job where jobname like 'adrail-%';
  end if;
end
$$;
drop schema if exists public cascade;
drop schema if exists private cascade;
drop schema if exists tests cascade;
drop schema if exists auth cascade;
drop schema if exists supabase_migrations cascade;
drop schema if exists net cascade;
drop schema if exists vault cascade;
create schema public;
grant usage, create on schema public to postgres;
`;

/** Resets the database; returns the migrations applied (all of them). */
export async function resetDatabase(databaseUrl: string): Promise<Migration[]> {
  await runSql(databaseUrl, dropEverything);
  await runSqlFile(databaseUrl, `${root}dev/supabase-bootstrap.sql`);
  return await applyMigrations(databaseUrl);
}

/**
 * Brings a database up to date without losing its data, as `start` does: the bootstrap (it is
 * idempotent, and a part added since reaches an existing database), then the pending migrations.
 * Refuses (MigrationError) a database with adrail's tables but no migration history: which
 * migrations it lacks cannot be known.
 */
export async function updateDatabase(databaseUrl: string): Promise<Migration[]> {
  if (await migrationState(databaseUrl) === "unrecorded") {
    throw new MigrationError(
      "the database has adrail's tables but no migration history (migrated by an older " +
        "adrail), so which migrations it lacks is unknown: rebuild it with `deno task db:reset` " +
        "(same DATABASE_URL), it is a throwaway local database",
    );
  }
  await runSqlFile(databaseUrl, `${root}dev/supabase-bootstrap.sql`);
  return await applyMigrations(databaseUrl);
}
