// deno task db:reset — drops and recreates adrail's schema on $DATABASE_URL (or the local cluster).
import { ensureDatabase } from "./lib/local-db.ts";
import { migrationFiles, resetDatabase } from "./lib/db-reset.ts";

const url = await ensureDatabase();
await resetDatabase(url);
console.log(`db:reset: bootstrap and ${migrationFiles().length} migrations applied`);
