/** `deno task sim`: the Graph API simulator as a process, configured by SIM_* variables. */

import { startSimulator } from "./server.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) || fallback;

const sim = await startSimulator({
  port: Number(env("SIM_PORT", "54330")),
  hostname: env("SIM_HOST", "127.0.0.1"),
  seed: Number(env("SIM_SEED", "1")),
  latencyMs: Number(env("SIM_LATENCY_MS", "0")),
});
console.log(`Graph API simulator listening on ${sim.url}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await sim.close();
    Deno.exit(0);
  });
}
