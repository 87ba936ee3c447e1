// The local gateway and edge runtime behave as hosted Supabase's, on fixture functions: verify_jwt
// from config.toml answers 401 before a function runs, EdgeRuntime.waitUntil keeps work going
// after the answer (and logs its failures), the wall-clock and CPU limits fire `beforeunload`
// with their reason and end the invocation, and every invocation is logged with its CPU time.
import assert from "node:assert/strict";
import { startFunctionsProcess } from "../../../dev/lib/stack.ts";
import { localJwtSecret, localKeys, signLocalJwt } from "../../../dev/lib/local-env.ts";

const fixtures = new URL("./fixtures/functions/", import.meta.url).pathname;

/** A server that records what the fixtures report to it. */
function notifications() {
  const received: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    received.push(await req.text());
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    received,
    async until(predicate: () => boolean, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (!predicate() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      return predicate();
    },
    close: () => server.shutdown(),
  };
}

Deno.test("the local gateway and edge runtime", async (t) => {
  const functions = await startFunctionsProcess(0, {
    FUNCTIONS_DIR: fixtures,
    SUPABASE_JWT_SECRET: localJwtSecret,
    EDGE_WALL_CLOCK_SECONDS: "2",
    EDGE_CPU_LIMIT_MS: "300",
  }, false);
  const notify = notifications();
  const call = (name: string, init: RequestInit = {}) =>
    fetch(`${functions.url}/functions/v1/${name}`, { method: "POST", ...init });
  const bodyOf = async (response: Response) => ({
    status: response.status,
    body: await response.json(),
  });
  try {
    await t.step("verify_jwt: 401 with the gateway's body, before the function runs", async () => {
      assert.deepEqual(await bodyOf(await call("guarded")), {
        status: 401,
        body: { code: 401, message: "Missing authorization header" },
      });
      const forged = await new (await import("jose")).SignJWT({ role: "service_role" })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode("not-the-project-secret-not-the-project-secret"));
      for (const bearer of [forged, "garbage", await signLocalJwt({ role: "anon" }, -60)]) {
        assert.deepEqual(
          await bodyOf(await call("guarded", { headers: { Authorization: `Bearer ${bearer}` } })),
          { status: 401, body: { code: 401, message: "Invalid JWT" } },
          "forged, malformed and expired JWTs are refused",
        );
      }
      const refused = functions.invocations().filter((i) => i.function === "guarded");
      assert.equal(refused.length, 4);
      assert.ok(refused.every((i) => i.outcome === "unauthorized" && i.cpuMs === 0));

      const { anonKey, serviceRoleKey } = await localKeys();
      const user = await signLocalJwt({ sub: crypto.randomUUID(), role: "authenticated" });
      for (const bearer of [anonKey, serviceRoleKey, user]) {
        assert.deepEqual(
          await bodyOf(await call("guarded", { headers: { Authorization: `Bearer ${bearer}` } })),
          { status: 200, body: { reached: "guarded" } },
          "any valid JWT of the project passes the gateway",
        );
      }
      assert.deepEqual(await bodyOf(await call("open")), {
        status: 200,
        // Isolate threads yield to the gateway's (EDGE_WORKER_NICE, 5 by default).
        body: { reached: "open", edgeRuntime: "object", niceBelowGateway: 5 },
      });
    });

    await t.step(
      "EdgeRuntime.waitUntil: work goes on after the answer; failures are logged",
      async () => {
        const answer = await call("background", { body: JSON.stringify({ notify: notify.url }) });
        assert.deepEqual(await answer.json(), { answered: true });
        assert.equal(notify.received.length, 0, "the answer came before the background work");
        assert.ok(
          await notify.until(() => notify.received.includes("background work done")),
          "the background work finished after the answer",
        );
        assert.ok(
          await notify.until(() =>
            functions.log().some((l) =>
              String(l.error ?? "").includes("a background task that fails")
            )
          ),
          "the failed background task is in the log",
        );
        assert.ok(
          await notify.until(() =>
            functions.invocations().some((i) => i.function === "background" && i.outcome === "ok")
          ),
        );
      },
    );

    await t.step("the wall-clock limit: beforeunload(wall_clock), then the work ends", async () => {
      const started = Date.now();
      const cut = await call("sleepy", { body: JSON.stringify({ notify: notify.url }) });
      assert.equal(cut.status, 546, "no answer within the limit: the runtime's WORKER_LIMIT");
      assert.equal((await cut.json()).code, "WORKER_LIMIT");
      assert.ok(Date.now() - started >= 2000);
      assert.ok(await notify.until(() => notify.received.includes("wall_clock")));

      const answered = await call("sleepy", {
        body: JSON.stringify({ notify: notify.url, answerFirst: true }),
      });
      assert.equal(answered.status, 200, "background work does not hold the answer");
      await answered.body?.cancel();
      assert.ok(
        await notify.until(() =>
          functions.invocations().filter((i) =>
            i.function === "sleepy" && i.outcome === "wall_clock"
          )
            .length === 2
        ),
        "the limit covers background work too",
      );
    });

    await t.step("the CPU limit: the invocation is ended and its CPU time logged", async () => {
      const answer = await call("busy");
      assert.equal(answer.status, 546);
      await answer.body?.cancel();
      const [busy] = functions.invocations().filter((i) => i.function === "busy");
      assert.equal(busy.outcome, "cpu");
      assert.ok(busy.cpuMs >= 300, `${busy.cpuMs} ms of CPU recorded`);
      const open = functions.invocations().find((i) => i.function === "open")!;
      assert.ok(open.cpuMs < 300, "a light invocation records little CPU");
    });
  } finally {
    await functions.close();
    await notify.close();
  }
});
