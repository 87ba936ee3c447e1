// deno task test — every test: reset the schema, pgTAP (supabase/tests/database), then the Deno
// tests (functions over real HTTP, the simulator) in lanes side by side, then the secret scan of
// everything the functions answered and logged (dev/lib/secret-scan.ts). Prints each test file's
// wall time, and ends with one summary line for CI.
//
// A lane is a Postgres cluster of its own, as a hosted project is: its own pg_cron, its own Vault
// (where each test's stack points pg_cron's calls), its own pg_net queue. The test files of one
// lane run one after another on its database, as they all did on one database before; the lanes
// run side by side, so one file's wait for pg_cron's minute tick no longer holds up the others.
// Lane 1 is the test database ($DATABASE_URL or the local cluster), the others throwaway clusters
// on free ports (dev/postgres.sh), removed at the end. ADRAIL_TEST_LANES sets how many (default 3;
// 1 with $DATABASE_URL given: another database cannot be made beside it).
import { ensureDatabase, run, runSql } from "./lib/local-db.ts";
import { resetDatabase } from "./lib/db-reset.ts";
import { findSecrets, scanTrafficDir } from "./lib/secret-scan.ts";

const root = new URL("..", import.meta.url).pathname;

/**
 * The files that run longest (the soak, the demo, pg_cron ticks waited for), longest first as
 * measured: they start first, and the quick ones fill the lanes around them.
 */
const longFirst = [
  "supabase/tests/functions/campaign-create-soak.test.ts",
  "supabase/tests/dev/demo.test.ts",
  "supabase/tests/functions/request-fuzz.test.ts",
  "supabase/tests/functions/hosted-runtime.test.ts",
  "supabase/tests/functions/campaign-create-resilience.test.ts",
  "supabase/tests/functions/campaign-create-api.test.ts",
  "supabase/tests/functions/scheduled-sync.test.ts",
  "supabase/tests/functions/campaign-create-chaos.test.ts",
  "supabase/tests/functions/final-sync-batches.test.ts",
  "supabase/tests/dev/local-stack.test.ts",
  "supabase/tests/dev/bench.test.ts",
  "supabase/tests/functions/token-encryption.test.ts",
];

/** Files asserting a latency bound: they run last, on lane 1, with nothing else of the suite. */
const alone = [
  "supabase/tests/db/approval-concurrency.test.ts",
  "supabase/tests/functions/campaign-create-approval.test.ts",
];

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

/** A lane's database: a throwaway cluster of its own on a free port, migrated. */
type Lane = { databaseUrl: string; remove(): Promise<void> };

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

async function throwawayLane(): Promise<Lane> {
  const env = {
    ADRAIL_PG_PORT: String(freePort()),
    ADRAIL_PG_DIR: await Deno.makeTempDir({ prefix: "adrail-postgres-lane-" }),
  };
  const postgresSh = `${root}dev/postgres.sh`;
  const remove = async () => {
    await run("bash", [postgresSh, "stop"], env);
    await Deno.remove(env.ADRAIL_PG_DIR, { recursive: true });
  };
  try {
    const databaseUrl = (await run("bash", [postgresSh, "start"], env)).trim();
    await resetDatabase(databaseUrl);
    return { databaseUrl, remove };
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}

/** Every Deno test file, the long ones first (in `longFirst`'s order), then by name. */
function denoTestFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${root}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".test.ts")) files.push(path);
    }
  };
  walk("supabase/tests");
  walk("simulator");
  const rank = (file: string) => {
    const i = longFirst.indexOf(file);
    return i === -1 ? longFirst.length : i;
  };
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

type FileRun = Outcome & { file: string; lane: number; seconds: number; text: string };

/** One test file in its own `deno test` (checked beforehand), its output printed once it ends. */
async function runTestFile(
  file: string,
  lane: number,
  databaseUrl: string,
  trafficDir: string,
): Promise<FileRun> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", file],
    env: {
      DATABASE_URL: databaseUrl,
      DENO_TLS_CA_STORE: "system",
      NO_COLOR: "1",
      ADRAIL_TRAFFIC_DIR: trafficDir,
    },
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const summary = text.match(/(\d+) passed.*\| (\d+) failed/);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? 0);
  console.log(`\n── ${file} (lane ${lane + 1}, ${seconds.toFixed(0)} s)\n${text.trimEnd()}`);
  return {
    file,
    lane,
    seconds,
    text,
    passed,
    failed: out.success ? failed : Math.max(failed, 1),
    ok: out.success,
  };
}

/** Runs every file, each lane taking the next file as soon as its last one ends. */
async function denoTests(databaseUrls: string[], trafficDir: string): Promise<FileRun[]> {
  const queue = denoTestFiles();
  const checked = await runAndTee(Deno.execPath(), ["test", "--no-run", "-A", ...queue], {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
  });
  if (!checked.ok) {
    return [{
      file: "(type check)",
      lane: 0,
      seconds: 0,
      text: "",
      passed: 0,
      failed: 1,
      ok: false,
    }];
  }
  const runs: FileRun[] = [];
  const side = queue.filter((file) => !alone.includes(file));
  await Promise.all(databaseUrls.map(async (databaseUrl, lane) => {
    for (let file = side.shift(); file; file = side.shift()) {
      runs.push(await runTestFile(file, lane, databaseUrl, trafficDir));
    }
  }));
  for (const file of queue.filter((file) => alone.includes(file))) {
    // Quiet first: the writes of the files before (the soak's above all) would otherwise be
    // checkpointed and autovacuumed during the measurement.
    await runSql(databaseUrls[0], "checkpoint");
    await runSql(databaseUrls[0], "vacuum (analyze)");
    runs.push(await runTestFile(file, 0, databaseUrls[0], trafficDir));
  }
  return runs;
}

const databaseUrl = await ensureDatabase();
const lanes = Deno.env.get("DATABASE_URL") ? 1 : Number(Deno.env.get("ADRAIL_TEST_LANES") ?? 3);
const started = performance.now();
// The other lanes' clusters start and migrate while pgTAP runs.
const throwaway = Array.from({ length: lanes - 1 }, () => throwawayLane());
const settled = Promise.allSettled(throwaway);
let exitCode = 1;
try {
  await resetDatabase(databaseUrl);
  console.log("== pgTAP: supabase/tests/database");
  const sql = await pgTap(databaseUrl);
  const others = await Promise.all(throwaway);
  console.log(`== Deno tests: supabase/tests, simulator (${lanes} lanes)`);
  const trafficDir = await Deno.makeTempDir({ prefix: "adrail-traffic-" });
  const runs = await denoTests([databaseUrl, ...others.map((l) => l.databaseUrl)], trafficDir);
  console.log("\n== Wall time per test file (lane)");
  for (const r of [...runs].sort((a, b) => b.seconds - a.seconds)) {
    console.log(
      `${r.seconds.toFixed(0).padStart(5)} s  ${r.file} (${r.lane + 1})${r.ok ? "" : "  FAILED"}`,
    );
  }
  console.log("== Secret scan: every answer and log line of the functions, and the tests' output");
  const scan = await secretScan(trafficDir, runs.map((r) => r.text).join("\n"));
  const deno = {
    passed: runs.reduce((n, r) => n + r.passed, 0),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    ok: runs.every((r) => r.ok),
  };
  const passed = sql.passed + deno.passed + (scan.ok ? 1 : 0);
  const failed = sql.failed + deno.failed + (scan.ok ? 0 : 1);
  console.log(
    `\npgTAP ${sql.passed} passed, ${sql.failed} failed; Deno ${deno.passed} passed, ${deno.failed} failed; secret scan ${
      scan.ok ? "passed" : "failed"
    }`,
  );
  for (const r of runs.filter((r) => !r.ok)) console.log(`FAILED: ${r.file}`);
  console.log(`${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  exitCode = sql.ok && deno.ok && scan.ok ? 0 : 1;
} finally {
  for (const lane of await settled) if (lane.status === "fulfilled") await lane.value.remove();
}
Deno.exit(exitCode);
