// The local stack as a user runs it: `deno task start` brings up the simulator and the functions
// server in the background, `status` prints the settings, a function answers over HTTP with them,
// `stop` takes it all down. Runs on its own ports against the test database.
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { databaseUrl } from "../_support/stack.ts";

const root = new URL("../../../", import.meta.url).pathname;
const env = { DATABASE_URL: databaseUrl(), FUNCTIONS_PORT: "55321", SIM_PORT: "55330" };

async function stack(command: "start" | "status" | "stop"): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}dev/stack.ts`, command],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `stack ${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

async function reachable(url: string): Promise<boolean> {
  try {
    await (await fetch(url)).body?.cancel();
    return true;
  } catch {
    return false;
  }
}

Deno.test("deno task start / status / stop", async () => {
  try {
    await stack("start");
    const settings = Object.fromEntries(
      (await stack("status")).trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    assert.deepEqual(Object.keys(settings).sort(), [
      "DATABASE_URL",
      "GRAPH_BASE_URL",
      "SUPABASE_ANON_KEY",
      "SUPABASE_JWT_SECRET",
      "SUPABASE_SERVICE_ROLE_KEY",
      "SUPABASE_URL",
    ]);
    assert.equal(settings.SUPABASE_URL, "http://127.0.0.1:55321");
    assert.equal(settings.DATABASE_URL, env.DATABASE_URL);

    const state = await fetch(`${settings.GRAPH_BASE_URL}/__sim/state`);
    assert.equal(state.status, 200);
    await state.body?.cancel();

    const anon = createClient(settings.SUPABASE_URL, settings.SUPABASE_ANON_KEY, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const answer = await anon.functions.invoke("ad-accounts", { method: "GET" });
    const response = (answer.error as { context?: Response }).context!;
    assert.equal(response.status, 401, "the anon key names no user");
    await response.body?.cancel();
  } finally {
    await stack("stop");
  }
  assert.equal(await reachable("http://127.0.0.1:55321/functions/v1/ad-accounts"), false);
  assert.equal(await reachable("http://127.0.0.1:55330/__sim/state"), false);
});
