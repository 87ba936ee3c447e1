import assert from "node:assert/strict";

Deno.test("main.ts prints its URL and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: { SIM_PORT: "0", SIM_SEED: "3" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const match = /^Graph API simulator listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(out);
  assert.ok(match, out);
  const res = await fetch(`${match[1]}/__sim/state`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  child.kill("SIGTERM");
  const status = await child.status;
  await reader.cancel();
  assert.equal(status.code, 0);
});
