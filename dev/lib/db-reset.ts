// Rebuilds adrail's schema on a database: drop what adrail and the test bootstrap own, then the
// bootstrap (Supabase's roles, auth, extensions), then every migration in order, unchanged.
import { runSql, runSqlFile } from "./local-db.ts";

const root = new URL("../../", import.meta.url).pathname;
const migrationsDir = `${root}supabase/migrations`;

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
create schema public;
grant usage, create on schema public to postgres;
`;

/** The migration files, in the order supabase db push applies them. */
export function migrationFiles(): string[] {
  return [...Deno.readDirSync(migrationsDir)]
    .filter((e) => e.isFile && e.name.endsWith(".sql"))
    .map((e) => `${migrationsDir}/${e.name}`)
    .sort();
}

export async function resetDatabase(databaseUrl: string): Promise<void> {
  await runSql(databaseUrl, dropEverything);
  await runSqlFile(databaseUrl, `${root}dev/supabase-bootstrap.sql`);
  for (const file of migrationFiles()) await runSqlFile(databaseUrl, file);
}
