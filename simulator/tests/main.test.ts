import assert from "node:assert/strict";
import { startSimulator } from "../server.ts";

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

Deno.test("main.ts refuses any address but loopback (its control API is open), and binds nothing", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  for (const host of ["0.0.0.0", "::"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
      env: { SIM_PORT: String(port), SIM_HOST: host },
      stdout: "piped",
      stderr: "piped",
      // A simulator that listens would serve on: end it, the code then says it was not refused.
      signal: AbortSignal.timeout(20_000),
    }).output();
    assert.equal(out.code, 1);
    assert.equal(
      new TextDecoder().decode(out.stderr),
      `Graph API simulator: refusing to listen on ${host}: the simulator's control API (/__sim/) ` +
        "is open to whoever reaches it, so it listens on loopback only (127.0.0.1, ::1, localhost)\n",
    );
    assert.equal(new TextDecoder().decode(out.stdout), "");
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/__sim/state`), "nothing listens there");
});

Deno.test("startSimulator: loopback addresses only", async () => {
  await assert.rejects(startSimulator({ port: 0, hostname: "0.0.0.0" }), /refusing to listen/);
  for (const hostname of ["127.0.0.1", "localhost"]) {
    const sim = await startSimulator({ port: 0, hostname });
    await (await fetch(`${sim.url}/__sim/state`)).body?.cancel();
    await sim.close();
  }
});
