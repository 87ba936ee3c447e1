// Applies supabase/migrations/*.sql as `supabase migration up` does: each pending file in version
// order, in one transaction with its row in supabase_migrations.schema_migrations, the Supabase
// CLI's own history table, so a database started locally keeps up with new migration files.
import postgres from "postgres";

const defaultMigrationsDir = new URL("../../supabase/migrations", import.meta.url).pathname;

/** A migration file: `<version>_<name>.sql`. */
export type Migration = { version: string; name: string; file: string; path: string };

/** Where the database is in its migrations, as `deno task start` must know before touching it. */
export type MigrationState =
  /** Neither adrail's tables nor a migration history: a fresh database. */
  | "empty"
  /** adrail's tables but no history: migrated by an older adrail, pending files are unknowable. */
  | "unrecorded"
  /** A migration history: the pending files are those it does not record. */
  | "recorded";

/** A migration problem the caller reports in one line (its message says what to do). */
export class MigrationError extends Error {}

export class MigrationChangedError extends MigrationError {
  constructor(readonly file: string) {
    super(
      `${file} was edited after it was applied to this database: create a new migration instead, ` +
        "or rebuild this throwaway database with `deno task db:reset`",
    );
  }
}

export class MigrationFailedError extends MigrationError {
  constructor(readonly file: string, reason: string) {
    super(`${file} failed, none of it applied: ${reason}`);
  }
}

/** The migration files, in the order supabase db push applies them. */
export function migrationFiles(dir = defaultMigrationsDir): Migration[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".sql"))
    .map((e) => e.name)
    .sort()
    .map((file) => {
      const parts = file.match(/^(\d+)_(.+)\.sql$/);
      if (!parts) throw new MigrationError(`${file}: a migration is named <version>_<name>.sql`);
      return { version: parts[1], name: parts[2], file, path: `${dir}/${file}` };
    });
}

// Exactly the table the Supabase CLI creates, so either tool reads the other's history.
const historyTable = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
`;

function connect(databaseUrl: string): postgres.Sql {
  return postgres(databaseUrl, {
    max: 1,
    connection: { client_min_messages: "warning" },
    onnotice: (notice) => console.warn(`${notice.severity}: ${notice.message}`),
  });
}

export async function migrationState(databaseUrl: string): Promise<MigrationState> {
  const sql = connect(databaseUrl);
  try {
    const [row] = await sql`
      select to_regclass('supabase_migrations.schema_migrations') is not null as recorded,
             to_regclass('public.ad_accounts') is not null
               or to_regclass('public.campaign_creation_jobs') is not null as adrail`;
    return row.recorded ? "recorded" : row.adrail ? "unrecorded" : "empty";
  } finally {
    await sql.end();
  }
}

/** Where a failure was: the database's message, with the file's line when it names a position. */
function failureReason(error: unknown, text: string): string {
  if (!(error instanceof postgres.PostgresError)) return String(error);
  const position = Number(error.position);
  if (!position) return error.message;
  return `${error.message} (line ${text.slice(0, position).split("\n").length})`;
}

/**
 * Applies every pending migration of `migrationsDir` to the database (which already has the
 * bootstrap); returns those applied. Refuses, applying nothing, when an applied file was edited.
 */
export async function applyMigrations(
  databaseUrl: string,
  migrationsDir = defaultMigrationsDir,
): Promise<Migration[]> {
  const migrations = migrationFiles(migrationsDir);
  const texts = new Map(migrations.map((m) => [m.version, Deno.readTextFileSync(m.path)]));
  const sql = connect(databaseUrl);
  try {
    // Two starts at once: the second waits, then finds nothing pending (one connection: the
    // session lock is released when it ends).
    await sql`select pg_advisory_lock(hashtext('adrail: migrations'))`;
    await sql.unsafe(historyTable);
    const rows = await sql<{ version: string; statements: string[] | null }[]>`
      select version, statements from supabase_migrations.schema_migrations`;
    const recorded = new Map(rows.map((row) => [row.version, row.statements]));
    // Every applied file is checked before any pending one runs: a refusal changes nothing.
    for (const m of migrations.filter((m) => recorded.has(m.version))) {
      const statements = recorded.get(m.version);
      if (statements?.length !== 1 || statements[0] !== texts.get(m.version)) {
        throw new MigrationChangedError(m.file);
      }
    }
    const pending = migrations.filter((m) => !recorded.has(m.version));
    for (const m of pending) {
      const text = texts.get(m.version)!;
      // The CLI records a file split into its statements; adrail records the whole file as the
      // one statement, so comparing it with the file detects any edit.
      await sql.begin(async (tx) => {
        await tx.unsafe(text);
        await tx`
          insert into supabase_migrations.schema_migrations (version, statements, name)
          values (${m.version}, array[${text}::text], ${m.name})`;
      }).catch((error) => {
        throw new MigrationFailedError(m.file, failureReason(error, text));
      });
    }
    return pending;
  } finally {
    await sql.end();
  }
}
