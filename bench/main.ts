// deno task bench — adrail measured on the local stack (dev/lib/stack.ts) against the simulator
// with a simulated network latency; prints one table and writes bench/results.json.
//  1. clean 1-50-1: Graph requests and wall time against the network floor (requests × latency),
//     adrail vs the naive launcher (one request per object, then a read-back each), same run;
//  2. scale: 500 launches of 1-5-1 submitted at once over 50 accounts, 2 % transient faults and
//     1 % lost answers (fixed seed), nobody driving the worker: exactness, drain time,
//     launches/s, POST /campaign-create latency (beside it: one launch at a time, and a second
//     burst into a warm isolate), database transactions and rows per launch, CPU per isolate;
//  3. sync: 10,000 entities, 1,000 paused on Meta: sync time, final syncs per second, Graph
//     requests for the final syncs, the status triggers' cost on the 10,000-row upsert;
//  4. growth: 1-N-1 for N = 10, 50, 200 (Meta's slope: N + 2 requests).
// Medians of BENCH_RUNS runs (3; growth: BENCH_GROWTH_RUNS, 1, its N = 50 from the clean runs);
// every ratio is taken within one run. Exits 1 when a launch of the scale run is not exact.
//   BENCH_QUICK=1 (small sizes, 2 runs: the bench test)   BENCH_LATENCY_MS (150)
//   BENCH_SYNC_LATENCY_MS (40: today's final syncs read one entity per request)   BENCH_RUNS (3)
//   BENCH_SCALE_LAUNCHES (500)   BENCH_SCALE_ACCOUNTS (50)   BENCH_SEED (1: the scale storm)
//   BENCH_RESULTS (bench/results.json)   BENCH_SECTIONS (clean,scale,sync: clean includes growth)
import { ensureDatabase } from "../dev/lib/local-db.ts";
import { updateDatabase } from "../dev/lib/db-reset.ts";
import { type BenchStack, startBenchStack } from "./harness.ts";
import {
  cleanLaunch,
  type CleanResult,
  growth,
  type GrowthPoint,
  type Measure,
} from "./launches.ts";
import { manyLaunches, type ScaleResult, type WhileAnswering } from "./scale.ts";
import { bigAccountSync, type SyncResult } from "./sync.ts";

const env = (name: string, fallback: number) => {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number`);
  return value;
};
const quick = Deno.env.get("BENCH_QUICK") === "1";
const config = {
  latencyMs: env("BENCH_LATENCY_MS", quick ? 5 : 150),
  syncLatencyMs: env("BENCH_SYNC_LATENCY_MS", quick ? 0 : 40),
  runs: env("BENCH_RUNS", quick ? 2 : 3),
  // Growth's other sizes run fewer times: a 1-200-1 alone is over 30 s of network floor.
  growthRuns: env("BENCH_GROWTH_RUNS", quick ? 2 : 1),
  cleanAdSets: quick ? 3 : 50,
  growthSizes: quick ? [2, 3] : [10, 50, 200],
  scale: {
    launches: env("BENCH_SCALE_LAUNCHES", quick ? 12 : 500),
    accounts: env("BENCH_SCALE_ACCOUNTS", quick ? 3 : 50),
    adSets: 5,
    faultSeed: env("BENCH_SEED", 1),
    transientRate: 0.02,
    lostRate: 0.01,
    statsFlushMs: quick ? 1_500 : 11_000,
    timeoutMs: 600_000,
  },
  sync: quick
    ? {
      accounts: 2,
      campaigns: 1,
      adSetsPerCampaign: 3,
      adsPerAdSet: 16,
      statusChanges: 10,
      triggerTrials: 2,
    }
    // 2 accounts of 5,000 objects: Meta allows 5,000 ads per account.
    : {
      accounts: 2,
      campaigns: 8,
      adSetsPerCampaign: 24,
      adsPerAdSet: 25,
      statusChanges: 1000,
      triggerTrials: 9,
    },
};

const databaseUrl = await ensureDatabase();
await updateDatabase(databaseUrl);
// Fresh ids every run (the database keeps earlier runs' rows until the bench removes its user).
let seed = Date.now() % 1_000_000_000;
const withStack = async <T>(
  latencyMs: number,
  body: (bench: BenchStack) => Promise<T>,
  faultSeed?: number,
): Promise<T> => {
  const bench = await startBenchStack({ databaseUrl, seed: seed++, latencyMs, faultSeed });
  try {
    return await body(bench);
  } finally {
    await bench.close();
  }
};
const started = performance.now();
const progress = (text: string) =>
  console.error(`bench: ${text} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
const sections = new Set(
  (Deno.env.get("BENCH_SECTIONS") ?? "clean,scale,sync").split(",").map((x) => x.trim()),
);

const cpuModel = (() => {
  try {
    return Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/)?.[1]?.trim();
  } catch {
    return undefined;
  }
})();
const results: {
  date: string;
  machine: Record<string, unknown> & { cpus: number; cpuModel: string; memoryGb: number };
  quick: boolean;
  runs: number;
  growthRuns: number;
  clean?: CleanResult;
  growth?: GrowthPoint[];
  scale?: ScaleResult;
  sync?: SyncResult;
  /** Sections kept from the file rather than run this time, each with when it was measured. */
  earlierSections?: Partial<Record<"clean" | "growth" | "scale" | "sync", string>>;
  benchSeconds: number;
} = {
  date: new Date().toISOString(),
  machine: {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuModel ?? "unknown",
    memoryGb: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  },
  quick,
  runs: config.runs,
  growthRuns: config.growthRuns,
  benchSeconds: 0,
};
const resultsFile = Deno.env.get("BENCH_RESULTS") ??
  new URL("./results.json", import.meta.url).pathname;
// Sections not run this time keep their figures from the file, and say when they were measured.
if (Deno.env.get("BENCH_SECTIONS")) {
  try {
    const earlier = JSON.parse(await Deno.readTextFile(resultsFile));
    const kept = (["clean", "growth", "scale", "sync"] as const).filter((key) =>
      earlier[key] && !sections.has(key === "growth" ? "clean" : key)
    );
    for (const key of kept) {
      (results as Record<string, unknown>)[key] = earlier[key];
      // A section kept before keeps the date it was measured, not that of the file's last run.
      (results.earlierSections ??= {})[key] = earlier.earlierSections?.[key] ?? earlier.date;
    }
  } catch {
    // no earlier results
  }
}
/** Written after each section: a later section's failure keeps the earlier ones' figures. */
const save = async () => {
  results.benchSeconds = (performance.now() - started) / 1000;
  await Deno.writeTextFile(resultsFile, JSON.stringify(results, null, 2) + "\n");
};

if (sections.has("clean")) {
  progress(`clean 1-${config.cleanAdSets}-1 and growth at ${config.latencyMs} ms`);
  await withStack(config.latencyMs, async (bench) => {
    const { result, adrailRuns } = await cleanLaunch(bench, {
      adSets: config.cleanAdSets,
      latencyMs: config.latencyMs,
      runs: config.runs,
    });
    results.clean = result;
    results.growth = await growth(bench, {
      sizes: config.growthSizes,
      latencyMs: config.latencyMs,
      runs: config.growthRuns,
      known: new Map<number, Measure[]>([[config.cleanAdSets, adrailRuns]]),
    });
  });
  await save();
}
if (sections.has("scale")) {
  progress(`scale: ${config.scale.launches} launches over ${config.scale.accounts} accounts`);
  results.scale = await withStack(
    config.latencyMs,
    (bench) => manyLaunches(bench, { ...config.scale, latencyMs: config.latencyMs }),
    config.scale.faultSeed,
  );
  await save();
}
if (sections.has("sync")) {
  progress(`sync at ${config.syncLatencyMs} ms`);
  results.sync = await withStack(
    config.syncLatencyMs,
    (bench) => bigAccountSync(bench, config.sync, config.syncLatencyMs),
  );
  await save();
}

// ---- the table -------------------------------------------------------------------------------
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (ratio: number) => `${ratio.toFixed(2)}x`;
const ms = (value: number) => `${Math.round(value)} ms`;
const n = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** A burst's CPU; a scale section kept from an older results file may lack the split by process. */
const cpuWhileAnswering = (w: WhileAnswering) => {
  const by = w.cpuMsPerLaunchBy as WhileAnswering["cpuMsPerLaunchBy"] | undefined;
  return `${(w.busyShare * 100).toFixed(0)} % of ${w.cores} cores for ${
    (w.wallMs / 1000).toFixed(1)
  } s: ${ms(w.cpuMsPerLaunch)} per launch${
    by
      ? ` (functions ${n(by.functions, 1)}, Postgres ${n(by.postgres, 1)}, bench process ${
        n(by.bench, 1)
      }, other ${n(by.other, 1)})`
      : ""
  }`;
};
const verdict = (ok: boolean) => ok ? "ok" : "MISSED";
const rows: [string, string, string, string][] = [];
const row = (measure: string, value: string, goal = "", met?: boolean) =>
  rows.push([measure, value, goal, met === undefined ? "" : verdict(met)]);
const c = results.clean;
if (c) {
  const cleanName = `1-${c.adSets}-1`;
  row(
    `clean ${cleanName} @ ${c.latencyMs} ms: Graph requests`,
    n(c.adrail.requests),
    `<= ${c.adSets + 2}`,
    c.adrail.requests <= c.adSets + 2,
  );
  row(
    `  wall (floor ${s(c.adrail.floorMs)})`,
    `${s(c.adrail.wallMs)} = ${x(c.adrail.wallOverFloor)} floor${
      c.adrail.wallOverFloorRange
        ? ` (runs ${c.adrail.wallOverFloorRange.map(x).join(" to ")})`
        : ""
    }`,
    "<= 1.10x",
    c.adrail.wallOverFloor <= 1.1,
  );
  row(
    `  naive: requests, wall`,
    `${n(c.naive.requests)}, ${s(c.naive.wallMs)} = ${x(c.naive.wallOverFloor)} floor`,
  );
  row(
    `  naive / adrail`,
    `${x(c.naiveOverAdrail.requests)} requests, ${x(c.naiveOverAdrail.wall)} wall`,
  );
}
const sc = results.scale;
if (sc) {
  row(
    `scale ${n(sc.launches)} x ${sc.shape} over ${sc.accounts} accounts @ ${sc.latencyMs} ms`,
    `faults fired: ${
      Object.entries(sc.faults.fired).map(([k, v]) => `${k} ${v}`).join(", ") || "none"
    }`,
  );
  row(
    `  exact (completed / rolled back / failed / unsettled / refused)`,
    `${sc.completed} / ${sc.rolledBack} / ${sc.failed} / ${sc.unsettled} / ${sc.refused}; excess ${sc.excess}, missing ${sc.missing}, orphans ${sc.orphans}`,
    "all exact",
    sc.exact,
  );
  row(`  time to drain`, `${s(sc.drainMs)} = ${n(sc.launchesPerSecond, 1)} launches/s`);
  row(
    `  POST /campaign-create p50 / p95 / p99`,
    `${ms(sc.createLatencyMs.p50)} / ${ms(sc.createLatencyMs.p95)} / ${
      ms(sc.createLatencyMs.p99)
    } (${sc.submitRetries} resent)`,
    "p95 < 100 ms",
    sc.createLatencyMs.p95 < 100,
  );
  if (sc.warm) {
    const w = sc.warm;
    row(
      `  beside it: one at a time p50 / max (${w.uncontendedMs.launches} launches)`,
      `${ms(w.uncontendedMs.p50)} / ${ms(w.uncontendedMs.max)}`,
    );
    row(
      `  beside it: ${n(sc.launches)} at once into a warm isolate p50 / p95 / p99`,
      `${ms(w.burstMs.p50)} / ${ms(w.burstMs.p95)} / ${
        ms(w.burstMs.p99)
      } (${w.burstResent} resent)`,
      "p95 < 100 ms",
      w.burstMs.p95 < 100,
    );
  }
  if (sc.whileAnswering) {
    row(`  CPU while answering them (all processes)`, cpuWhileAnswering(sc.whileAnswering));
  }
  if (sc.warm) {
    row(`  CPU while answering the warm burst`, cpuWhileAnswering(sc.warm.whileAnswering));
  }
  row(
    `  database per launch: statements, transactions, rows written, rows read`,
    `${n(sc.database.statementsPerLaunch ?? NaN)}, ${n(sc.database.transactionsPerLaunch)}, ${
      n(sc.database.rowsWrittenPerLaunch)
    }, ${n(sc.database.rowsReadPerLaunch)}`,
  );
  if (sc.database.rowsReadByTable) {
    row(
      `  rows read per launch, most read tables`,
      sc.database.rowsReadByTable.map((t) => `${t.table} ${n(t.perLaunch)}`).join(", "),
    );
  }
  row(
    `  CPU per isolate p50 / max (${sc.cpuMs.isolates} isolates)`,
    `${ms(sc.cpuMs.p50)} / ${
      ms(sc.cpuMs.max)
    }; ${sc.cpuMs.endedByLimit} invocations ended by a limit`,
    "none ended by a limit",
    sc.cpuMs.endedByLimit === 0,
  );
}
const sy = results.sync;
if (sy) {
  row(
    `sync ${n(sy.entities)} entities over ${sy.accounts} accounts, ${
      n(sy.statusChanges)
    } paused @ ${sy.latencyMs} ms`,
    `first sync ${s(sy.firstSyncMs)}`,
  );
  row(
    `  sync time after the changes (${sy.syncCalls} calls, ${sy.syncsNotAnswered} resent)`,
    `${s(sy.syncMs)}, ${n(sy.finalSyncs)} final syncs = ${n(sy.finalSyncsPerSecond, 1)}/s`,
  );
  row(
    `  Graph requests for the final syncs, per 1,000`,
    n(sy.finalSyncRequestsPer1000),
    "<= 25",
    sy.finalSyncRequestsPer1000 <= 25,
  );
  row(
    `  status triggers on a ${n(sy.triggerOverhead.rows)}-row upsert`,
    `${ms(sy.triggerOverhead.withMs)} vs ${ms(sy.triggerOverhead.withoutMs)} = ${
      x(sy.triggerOverhead.ratio)
    }`,
    "<= 1.30x",
    sy.triggerOverhead.ratio <= 1.3,
  );
}
for (const p of results.growth ?? []) {
  row(
    `growth 1-${p.adSets}-1 @ ${config.latencyMs} ms: requests, wall`,
    `${n(p.requests)}, ${s(p.wallMs)} (floor ${s(p.floorMs)})`,
    `N+2 = ${p.expectedRequests}`,
    p.requests === p.expectedRequests,
  );
}
const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 8));
console.log(
  `adrail bench, ${
    results.date.slice(0, 10)
  }, ${results.machine.cpus} x ${results.machine.cpuModel}, ` +
    `${results.machine.memoryGb} GB, ${results.machine.os}, Deno ${results.machine.deno}; ` +
    `medians of ${config.runs} runs${
      config.growthRuns === config.runs ? "" : ` (other growth sizes: ${config.growthRuns})`
    }${quick ? " (quick mode)" : ""}`,
);
console.log(
  ["measure".padEnd(widths[0]), "value".padEnd(widths[1]), "goal".padEnd(widths[2]), ""].join("  ")
    .trimEnd(),
);
for (const r of rows) {
  console.log(
    [r[0].padEnd(widths[0]), r[1].padEnd(widths[1]), r[2].padEnd(widths[2]), r[3]].join("  ")
      .trimEnd(),
  );
}
console.log(`results in ${resultsFile} (${n(results.benchSeconds)} s)`);
if (sc && !sc.exact) Deno.exit(1);
