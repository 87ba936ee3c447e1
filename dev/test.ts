// deno task test — every test: reset the schema, pgTAP (supabase/tests/database), then the Deno
// tests (functions over real HTTP, the simulator), then the secret scan of everything the functions
// answered and logged (dev/lib/secret-scan.ts). Ends with one summary line for CI.
import { ensureDatabase } from "./lib/local-db.ts";
import { resetDatabase } from "./lib/db-reset.ts";
import { findSecrets, scanTrafficDir } from "./lib/secret-scan.ts";

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

/**
 * No access token, app secret or key in anything the functions answered or logged during the
 * Deno tests, nor in the tests' output. Fails, too, when nothing was recorded: a scan of nothing
 * proves nothing.
 */
async function secretScan(trafficDir: string, testOutput: string): Promise<{ ok: boolean }> {
  const { files, hits } = await scanTrafficDir(trafficDir);
  hits.push(...findSecrets("the tests' output", testOutput));
  for (const hit of hits.slice(0, 20)) {
    console.log(`  ${hit.kind} in ${hit.source}: ${hit.excerpt}`);
  }
  console.log(`secret scan: ${files} files of answers and logs, ${hits.length} secret(s) found`);
  await Deno.remove(trafficDir, { recursive: true });
  return { ok: files > 0 && hits.length === 0 };
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

async function denoTests(
  databaseUrl: string,
  trafficDir: string,
): Promise<Outcome & { text: string }> {
  const { text, ok } = await runAndTee(Deno.execPath(), [
    "test",
    "-A",
    "supabase/tests/",
    "simulator/",
  ], {
    DATABASE_URL: databaseUrl,
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    ADRAIL_TRAFFIC_DIR: trafficDir,
  });
  const summary = text.match(/(\d+) passed.*\| (\d+) failed/);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? (ok ? 0 : 1));
  return { passed, failed: ok ? failed : Math.max(failed, 1), ok, text };
}

const databaseUrl = await ensureDatabase();
await resetDatabase(databaseUrl);
console.log("== pgTAP: supabase/tests/database");
const sql = await pgTap(databaseUrl);
console.log("== Deno tests: supabase/tests, simulator");
const trafficDir = await Deno.makeTempDir({ prefix: "adrail-traffic-" });
const deno = await denoTests(databaseUrl, trafficDir);
console.log("== Secret scan: every answer and log line of the functions, and the tests' output");
const scan = await secretScan(trafficDir, deno.text);
const passed = sql.passed + deno.passed + (scan.ok ? 1 : 0);
const failed = sql.failed + deno.failed + (scan.ok ? 0 : 1);
console.log(
  `\npgTAP ${sql.passed} passed, ${sql.failed} failed; Deno ${deno.passed} passed, ${deno.failed} failed; secret scan ${
    scan.ok ? "passed" : "failed"
  }`,
);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(sql.ok && deno.ok && scan.ok ? 0 : 1);
