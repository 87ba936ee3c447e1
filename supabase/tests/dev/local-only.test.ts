// The dev-only conveniences stay on this machine: the local stack (its fixed secrets, the pg_net
// and Vault stand-ins, schemas dropped on reset) refuses a database on another host unless it is
// declared a throwaway one with ADRAIL_LOCAL_STACK=1, before it connects or starts anything; the
// simulator's open control API refuses any address but loopback (simulator/tests/main.test.ts).
import assert from "node:assert/strict";
import { localStackDatabase, localStackMarker } from "../../../dev/lib/local-db.ts";
import { startLocalStack } from "../../../dev/lib/stack.ts";
import { reachable } from "../_support/stack.ts";

const root = new URL("../../../", import.meta.url).pathname;
/** A database elsewhere (unresolvable: a refusal that tried to connect would fail on DNS). */
const remote = "postgresql://postgres:hunter2@db.adrail-prod.invalid:5432/postgres";
const refusal = /refusing the database on db\.adrail-prod\.invalid: the local stack drops/;

Deno.test("db:reset and start refuse a database on another host, connecting to nothing, starting nothing", async () => {
  for (const [script, ...args] of [["dev/db-reset.ts"], ["dev/stack.ts", "start"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}${script}`, ...args],
      env: { DATABASE_URL: remote, FUNCTIONS_PORT: "55521", SIM_PORT: "55530" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.success, false, script);
    assert.match(stderr, /refusing the database on db\.adrail-prod\.invalid/, script);
    assert.match(stderr, /ADRAIL_LOCAL_STACK=1/);
    assert.doesNotMatch(
      stderr,
      /hunter2|dns|lookup|translate host name|getaddrinfo/i,
      "no password shown, no connection tried",
    );
  }
  assert.equal(await reachable("http://127.0.0.1:55521/functions/v1/"), false);
  assert.equal(await reachable("http://127.0.0.1:55530/__sim/state"), false);
  await assert.rejects(Deno.stat(`${root}.local/stack-55521`), Deno.errors.NotFound);
});

Deno.test("the stack used by tests, demo and bench refuses it before starting anything", async () => {
  // Deno's sanitizers fail this test if a server or process it started were left running.
  await assert.rejects(startLocalStack({ databaseUrl: remote, seed: 1 }), refusal);
});

Deno.test("a database of this machine is taken; one elsewhere only with the local-stack marker", () => {
  for (
    const url of [
      "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
      "postgresql://postgres@localhost/postgres",
      "postgresql://postgres@[::1]:54322/postgres",
      "postgresql://postgres@/postgres?host=/tmp/adrail-postgres-54322/run",
    ]
  ) {
    assert.equal(localStackDatabase(url), url);
  }
  assert.throws(() => localStackDatabase(remote), refusal);
  assert.throws(
    () => localStackDatabase("postgresql://postgres@10.0.0.5/postgres"),
    /refusing the database on 10\.0\.0\.5/,
  );
  Deno.env.set(localStackMarker, "1");
  try {
    assert.equal(localStackDatabase(remote), remote, "declared a throwaway database");
  } finally {
    Deno.env.delete(localStackMarker);
  }
});
