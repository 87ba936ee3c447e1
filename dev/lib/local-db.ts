// Where the database is: $DATABASE_URL when given, else adrail's own throwaway cluster.

const devDir = new URL("..", import.meta.url).pathname;

/** Runs a command to completion; throws with its stderr when it fails. */
export async function run(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${cmd} ${args[0] ?? ""} failed (exit ${out.code}):\n${err}${text}`);
  }
  return text;
}

/** $DATABASE_URL, or the URL of the local cluster after starting it (created on first use). */
export async function ensureDatabase(): Promise<string> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) return given;
  return (await run("bash", [`${devDir}postgres.sh`, "start"])).trim();
}

/** Runs one SQL file with psql, stopping at the first error; notices are kept quiet. */
export async function runSqlFile(databaseUrl: string, file: string): Promise<void> {
  await run("psql", [
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "--single-transaction",
    "-d",
    databaseUrl,
    "-f",
    file,
  ], {
    PGOPTIONS: "-c client_min_messages=warning",
  });
}

/** Runs SQL text with psql. */
export async function runSql(databaseUrl: string, sql: string): Promise<string> {
  return await run("psql", [
    "-X",
    "-q",
    "-At",
    "-v",
    "ON_ERROR_STOP=1",
    "-d",
    databaseUrl,
    "-c",
    sql,
  ], {
    PGOPTIONS: "-c client_min_messages=warning",
  });
}
