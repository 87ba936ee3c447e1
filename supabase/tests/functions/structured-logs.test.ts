// The functions' logs: one JSON object a line on stderr, nothing on stdout; every line of an
// invocation carries its request id (the caller's x-request-id, else a fresh one, answered in the
// x-request-id header), a creation job's lines its job and ad account; and no token or secret
// ever appears in a line, wherever it was put.
import assert from "node:assert/strict";
import { launchBody, until } from "../_support/launches.ts";
import { invokeResult, testWithStack } from "../_support/stack.ts";

const logModule = new URL("../../functions/_shared/platform/log.ts", import.meta.url).href;
const graphClientModule =
  new URL("../../functions/_shared/meta/graph-client.ts", import.meta.url).href;

/** Runs `script` in a Deno process of its own: what it wrote on each stream. */
async function run(script: string): Promise<{ stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return {
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("log lines: JSON on stderr only, with their context, and never a secret", async () => {
  const token = "EAAB-log-test-0c1d2e3f4a5b";
  const appSecret = "app-secret-log-test-7e8f";
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  const oddToken = "not-shaped-like-a-token-9f8e7d";
  const { stdout, stderr } = await run(`
    import { log, withLogContext } from "${logModule}";
    import { GraphClient } from "${graphClientModule}";
    // A client registers its token and app secret: they are masked wherever they would appear.
    new GraphClient({ baseUrl: "http://127.0.0.1:9", version: "v27.0", accessToken: "${oddToken}", appSecret: "${appSecret}" });
    await withLogContext({ requestId: "req-1" }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await withLogContext({ jobId: 7, adAccountId: "act_1" }, async () => {
        log.info("token ${token} and secret ${appSecret} in the message", {
          note: "Bearer ${jwt}",
          url: "/v27.0/act_1?access_token=${token}&fields=name",
          nested: { accessToken: "${token}", words: ["${oddToken}"] },
          error: "${appSecret} leaked into an error",
        });
        log.warn("warned");
      });
      log.error("failed", { appSecret: "${appSecret}" });
    });
    log.info("outside any context");
  `);
  assert.equal(stdout, "", "nothing on stdout");
  const lines = stderr.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.level, l.message.slice(0, 5), l.requestId, l.jobId]), [
    ["info", "token", "req-1", 7],
    ["warn", "warne", "req-1", 7],
    ["error", "faile", "req-1", undefined],
    ["info", "outsi", undefined, undefined],
  ]);
  assert.equal(lines[0].adAccountId, "act_1");
  assert.equal(lines[0].url, "/v27.0/act_1?access_token=[redacted]&fields=name");
  for (const secret of [token, appSecret, jwt, oddToken]) {
    assert.ok(!stderr.includes(secret), `${secret.slice(0, 12)}... never written`);
  }
});

testWithStack("request ids and job context in the functions' logs", async (t, stack) => {
  await t.step("the caller's x-request-id is answered back; without one, a fresh one", async () => {
    const health = `${stack.functions.url}/functions/v1/health`;
    const given = await fetch(health, { headers: { "x-request-id": "uptime-check-42" } });
    await given.body?.cancel();
    assert.equal(given.headers.get("x-request-id"), "uptime-check-42");
    const fresh = await fetch(health);
    await fresh.body?.cancel();
    assert.match(fresh.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const odd = await fetch(health, { headers: { "x-request-id": "has spaces {and} more" } });
    await odd.body?.cancel();
    assert.match(odd.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, "not taken as it is");
  });

  await t.step(
    "a launch logs under its request id; its job's run, in the creation worker, under the job and account",
    async () => {
      const owner = await stack.createUser();
      const { id: act, token } = await stack.connectAdAccount(owner);
      const client = await stack.clientFor(owner);
      const requestId = `launch-${crypto.randomUUID()}`;
      const answer = await invokeResult(
        await client.functions.invoke("campaign-create", {
          body: launchBody(act, "Logged", 2),
          headers: { "x-request-id": requestId },
        }),
      );
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      const jobId = answer.body.jobId as number;
      assert.equal(await stack.jobSettled(jobId), "completed");
      const run = await until("the job's run in the log", () =>
        Promise.resolve(
          stack.functions.log().find((line) =>
            line.message === "creation job run" && line.jobId === jobId
          ),
        ), 10_000);
      assert.deepEqual(
        [run.function, run.adAccountId, run.status],
        ["creation-worker", act, "completed"],
      );
      assert.match(String(run.requestId), /^[0-9a-f-]{36}$/, "the creation-worker call's own id");
      assert.ok(
        stack.functions.log().some((line) =>
          line.requestId === requestId && line.function === "campaign-create" &&
          String(line.message).startsWith("creation worker run") && line.why === "launch"
        ),
        "the launch asked for the run under its request id",
      );
      assert.ok(!JSON.stringify(stack.functions.log()).includes(token), "the token is nowhere");
    },
  );
});
