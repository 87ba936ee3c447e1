/** `deno task sim`: the Graph API simulator as a process, configured by SIM_* variables. */

import { startSimulator } from "./server.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) || fallback;

const sim = await startSimulator({
  port: Number(env("SIM_PORT", "54330")),
  hostname: env("SIM_HOST", "127.0.0.1"),
  seed: Number(env("SIM_SEED", "1")),
  latencyMs: Number(env("SIM_LATENCY_MS", "0")),
}).catch((error) => {
  console.error(`Graph API simulator: ${error instanceof Error ? error.message : error}`);
  return Deno.exit(1);
});
console.log(`Graph API simulator listening on ${sim.url}`);

// Stop at once on a signal: a graceful shutdown still waiting on a client's connection after a
// second would keep the port bound for the next start.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await Promise.race([sim.close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
    Deno.exit(0);
  });
}
