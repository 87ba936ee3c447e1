// `deno task bench` keeps working: its quick mode (small sizes, two runs) prints the one table
// and writes the results file, and the scale run's launches all end exact. Timings are not
// asserted (this machine's load decides them); the shape and the counts are.
import assert from "node:assert/strict";
import { databaseUrl } from "../_support/stack.ts";

Deno.test("the benchmark's quick mode prints its table and writes its results", async () => {
  const results = await Deno.makeTempFile({ suffix: ".json" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../../bench/main.ts", import.meta.url).pathname],
    env: { DATABASE_URL: databaseUrl(), BENCH_QUICK: "1", BENCH_RESULTS: results },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `${text}\n${new TextDecoder().decode(out.stderr)}`);

  // One table on stdout, nothing else: a header, a row per measure, the results line.
  const lines = text.trimEnd().split("\n");
  assert.match(
    lines[0],
    /^adrail bench, \d{4}-\d\d-\d\d, \d+ x .+, Deno [\d.]+; medians of 2 runs \(quick mode\)$/,
  );
  assert.match(lines[1], /^measure\s+value\s+goal$/);
  assert.match(lines.at(-1)!, /^results in .+\.json \(\d+ s\)$/);
  for (
    const measure of [
      /^clean 1-3-1 @ 5 ms: Graph requests\s+5\s+<= 5\s+ok$/,
      /^ {2}naive: requests, wall\s+14, /,
      /^ {2}naive \/ adrail\s+2\.80x requests/,
      /^ {2}exact \(completed \/ rolled back \/ failed \/ unsettled \/ refused\)\s+\d+ \/ \d+ \/ 0 \/ 0 \/ 0; excess 0, missing 0, orphans 0\s+all exact\s+ok$/,
      /^ {2}POST \/campaign-create p50 \/ p95 \/ p99\s+\d+ ms \/ \d+ ms \/ \d+ ms/,
      /^ {2}CPU while answering them \(all processes\)\s+\d+ % of \d+ cores for [\d.]+ s: \d+ ms per launch/,
      /^ {2}beside it: one at a time p50 \/ max \(10 launches\)\s+\d+ ms \/ \d+ ms/,
      /^ {2}beside it: 12 at once into a warm isolate p50 \/ p95 \/ p99\s+\d+ ms \/ \d+ ms \/ \d+ ms/,
      /^ {2}CPU while answering the warm burst\s+\d+ % of \d+ cores for [\d.]+ s: \d+ ms per launch \(functions [\d.]+, Postgres [\d.]+, bench process [\d.]+, other -?[\d.]+\)/,
      /^ {2}database per launch: statements, transactions, rows written, rows read\s+[\d,]+, [\d,]+, [\d,]+, [\d,]+/,
      /^ {2}CPU per isolate p50 \/ max \(\d+ isolates\)\s+\d+ ms/,
      /^ {2}sync time after the changes \(\d+ calls, \d+ resent\)\s+[\d.]+ s, 10 final syncs/,
      /^ {2}status triggers on a 104-row upsert\s+\d+ ms vs \d+ ms = [\d.]+x/,
      /^growth 1-2-1 @ 5 ms: requests, wall\s+4, .*N\+2 = 4\s+ok$/,
      /^growth 1-3-1 @ 5 ms: requests, wall\s+5, .*N\+2 = 5\s+ok$/,
    ]
  ) assert.ok(lines.some((line) => measure.test(line)), `a row matches ${measure}\n${text}`);

  const json = JSON.parse(await Deno.readTextFile(results));
  await Deno.remove(results);
  assert.deepEqual(Object.keys(json).sort(), [
    "benchSeconds",
    "clean",
    "date",
    "growth",
    "growthRuns",
    "machine",
    "quick",
    "runs",
    "scale",
    "sync",
  ]);
  assert.equal(json.clean.adrail.requests, 5, "the check batch, 3 creation batches, the read-back");
  assert.equal(json.clean.naive.requests, 14, "7 creates and 7 reads");
  assert.equal(json.scale.launches, 12);
  assert.equal(json.scale.completed + json.scale.rolledBack, 12);
  assert.equal(json.scale.exact, true);
  assert.ok(json.scale.cpuMs.isolates >= 1, "the isolates that served the launches measured");
  assert.ok(json.scale.cpuMs.max > 0, "their CPU time read");
  assert.ok(json.scale.database.transactionsPerLaunch > 0);
  assert.ok(
    json.scale.database.statementsPerLaunch >= 5,
    "at least a launch's own five statements (pg_stat_statements)",
  );
  assert.equal(json.scale.database.rowsReadByTable.length, 5, "the five tables read most");
  assert.equal(json.scale.warm.uncontendedMs.launches, 10);
  assert.equal(json.scale.warm.burstMs.requests, 12, "the warm burst, each answered at once");
  assert.equal(json.scale.warm.exact, true);
  const { functions, postgres, bench } = json.scale.warm.whileAnswering.cpuMsPerLaunchBy;
  // Linux samples a process's CPU time in 10 ms ticks: a small share may read 0, never less.
  assert.ok(functions >= 0 && postgres >= 0 && bench >= 0, "no share of the stack below 0");
  assert.ok(functions + postgres + bench > 0, "the stack's processes worked to answer them");
  assert.ok(json.scale.whileAnswering.cpuMsPerLaunch > 0, "the machine worked to answer them");
  assert.equal(json.sync.entities, 104);
  assert.equal(json.sync.finalSyncs, 10, "every paused ad's final sync completed");
  assert.ok(json.sync.finalSyncRequests >= 1);
  assert.deepEqual(json.growth.map((p: { requests: number }) => p.requests), [4, 5]);
});
