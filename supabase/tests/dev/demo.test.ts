// The README's demo, run as a user runs it, against the test database: it must keep working and
// keep showing what it promises (the trigger flagging a final sync, the final sync completing).
import assert from "node:assert/strict";
import postgres from "postgres";
import { databaseUrl } from "../_support/stack.ts";

const root = new URL("../../../", import.meta.url).pathname;

async function runDemo(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}demo/main.ts`],
    env: { DATABASE_URL: databaseUrl(), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `the demo failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** Where Vault says the functions are (pg_cron's calls go there). */
async function functionsUrlInVault(): Promise<string> {
  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`
      select decrypted_secret as url from vault.decrypted_secrets where name = 'adrail_functions_url'`;
    return row?.url;
  } finally {
    await sql.end();
  }
}

Deno.test("the demo runs end to end, twice on the same database, and every check passes", async () => {
  const before = await functionsUrlInVault();
  for (let run = 0; run < 2; run++) {
    const output = await runDemo();
    assert.match(output, /HTTP 201: \{"id":"[0-9a-f-]+","platformAccountId":"act_4242"/);
    assert.match(
      output,
      /facebook-ads-sync: entities: \{"ads":1,"adSets":1,"campaigns":1,"statusChanges":0\}/,
    );
    assert.match(
      output,
      /facebook-ads-sync: final syncs: \{"claimed":1,"completed":1,"metricDays":[1-9]/,
    );
    assert.match(
      output,
      /trigger_log_ad_status_change wrote: .*"old_status":"ACTIVE","new_status":"PAUSED","requires_final_sync":true,"final_sync_completed":true/,
    );
    assert.match(output, /ad_metrics_daily: \[\{"date":"\d{4}-\d\d-\d\d","impressions":"[1-9]/);
    // The live progress: one line per kind of object, and the job's wait with its reason.
    assert.match(output, /ad sets\s+requested\s+50\s+created\s+\d+\s+verified\s+\d+\s+retries \d/);
    assert.match(output, /job\s+in_progress, waiting until \d\d:\d\d:\d\d \(rate_limit/);
    assert.match(
      output,
      /GET \/campaign-create\/jobs\/:id: \{"status":"completed","created":\{"adSets":50,"ads":50\},"verified":101,"silentFailures":[1-9]/,
    );
    assert.match(
      output,
      /on Meta, live for this launch: \{"campaigns":1,"adSets":50,"ads":50,"copies":0,/,
    );
    assert.match(output, /GET \/campaign-create\/jobs\/:id: \{"status":"rolled_back"/);
    assert.match(
      output,
      /on Meta, live for this launch: \{"campaigns":0,"adSets":0,"ads":0,"copies":0\}/,
    );
    assert.match(output, /creation_job_outcomes_24h: \n\s+\{"status":"completed","jobs":2,/);
    assert.match(output, /final_sync_backlog now: \[\]/);
    for (
      const name of [
        "Meta misbehaved as announced",
        "the job waited out the rate limit",
        "the silent failure was found by read-back and repaired",
        "the launch completed exactly",
        "Meta holds exactly that launch",
        "the suspended launch was rolled back clean",
        "a launcher's launch waited for approval, on Meta nothing meanwhile",
        "the requester may not approve his own launch",
        "approved by Dana, the launch ran exactly: 1 campaign, 2 ad sets, 2 ads",
        "the budget ledger balances: no invariant violated",
        "no final sync owed",
      ]
    ) assert.ok(output.includes(`✓ ${name}`), `check "${name}" passed`);
    assert.match(output, /All \d+ checks passed\./);
    assert.doesNotMatch(output, /CHECK FAILED/);
    assert.doesNotMatch(
      output,
      /^\{"level"/m,
      "no log line in the story: the log has its own file",
    );
    assert.doesNotMatch(output, /EAAB-demo-/, "the access token is never printed");
  }
  // On a database no stack has wired yet there is nothing to put back.
  if (before !== undefined) {
    assert.equal(
      await functionsUrlInVault(),
      before,
      "the demo's stack put back the functions URL it replaced in Vault",
    );
  }
});
