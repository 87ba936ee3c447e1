// Approvals racing on separate connections, as 50 function invocations would: 50 approvals of one
// job take once (one decision, one reservation, the job made due once) and the others replay it;
// 50 approvals of 50 launches at once against a daily budget cap that fits 20 reserve exactly 20,
// the other 30 refused with ADR10 and left waiting. The approval's own latency (the transaction,
// serialized per account on its budget) is printed, and its p95 must stay under 500 ms; the
// invariants view is empty after each race. Seeds its own users and account; deletes them at the
// end (the append-only ledger keeps its history).
import assert from "node:assert/strict";
import postgres from "postgres";
import { DbErrorCode, sqlState } from "../../functions/_shared/platform/db.ts";
import { databaseUrl } from "../_support/stack.ts";

const racers = 50;
const dailyBudget = 1000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

Deno.test("approvals racing: one start per job, never over the cap", async (t) => {
  const admin = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  const pool = postgres(databaseUrl(), { max: racers, onnotice: () => {} });
  const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const users = await admin<{ id: string }[]>`
    insert into auth.users (id, email)
    select gen_random_uuid(), format('approval-%s-%s@test.adrail', ${runId}::text, n)
    from generate_series(1, 3) n returning id`;
  const [owner, approver, launcher] = users.map((u) => u.id);
  try {
    const [{ id: account }] = await admin`
      insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
      values (${owner}, ${`act_${runId}`}, 'ciphertext') returning id`;
    await admin`
      insert into public.ad_account_members (ad_account_id, user_id, role)
      values (${account}, ${owner}, 'owner'), (${account}, ${approver}, 'approver'),
             (${account}, ${launcher}, 'launcher')`;
    await admin`
      insert into public.adrail_limits (action, scope, ad_account_id, quota)
      values ('active_jobs', 'account', ${account}, 1000)`;
    await admin`
      insert into public.adrail_limits (action, scope, user_id, quota)
      values ('active_jobs', 'user', ${launcher}, 1000)`;
    await admin`select public.set_ad_account_settings(${account}, ${owner}, true, ${
      20 * dailyBudget
    })`;
    const launchWaiting = async (name: string) => {
      const [job] = await admin<{ id: string; status: string }[]>`
        select id::text, status from public.create_campaign_creation_job(
          ${launcher}, ${account}, ${name}, 1, 0,
          ${admin.json({ adSets: { count: 1, template: { daily_budget: dailyBudget } } })}, 'h')`;
      assert.equal(job.status, "awaiting_approval");
      return Number(job.id);
    };
    const approve = async (jobId: number) => {
      const started = performance.now();
      const outcome = await pool<{ replayed: boolean }[]>`
        select replayed from public.approve_campaign_creation_job(${jobId}, ${approver})`
        .then(([row]) => row.replayed ? "replayed" : "approved", (error) => sqlState(error));
      return { outcome, ms: performance.now() - started };
    };
    // Every connection open and warm before the clock starts, as a function's pool is once it
    // has served: each has approved a launch already (on an account of its own, uncapped).
    const [{ id: warmAccount }] = await admin`
      insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
      values (${owner}, ${`act_${runId}1`}, 'ciphertext') returning id`;
    await admin`
      insert into public.ad_account_members (ad_account_id, user_id, role)
      values (${warmAccount}, ${owner}, 'owner'), (${warmAccount}, ${approver}, 'approver'),
             (${warmAccount}, ${launcher}, 'launcher')`;
    await admin`
      insert into public.adrail_limits (action, scope, ad_account_id, quota)
      values ('active_jobs', 'account', ${warmAccount}, 1000)`;
    await admin`select public.set_ad_account_settings(${warmAccount}, ${owner}, true, null)`;
    const warmJobs = await admin<{ id: string }[]>`
      select (public.create_campaign_creation_job(${launcher}, ${warmAccount}, 'warm ' || n, 1, 0, '{}', 'h')).id::text
      from generate_series(1, ${racers}) n`;
    await Promise.all(
      warmJobs.map(({ id }) =>
        pool`select public.approve_campaign_creation_job(${
          Number(id)
        }, ${approver}), pg_sleep(0.05)`
      ),
    );
    const noViolations = async () =>
      assert.deepEqual([...await admin`select * from public.budget_invariant_violations`], []);

    await t.step(`${racers} approvals of one job at once: it is approved once`, async () => {
      const jobId = await launchWaiting("one job");
      const outcomes = await Promise.all(Array.from({ length: racers }, () => approve(jobId)));
      assert.deepEqual(
        outcomes.map((o) => o.outcome).toSorted(),
        ["approved", ...Array(racers - 1).fill("replayed")].toSorted(),
      );
      const [state] = await admin`
        select (select count(*)::int from public.budget_ledger where job_id = ${jobId}) as reservations,
               (select count(*)::int from public.campaign_creation_job_decisions where job_id = ${jobId}) as decisions,
               (select status from public.campaign_creation_jobs where id = ${jobId}) as status`;
      assert.deepEqual({ ...state }, { reservations: 1, decisions: 1, status: "pending" });
      await noViolations();
    });

    await t.step(
      `${racers} launches approved at once, a cap that fits 20 (one taken): 19 more`,
      async () => {
        const jobs: number[] = [];
        for (let i = 0; i < racers; i++) jobs.push(await launchWaiting(`capped ${i}`));
        const outcomes = await Promise.all(jobs.map(approve));
        const ms = outcomes.map((o) => o.ms);
        const p95 = percentile(ms, 95);
        console.log(
          `${racers} approvals at once, in the database: p50 ${
            percentile(ms, 50).toFixed(0)
          } ms, ` +
            `p95 ${p95.toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`,
        );
        assert.deepEqual(
          outcomes.map((o) => o.outcome).toSorted(),
          [...Array(19).fill("approved"), ...Array(racers - 19).fill(DbErrorCode.budgetCapExceeded)]
            .toSorted(),
        );
        const [state] = await admin`
          select (select count(*)::int from public.budget_ledger where job_id = any(${jobs})) as reservations,
                 (select reserved::int from public.ad_account_budgets where ad_account_id = ${account}) as reserved,
                 (select count(*)::int from public.campaign_creation_jobs
                  where id = any(${jobs}) and status = 'awaiting_approval') as waiting`;
        assert.deepEqual({ ...state }, {
          reservations: 19,
          reserved: 20 * dailyBudget,
          waiting: racers - 19,
        });
        await noViolations();
        assert.ok(p95 < 500, `approve p95 ${p95.toFixed(0)} ms is under 500 ms`);
      },
    );
  } finally {
    // Cascades: the account, its settings, jobs, slots, decisions and limit overrides.
    await admin`delete from auth.users where id = any(${users.map((u) => u.id)})`;
    await pool.end();
    await admin.end();
  }
});
