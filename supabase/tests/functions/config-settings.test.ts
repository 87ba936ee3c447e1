// The settings of Graph timeouts and of the database pool: defaults when unset, the value when
// well formed, a configuration error naming the setting (never echoing it) otherwise.
import assert from "node:assert/strict";
import {
  ConfigError,
  dbPoolMax,
  defaultGraphTimeouts,
  graphSettings,
} from "../../functions/_shared/platform/config.ts";

/** Runs `check` with `settings` in the environment, then puts the environment back. */
function withEnv(settings: Record<string, string | undefined>, check: () => void): void {
  const before = Object.fromEntries(Object.keys(settings).map((key) => [key, Deno.env.get(key)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
  };
  apply(settings);
  try {
    check();
  } finally {
    apply(before);
  }
}

function refused(setting: string, read: () => unknown): void {
  assert.throws(read, (error) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual([error.setting, error.problem], [setting, "malformed"]);
    return true;
  });
}

Deno.test("Graph timeouts: 20 s for reads, 30 s for writes unless set; malformed is refused", () => {
  withEnv({ GRAPH_READ_TIMEOUT_MS: undefined, GRAPH_WRITE_TIMEOUT_MS: undefined }, () => {
    assert.deepEqual(graphSettings().timeouts, defaultGraphTimeouts);
    assert.deepEqual(defaultGraphTimeouts, { readMs: 20_000, writeMs: 30_000 });
  });
  withEnv({ GRAPH_READ_TIMEOUT_MS: "4000", GRAPH_WRITE_TIMEOUT_MS: "1000" }, () => {
    assert.deepEqual(graphSettings().timeouts, { readMs: 4000, writeMs: 1000 });
  });
  for (const bad of ["0", "-5", "1.5", "20s", "400001"]) {
    withEnv({ GRAPH_WRITE_TIMEOUT_MS: bad }, () => {
      refused("GRAPH_WRITE_TIMEOUT_MS", graphSettings);
    });
  }
});

Deno.test("DB_POOL_MAX: 20 unless set, 1 to 100", () => {
  withEnv({ DB_POOL_MAX: undefined }, () => assert.equal(dbPoolMax(), 20));
  withEnv({ DB_POOL_MAX: "12" }, () => assert.equal(dbPoolMax(), 12));
  for (const bad of ["0", "101", "five"]) {
    withEnv({ DB_POOL_MAX: bad }, () => refused("DB_POOL_MAX", dbPoolMax));
  }
});
