// deno task test — every test: reset the schema, pgTAP (supabase/tests/database), then the Deno
// tests (functions over real HTTP, the simulator). Ends with one summary line for CI.
import { ensureDatabase } from "./lib/local-db.ts";
import { resetDatabase } from "./lib/db-reset.ts";

const root = new URL("..", import.meta.url).pathname;

type Outcome = { passed: number; failed: number; ok: boolean };

async function runAndTee(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ text: string; ok: boolean }> {
  const child = new Deno.Command(cmd, { args, env, cwd: root, stdout: "piped", stderr: "inherit" })
    .spawn();
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  const status = await child.status;
  return { text, ok: status.success };
}

async function pgTap(databaseUrl: string): Promise<Outcome> {
  const files = [...Deno.readDirSync(`${root}supabase/tests/database`)]
    .filter((e) => e.name.endsWith(".test.sql"))
    .map((e) => `supabase/tests/database/${e.name}`)
    .sort();
  const { text, ok } = await runAndTee("pg_prove", ["-d", databaseUrl, "--failures", ...files], {
    PGOPTIONS: "-c client_min_messages=warning",
  });
  const tests = Number(text.match(/Tests=(\d+)/)?.[1] ?? 0);
  const failedTests = [...text.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  const failed = ok ? 0 : Math.max(failedTests, 1);
  return { passed: tests - failedTests, failed, ok };
}

async function denoTests(databaseUrl: string): Promise<Outcome> {
  const { text, ok } = await runAndTee(Deno.execPath(), [
    "test",
    "-A",
    "supabase/tests/",
    "simulator/",
  ], {
    DATABASE_URL: databaseUrl,
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
  });
  const summary = text.match(/(\d+) passed.*\| (\d+) failed/);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? (ok ? 0 : 1));
  return { passed, failed: ok ? failed : Math.max(failed, 1), ok };
}

const databaseUrl = await ensureDatabase();
await resetDatabase(databaseUrl);
console.log("== pgTAP: supabase/tests/database");
const sql = await pgTap(databaseUrl);
console.log("== Deno tests: supabase/tests, simulator");
const deno = await denoTests(databaseUrl);
const passed = sql.passed + deno.passed;
const failed = sql.failed + deno.failed;
console.log(
  `\npgTAP ${sql.passed} passed, ${sql.failed} failed; Deno ${deno.passed} passed, ${deno.failed} failed`,
);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(sql.ok && deno.ok ? 0 : 1);
