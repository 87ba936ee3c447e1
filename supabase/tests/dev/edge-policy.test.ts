// The local edge runtime's policies, on fixture functions, as Supabase's worker pool and per_worker
// supervisor run them. per_worker (the default, as hosted): a live worker serves the function's
// requests (warm starts, its module state kept), many at once; a worker is retired at half the
// wall-clock limit or at the soft CPU limit, over all its requests (dropped once idle,
// `beforeunload` early_drop), and ended at the wall-clock or hard CPU limit whatever it is doing;
// an idle worker is dropped after the idle timeout. A cold burst boots EDGE_MAX_PARALLELISM
// workers and lets the rest in one per request end, up to the wait timeout. oneshot: one isolate
// per request.
import assert from "node:assert/strict";
import { startFunctionsProcess } from "../../../dev/lib/stack.ts";
import { localJwtSecret } from "../../../dev/lib/local-env.ts";

const fixtures = new URL("./fixtures/functions/", import.meta.url).pathname;
const wallClockMs = 4_000;
const idleTimeoutMs = 600;

type Ended = { isolate: string; reason: string; ageMs: number; invocations: number };

/** A server that records the `beforeunload` reasons the fixtures report, by path. */
function notifications() {
  const received: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    received.push(`${new URL(req.url).pathname.slice(1)}:${await req.text()}`);
    return new Response("ok");
  });
  return {
    url: (step: string) => `http://127.0.0.1:${server.addr.port}/${step}`,
    received,
    close: () => server.shutdown(),
  };
}

async function until(predicate: () => boolean, timeoutMs = 8_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return predicate();
}

Deno.test("the edge runtime's policies", async (t) => {
  const functions = await startFunctionsProcess(0, {
    FUNCTIONS_DIR: fixtures,
    SUPABASE_JWT_SECRET: localJwtSecret,
    EDGE_WALL_CLOCK_SECONDS: String(wallClockMs / 1000),
    EDGE_CPU_LIMIT_MS: "300",
    EDGE_IDLE_TIMEOUT_MS: String(idleTimeoutMs),
  }, false);
  const notify = notifications();
  const records = () => functions.invocations().filter((i) => i.function === "pause");
  const ended = (isolate: string) =>
    functions.log().find((l) => l.message === "isolate ended" && l.isolate === isolate) as
      | Ended
      | undefined;
  /** Calls `pause`; resolves once its invocation is logged (the worker idle again). */
  const pause = async (body: Record<string, unknown> = {}) => {
    const before = records().length;
    const response = await fetch(`${functions.url}/functions/v1/pause`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    const answer = { status: response.status, body: await response.json() };
    assert.ok(await until(() => records().length > before), "the invocation is logged");
    return { ...answer, record: records().at(-1)! };
  };
  try {
    await t.step("per_worker: sequential requests are served by one warm isolate", async () => {
      const first = await pause();
      const second = await pause();
      const third = await pause();
      assert.deepEqual([first.body, second.body, third.body], [
        { answered: 1 },
        { answered: 2 },
        { answered: 3 },
      ], "the module's state is kept: one isolate");
      assert.equal(second.record.isolate, first.record.isolate);
      assert.equal(third.record.isolate, first.record.isolate);
      assert.deepEqual([first, second, third].map((c) => c.record.warm), [false, true, true]);
      assert.ok(third.record.cpuMs < 300, "a warm request's CPU time is its own");
    });

    await t.step("an idle worker is dropped after the idle timeout (early_drop)", async () => {
      const call = await pause({ notify: notify.url("idle") });
      const isolate = call.record.isolate!;
      assert.ok(await until(() => ended(isolate) !== undefined));
      const end = ended(isolate)!;
      assert.equal(end.reason, "early_drop");
      assert.ok(end.ageMs < wallClockMs / 2, `dropped idle at ${end.ageMs} ms, before retirement`);
      assert.ok(await until(() => notify.received.includes("idle:early_drop")));
      const next = await pause();
      assert.notEqual(next.record.isolate, isolate);
      assert.equal(next.record.warm, false);
      assert.deepEqual(next.body, { answered: 1 });
    });

    await t.step(
      "a worker past half the wall-clock limit takes no new request; the limit ends it",
      async () => {
        // Retired while it serves: once that request is answered, it is dropped, not reused.
        const long = await pause({ waitMs: wallClockMs / 2 + 200, notify: notify.url("retired") });
        assert.equal(long.status, 200);
        const retired = long.record.isolate!;
        const next = await pause();
        assert.notEqual(next.record.isolate, retired, "the retired worker got no new request");
        assert.ok(await until(() => ended(retired) !== undefined));
        assert.equal(ended(retired)!.reason, "early_drop");
        assert.ok(ended(retired)!.ageMs >= wallClockMs / 2);
        assert.ok(notify.received.includes("retired:early_drop"));

        // Busy past its retirement (background work that never settles): ended at the limit.
        const started = Date.now();
        const answered = await fetch(`${functions.url}/functions/v1/sleepy`, {
          method: "POST",
          body: JSON.stringify({ notify: notify.url("sleepy-first"), answerFirst: true }),
        });
        assert.equal(answered.status, 200);
        await answered.body?.cancel();
        await new Promise((r) => setTimeout(r, wallClockMs / 2 + 200));
        const during = await fetch(`${functions.url}/functions/v1/sleepy`, {
          method: "POST",
          body: JSON.stringify({ notify: notify.url("sleepy-second"), answerFirst: true }),
        });
        await during.body?.cancel();
        assert.ok(await until(() => notify.received.includes("sleepy-first:wall_clock")));
        assert.ok(Date.now() - started >= wallClockMs);
        const sleepy = () => functions.invocations().filter((i) => i.function === "sleepy");
        assert.ok(await until(() => sleepy().length > 0));
        const [first] = sleepy();
        assert.equal(first.outcome, "wall_clock");
        assert.equal(sleepy().length, 1, "the second request, in an isolate of its own, goes on");
        assert.ok(!notify.received.includes("sleepy-second:wall_clock"));
        // The worker's end is logged after the invocation's record, maybe a moment later.
        assert.ok(await until(() => ended(first.isolate!) !== undefined));
        assert.equal(ended(first.isolate!)!.reason, "wall_clock");
      },
    );

    await t.step("the CPU limit ends a warm request; the next boots a fresh isolate", async () => {
      const warmUp = await pause();
      const burn = await pause({ burnMs: 3_000, notify: notify.url("cpu") });
      assert.equal(burn.status, 546);
      assert.equal(burn.body.code, "WORKER_LIMIT");
      assert.equal(burn.record.isolate, warmUp.record.isolate, "the warm worker took it");
      assert.equal(burn.record.warm, true);
      assert.equal(burn.record.outcome, "cpu");
      assert.ok(burn.record.cpuMs >= 300, `${burn.record.cpuMs} ms of CPU recorded`);
      assert.ok(notify.received.includes("cpu:cpu"));
      assert.equal(ended(burn.record.isolate!)!.reason, "cpu");
      const next = await pause();
      assert.notEqual(next.record.isolate, burn.record.isolate);
      assert.equal(next.record.warm, false);
      assert.deepEqual(next.body, { answered: 1 });
    });

    await t.step(
      "CPU time accumulates per worker: at the soft limit it retires, idle it is dropped",
      async () => {
        // EDGE_CPU_LIMIT_MS 300: the soft limit is half, 150 ms, over all the worker's requests.
        const isolate = (await pause()).record.isolate!;
        let served = 0;
        let moved: Awaited<ReturnType<typeof pause>> | undefined;
        while (!moved && served < 20) {
          const call = await pause({ burnMs: 40 });
          assert.equal(call.status, 200, "no request of it is cut");
          if (call.record.isolate === isolate) served++;
          else moved = call;
        }
        assert.ok(moved, "once past the soft limit, requests go to a fresh isolate");
        assert.deepEqual(moved.body, { answered: 1 });
        assert.ok(served >= 2, `${served} requests of 40 ms before the soft limit`);
        assert.ok(await until(() => ended(isolate) !== undefined));
        assert.equal(ended(isolate)!.reason, "early_drop", "dropped, not ended by the hard limit");
      },
    );

    await t.step(
      "per_worker: a live worker takes requests at once, busy or not, in one isolate",
      async () => {
        await functions.close();
        await functions.restart({ EDGE_MAX_PARALLELISM: "1" });
        await pause();
        const started = Date.now();
        const calls = await Promise.all([1, 2, 3].map(() => pause({ waitMs: 400 })));
        assert.deepEqual(calls.map((c) => c.status), [200, 200, 200]);
        assert.deepEqual(calls.map((c) => c.body.answered).sort(), [2, 3, 4]);
        assert.equal(new Set(calls.map((c) => c.record.isolate)).size, 1, "one isolate");
        assert.ok(Date.now() - started < 1_000, "the three waits overlapped");
      },
    );

    await t.step(
      "a cold burst: EDGE_MAX_PARALLELISM workers boot, the rest are let in one per request end",
      async () => {
        await functions.close();
        await functions.restart({ EDGE_MAX_PARALLELISM: "1" });
        const started = Date.now();
        const calls = await Promise.all([1, 2, 3].map(() => pause({ waitMs: 300 })));
        assert.deepEqual(calls.map((c) => c.status), [200, 200, 200]);
        assert.equal(new Set(calls.map((c) => c.record.isolate)).size, 1, "one isolate booted");
        assert.ok(Date.now() - started >= 900, "each waited for the one before it to end");
      },
    );

    await t.step(
      "EDGE_REQUEST_WAIT_TIMEOUT_MS: a request left waiting that long gets 503, BOOT_ERROR",
      async () => {
        await functions.close();
        await functions.restart({ EDGE_MAX_PARALLELISM: "1", EDGE_REQUEST_WAIT_TIMEOUT_MS: "300" });
        // Both arrive while the one worker boots: one is served, the other waits, in vain.
        const calls = await Promise.all([pause({ waitMs: 1_000 }), pause({ waitMs: 1_000 })]);
        assert.deepEqual(calls.map((c) => c.status).sort(), [200, 503]);
        const refused = calls.find((c) => c.status === 503)!;
        assert.equal(refused.body.code, "BOOT_ERROR");
        assert.equal(refused.record.outcome, "no_worker");
      },
    );

    await t.step("oneshot: every request boots an isolate of its own", async () => {
      await functions.close();
      await functions.restart({ EDGE_POLICY: "oneshot" });
      const first = await pause();
      const second = await pause();
      assert.deepEqual([first.body, second.body], [{ answered: 1 }, { answered: 1 }]);
      assert.notEqual(first.record.isolate, second.record.isolate);
      assert.deepEqual([first.record.warm, second.record.warm], [false, false]);
      assert.ok(await until(() => ended(second.record.isolate!) !== undefined));
      assert.equal(ended(first.record.isolate!)!.reason, "done");
      assert.equal(ended(first.record.isolate!)!.invocations, 1);
    });
  } finally {
    await functions.close();
    await notify.close();
  }
});
