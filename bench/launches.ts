// Single launches at a simulated network latency: a clean 1-N-1 through adrail (the launch's
// background worker run, one Graph batch per ad set) against the naive launcher (one request per
// object, then one read-back per object) in the same run; and how requests and wall time grow
// with N (Meta's slope: N + 2 requests for 1-N-1).
import { adSetTemplate, type BenchStack, median } from "./harness.ts";
import type { GraphParams } from "../supabase/functions/_shared/meta/graph-client.ts";

export type Measure = { requests: number; wallMs: number };

export type CleanResult = {
  adSets: number;
  latencyMs: number;
  runs: number;
  adrail: Measure & {
    floorMs: number;
    wallOverFloor: number;
    /** The lowest and highest wall/floor of the runs (the median can hide a run over the goal). */
    wallOverFloorRange: [number, number];
  };
  naive: Measure & { floorMs: number; wallOverFloor: number };
  /** Median over the runs of naive/adrail, each ratio from one run. */
  naiveOverAdrail: { requests: number; wall: number };
};

export type GrowthPoint = {
  adSets: number;
  requests: number;
  /** Meta's slope: 1 check batch, N creation batches, 1 read-back. */
  expectedRequests: number;
  wallMs: number;
  floorMs: number;
};

async function measure(bench: BenchStack, run: () => Promise<void>): Promise<Measure> {
  const before = await bench.graphRequests();
  const started = performance.now();
  await run();
  return { requests: (await bench.graphRequests()) - before, wallMs: performance.now() - started };
}

/** A 1-N-1 launch through campaign-create, until its job completes. */
async function adrailLaunch(bench: BenchStack, act: string, adSets: number, name: string) {
  return await measure(bench, async () => {
    await bench.completed(await bench.launch(act, name, adSets));
  });
}

/** The plain way: each object on its own request, one after another, then each read back. */
async function naiveLaunch(bench: BenchStack, act: string, adSets: number, name: string) {
  return await measure(bench, async () => {
    const created: string[] = [];
    const create = async (edge: string, params: GraphParams) => {
      const result = await bench.graph.post<{ id: string }>(`/${act}/${edge}`, params);
      if (!result.ok) throw new Error(result.error.message);
      created.push(result.data.id);
      return result.data.id;
    };
    const campaign = await create("campaigns", {
      name,
      objective: "OUTCOME_SALES",
      special_ad_categories: [],
      is_adset_budget_sharing_enabled: false,
    });
    for (let i = 1; i <= adSets; i++) {
      const adSet = await create("adsets", {
        name: `${name} AS ${i}`,
        campaign_id: campaign,
        ...adSetTemplate,
      });
      await create("ads", {
        name: `${name} AD ${i}`,
        adset_id: adSet,
        creative: { creative_id: "555" },
      });
    }
    for (const id of created) {
      if (!(await bench.graph.get(`/${id}`, { fields: "id" })).ok) throw new Error(`${id} missing`);
    }
  });
}

const withFloor = (m: Measure, latencyMs: number) => {
  const floorMs = m.requests * latencyMs;
  return { ...m, floorMs, wallOverFloor: floorMs > 0 ? m.wallMs / floorMs : NaN };
};

const rangeOf = (values: number[]): [number, number] => [
  Math.min(...values),
  Math.max(...values),
];

const medianMeasure = (ms: Measure[]): Measure => ({
  requests: median(ms.map((m) => m.requests)),
  wallMs: median(ms.map((m) => m.wallMs)),
});

/**
 * `runs` times: adrail's 1-N-1, then the naive launcher's, each on a fresh account. Returns the
 * medians and adrail's own measures (the growth table reuses them for that N).
 */
export async function cleanLaunch(
  bench: BenchStack,
  options: { adSets: number; latencyMs: number; runs: number },
): Promise<{ result: CleanResult; adrailRuns: Measure[] }> {
  const adrailRuns: Measure[] = [];
  const naiveRuns: Measure[] = [];
  for (let run = 0; run < options.runs; run++) {
    adrailRuns.push(
      await adrailLaunch(bench, await bench.connect(), options.adSets, `Clean ${run}`),
    );
    const naiveAccount = await bench.connect();
    naiveRuns.push(await naiveLaunch(bench, naiveAccount, options.adSets, `Naive ${run}`));
  }
  const ratios = adrailRuns.map((a, i) => ({
    requests: naiveRuns[i].requests / a.requests,
    wall: naiveRuns[i].wallMs / a.wallMs,
  }));
  return {
    adrailRuns,
    result: {
      adSets: options.adSets,
      latencyMs: options.latencyMs,
      runs: options.runs,
      adrail: {
        ...withFloor(medianMeasure(adrailRuns), options.latencyMs),
        wallOverFloorRange: rangeOf(
          adrailRuns.map((m) => withFloor(m, options.latencyMs).wallOverFloor),
        ),
      },
      naive: withFloor(medianMeasure(naiveRuns), options.latencyMs),
      naiveOverAdrail: {
        requests: median(ratios.map((r) => r.requests)),
        wall: median(ratios.map((r) => r.wall)),
      },
    },
  };
}

/** 1-N-1 for each N (`known` holds runs already measured for some N), medians of `runs`. */
export async function growth(
  bench: BenchStack,
  options: { sizes: number[]; latencyMs: number; runs: number; known: Map<number, Measure[]> },
): Promise<GrowthPoint[]> {
  const points: GrowthPoint[] = [];
  for (const adSets of options.sizes) {
    const runs = [...options.known.get(adSets) ?? []];
    while (runs.length < options.runs) {
      runs.push(await adrailLaunch(bench, await bench.connect(), adSets, `Growth ${adSets}`));
    }
    const m = medianMeasure(runs);
    points.push({
      adSets,
      requests: m.requests,
      expectedRequests: adSets + 2,
      wallMs: m.wallMs,
      floorMs: m.requests * options.latencyMs,
    });
  }
  return points;
}
