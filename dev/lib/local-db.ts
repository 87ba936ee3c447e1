// Where the database is: $DATABASE_URL when given, else adrail's own throwaway cluster. The local
// stack takes it over (drops and rebuilds schemas on reset, installs the pg_net and Vault
// stand-ins, stores its fixed cron secret in Vault, encrypts tokens under its fixed key): only a
// database of this machine, or one declared a throwaway of the local stack.
import { isLoopback } from "../../simulator/loopback.ts";

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

/** Declares a database on another host a throwaway one of the local stack: `ADRAIL_LOCAL_STACK=1`. */
export const localStackMarker = "ADRAIL_LOCAL_STACK";

/**
 * `url` if the local stack may take that database over: on a loopback address or a Unix socket,
 * or anywhere with the local-stack marker set. Otherwise an Error naming the host (never the URL,
 * which holds a password).
 */
export function localStackDatabase(url: string): string {
  // Parsed by hand: WHATWG URLs refuse what libpq takes (a user without a host, before ?host=).
  const host = url.match(/^[a-z]+:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i)?.[1] ?? "";
  const socket = /[?&]host=(\/|%2F)/i.test(url);
  const onThisMachine = socket || host === "" || isLoopback(host.replace(/^\[(.*)\]$/, "$1"));
  if (onThisMachine || Deno.env.get(localStackMarker) === "1") return url;
  throw new Error(
    `refusing the database on ${host}: the local stack drops and rebuilds its schemas and puts its ` +
      "fixed local secrets in it, so it runs on a database of this machine only (127.0.0.1, ::1, " +
      `localhost or a socket). If ${host} is a throwaway database of your own (a CI service ` +
      `container), say so with ${localStackMarker}=1.`,
  );
}

/**
 * $DATABASE_URL (if the local stack may take it over), or the URL of the local cluster after
 * starting it (created on first use).
 */
export async function ensureDatabase(): Promise<string> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) return localStackDatabase(given);
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
