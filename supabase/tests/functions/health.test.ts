// GET /health through the gateway with no JWT, on the real stack: 200 with its counts and ages while
// the platform keeps up; 503 when a creation job has waited too long with no worker able to take it
// (every worker slot held), and when the database is unreachable. Its answer never holds an id, an
// account, a name or a token.
import assert from "node:assert/strict";
import { jobStatuses } from "../../functions/_shared/creation/job-states.ts";
import { overdueJobSeconds } from "../../functions/_shared/platform/health.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

async function health(stack: TestStack, init: RequestInit = {}) {
  const response = await fetch(`${stack.functions.url}/functions/v1/health`, init);
  return { status: response.status, text: await response.text() };
}

testWithStack("health: no JWT needed, 200 or 503, counts and ages only", async (t, stack) => {
  const owner = await stack.createUser();
  const { id: act, token } = await stack.connectAdAccount(owner);
  const [{ id: accountId }] = await stack.sql<{ id: string }[]>`
    select id from public.ad_accounts where platform_account_id = ${act}`;

  await t.step("200 with every field, no JWT sent", async () => {
    const { status, text } = await health(stack);
    assert.equal(status, 200, text);
    const body = JSON.parse(text);
    assert.equal(body.healthy, true);
    assert.deepEqual(body.problems, []);
    assert.equal(body.database, "reachable");
    assert.equal(body.cronInstalled, true);
    for (
      const field of ["dueJobs", "pendingFinalSyncs", "openCircuitBreakers"]
    ) assert.equal(typeof body[field], "number", field);
    assert.equal(typeof body.jobsByStatus, "object");
    assert.ok("lastCronTickAgeSeconds" in body && "oldestDueJobAgeSeconds" in body);
  });

  await t.step("GET only", async () => {
    const { status } = await health(stack, { method: "POST", body: "{}" });
    assert.equal(status, 405);
  });

  await t.step("503 when a job has been due too long and no worker can take it", async () => {
    // Every worker slot held (as by runs that hang), so no run claims the job meanwhile.
    await stack.sql`
      update public.creation_worker_slots
      set run_id = 'health-test', held_until = now() + interval '10 minutes', claimed_at = now()`;
    const [{ id: jobId }] = await stack.sql<{ id: number }[]>`
      insert into public.campaign_creation_jobs (
        user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set,
        request, request_hash, next_run_at
      ) values (
        ${owner}, ${accountId}, 'Health overdue', 1, 1, 1, '{}'::jsonb, 'health-test',
        now() - make_interval(secs => ${overdueJobSeconds + 60})
      ) returning id`;
    try {
      const { status, text } = await health(stack);
      assert.equal(status, 503, text);
      const body = JSON.parse(text);
      assert.equal(body.healthy, false);
      assert.ok(body.problems.includes("job_overdue"), text);
      assert.ok(body.dueJobs >= 1);
      assert.ok(body.oldestDueJobAgeSeconds > overdueJobSeconds);
      assert.ok(body.jobsByStatus.pending >= 1);
      for (const secret of [act, accountId, owner, token, "Health overdue", `"id"`]) {
        assert.ok(!text.includes(secret), `the answer holds ${secret.slice(0, 6)}…`);
      }
      // Counts per state only: no job's id or anything else keyed in (a count may equal an id).
      for (const [state, count] of Object.entries(body.jobsByStatus)) {
        assert.ok((jobStatuses as readonly string[]).includes(state), state);
        assert.equal(typeof count, "number", state);
      }
    } finally {
      await stack.sql`delete from public.campaign_creation_jobs where id = ${jobId}`;
      await stack.sql`
        update public.creation_worker_slots
        set run_id = null, held_until = null, claimed_at = null
        where run_id = 'health-test'`;
    }
    assert.equal((await health(stack)).status, 200);
  });

  await t.step("503 when the database is unreachable, saying nothing of it", async () => {
    const unreachable = "postgresql://postgres:postgres@127.0.0.1:1/postgres";
    await stack.functions.close();
    await stack.functions.restart({ SUPABASE_DB_URL: unreachable });
    try {
      const { status, text } = await health(stack);
      assert.equal(status, 503, text);
      const body = JSON.parse(text);
      assert.equal(body.database, "unreachable");
      assert.deepEqual(body.problems, ["database_unreachable"]);
      assert.ok(!text.includes("127.0.0.1") && !text.includes("postgres"), text);
    } finally {
      await stack.functions.close();
      await stack.functions.restart();
    }
  });
});
