// `deno task bench` keeps working (it is not a timed test: it only has to run and compare).
import assert from "node:assert/strict";
import { databaseUrl } from "../_support/stack.ts";

Deno.test("the benchmark runs both comparisons and prints their ratios", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../../bench/main.ts", import.meta.url).pathname],
    env: {
      DATABASE_URL: databaseUrl(),
      BENCH_AD_SETS: "3",
      BENCH_LATENCY_MS: "0",
      BENCH_LAUNCHES: "2",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `${text}\n${new TextDecoder().decode(out.stderr)}`);
  assert.match(
    text,
    /adrail: one batch per ad set, verified\s+5\s/,
    "3 ad sets: the check batch, 3 creation batches, 1 read-back batch",
  );
  assert.match(text, /plain: one request per object \+ read-back\s+14\s/, "7 creates and 7 reads");
  assert.match(text, /ratio plain\/adrail: 2\.8x requests/);
  assert.match(text, /one after another\s+24\s/, "2 launches of 1-10-1: 12 requests each");
  assert.match(text, /all at once\s+24\s/);
  assert.match(text, /ratio one after another\/all at once: [0-9.]+x time/);
  assert.match(text, /CPU per campaign-create invocation[^\n]*\n\s+5 invocations: median \d+ ms/);
});
