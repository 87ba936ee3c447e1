// The local stack as a user runs it: `deno task start` brings up the simulator and the functions
// server in the background, `status` prints the settings, a function answers over HTTP with them,
// `stop` takes it all down. Runs on its own ports against the test database.
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { databaseUrl, reachable } from "../_support/stack.ts";

const root = new URL("../../../", import.meta.url).pathname;
/** A port free now: fixed ones collide with another checkout's tests on this machine. */
function freePort(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return String(listener.addr.port);
}
const [functionsPort, simPort] = [freePort(), freePort()];
const env = { DATABASE_URL: databaseUrl(), FUNCTIONS_PORT: functionsPort, SIM_PORT: simPort };

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
    assert.equal(settings.SUPABASE_URL, `http://127.0.0.1:${functionsPort}`);
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

    // Wired as a hosted project: Vault holds where the functions are, pg_cron calls the worker,
    // and the relay sends what pg_net queues (a call made now is answered by the worker).
    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const [{ url }] = await sql`
        select decrypted_secret as url from vault.decrypted_secrets where name = 'adrail_functions_url'`;
      assert.equal(url, `http://127.0.0.1:${functionsPort}/functions/v1`);
      const [{ jobs }] = await sql`
        select count(*)::int as jobs from cron.job where jobname = 'adrail-creation-worker'`;
      assert.equal(jobs, 1);
      const [{ id }] = await sql`select private.call_function('creation-worker') as id`;
      let status: number | null = null;
      for (let i = 0; i < 100 && status === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        [{ status } = { status: null }] = await sql`
          select status_code as status from net._http_response where id = ${id}`;
      }
      assert.equal(status, 200, "the relay sent pg_net's request and the worker answered");
    } finally {
      await sql.end();
    }
  } finally {
    await stack("stop");
  }
  assert.equal(
    await reachable(`http://127.0.0.1:${functionsPort}/functions/v1/ad-accounts`),
    false,
  );
  assert.equal(await reachable(`http://127.0.0.1:${simPort}/__sim/state`), false);
});

/** The repository's runnable parts, copied: a checkout whose migrations a test may change. */
async function checkoutCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "adrail-checkout-" });
  for (const part of ["deno.json", "deno.lock", "dev", "simulator", "supabase"]) {
    await new Deno.Command("cp", { args: ["-r", `${root}${part}`, dir] }).output();
  }
  return dir;
}

Deno.test("deno task start on a database migrated before: new migrations applied, edited ones refused", async () => {
  const checkout = await checkoutCopy();
  const env = { FUNCTIONS_PORT: freePort(), SIM_PORT: freePort() };
  const name = `adrail_start_test_${Deno.pid}`;
  const cluster = new URL(databaseUrl());
  const url = new URL(databaseUrl());
  url.pathname = `/${name}`;
  const admin = (sql: string) =>
    new Deno.Command("psql", { args: ["-X", "-q", "-d", cluster.href, "-c", sql] }).output();
  const psql = async (sql: string) =>
    new TextDecoder().decode(
      (await new Deno.Command("psql", { args: ["-X", "-At", "-d", url.href, "-c", sql] }).output())
        .stdout,
    ).trim();
  const startIn = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${checkout}/dev/stack.ts`, "start"],
      env: { ...env, DATABASE_URL: url.href },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { ok: out.success, text: decode(out.stdout) + decode(out.stderr) };
  };
  const stopIn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${checkout}/dev/stack.ts`, "stop"],
      env: { ...env, DATABASE_URL: url.href },
    }).output();
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  try {
    const first = await startIn();
    assert.ok(first.ok, first.text);
    await stopIn();
    const recorded = Number(
      await psql("select count(*) from supabase_migrations.schema_migrations"),
    );
    assert.ok(recorded >= 11, `${recorded} migrations recorded by the first start`);

    await Deno.writeTextFile(
      `${checkout}/supabase/migrations/29991231000000_start_probe.sql`,
      "create table public.start_probe (id int);",
    );
    const second = await startIn();
    assert.ok(second.ok, second.text);
    await stopIn();
    assert.match(second.text, /migration applied: 29991231000000_start_probe\.sql/);
    assert.equal(await psql("select to_regclass('public.start_probe') is not null"), "t");
    assert.equal(
      await psql(
        "select name from supabase_migrations.schema_migrations where version = '29991231000000'",
      ),
      "start_probe",
    );

    const [oldest] = [...Deno.readDirSync(`${checkout}/supabase/migrations`)].map((e) => e.name)
      .sort();
    await Deno.writeTextFile(
      `${checkout}/supabase/migrations/${oldest}`,
      "\n-- edited after it was applied\n",
      { append: true },
    );
    const third = await startIn();
    assert.equal(third.ok, false, "an edited migration is refused");
    assert.match(third.text, new RegExp(`${oldest} was edited after it was applied`));
    assert.doesNotMatch(third.text, /\bat file:\/\//, "one clear line, no stack trace");
  } finally {
    await stopIn();
    await admin(`drop database if exists ${name} with (force)`);
    await Deno.remove(checkout, { recursive: true });
  }
});
