// deno task db:reset — drops and recreates adrail's schema on $DATABASE_URL (or the local cluster).
import { ensureDatabase } from "./lib/local-db.ts";
import { resetDatabase } from "./lib/db-reset.ts";
import { MigrationError } from "./lib/migrations.ts";

const url = await ensureDatabase();
const applied = await resetDatabase(url).catch((error) => {
  if (!(error instanceof MigrationError)) throw error;
  console.error(`db:reset: ${error.message}`);
  return Deno.exit(1);
});
console.log(`db:reset: bootstrap and ${applied.length} migrations applied`);
