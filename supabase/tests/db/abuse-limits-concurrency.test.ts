// The abuse limits under concurrency, on separate connections: requests racing for one token
// bucket take exactly its quota; creation jobs racing for the last places under an account's
// active_jobs limit: exactly that many are created, the others refused with ADR09 (nothing half
// made); and the check, at the commit, does not hold a user's next launch behind one still being
// written. Seeds its own user, accounts and limit overrides; deletes them at the end.
import assert from "node:assert/strict";
import postgres from "postgres";
import { DbErrorCode, sqlState } from "../../functions/_shared/platform/db.ts";
import { databaseUrl } from "../_support/stack.ts";

Deno.test("abuse limits: racing requests and racing jobs never go over a limit", async (t) => {
  const admin = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  const racers = Array.from(
    { length: 8 },
    () => postgres(databaseUrl(), { max: 1, onnotice: () => {} }),
  );
  const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const [{ id: user }] = await admin`
    insert into auth.users (id, email) values (gen_random_uuid(), ${`limits-${runId}@test.adrail`})
    returning id`;
  const [{ id: account }] = await admin`
    insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
    values (${user}, ${`act_${runId}`}, 'ciphertext') returning id`;
  await admin`
    insert into public.ad_account_members (ad_account_id, user_id, role) values (${account}, ${user}, 'owner')`;
  try {
    await t.step("20 requests at once on a bucket of 5: exactly 5 allowed", async () => {
      await admin`
        insert into public.adrail_limits (action, scope, user_id, quota, window_seconds)
        values ('launch', 'user', ${user}, 5, 3600)`;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          racers[i % racers.length]<{ allowed: boolean }[]>`
            select allowed from public.take_request_quota('launch', ${user})`),
      );
      assert.equal(answers.filter(([answer]) => answer.allowed).length, 5);
    });

    await t.step("8 jobs at once for 3 places: 3 created, 5 refused with ADR09", async () => {
      await admin`
        insert into public.adrail_limits (action, scope, ad_account_id, quota)
        values ('active_jobs', 'account', ${account}, 3)`;
      const outcomes = await Promise.all(racers.map((sql, i) =>
        sql`
          select public.create_campaign_creation_job(
            ${user}, ${account}, ${`race ${i}`}, 2, 1, '{}'::jsonb, 'h')`
          .then(() => "created", (error) => sqlState(error))
      ));
      assert.deepEqual(
        outcomes.toSorted(),
        [...Array(5).fill(DbErrorCode.limitReached), ...Array(3).fill("created")].toSorted(),
      );
      const [counts] = await admin`
        select count(distinct j.id)::int as jobs, count(s.id)::int as slots
        from public.campaign_creation_jobs j
        left join public.entity_creation_slots s on s.job_id = j.id
        where j.ad_account_id = ${account}`;
      assert.deepEqual({ ...counts }, { jobs: 3, slots: 3 * 5 }, "the refused made nothing");
    });

    await t.step("a job not yet committed does not hold the same user's next one", async () => {
      const [first, second] = await Promise.all(["a", "b"].map(async (suffix) => {
        const [{ id }] = await admin`
          insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
          values (${user}, ${`act_${runId}${suffix === "a" ? 1 : 2}`}, 'ciphertext') returning id`;
        await admin`
          insert into public.ad_account_members (ad_account_id, user_id, role)
          values (${id}, ${user}, 'owner')`;
        return id as string;
      }));
      await racers[0].begin(async (open) => {
        await open`
          select public.create_campaign_creation_job(${user}, ${first}, 'open', 1, 1, '{}'::jsonb, 'h')`;
        // Checked at the insert, the first job's transaction would hold the user's lock until
        // it ends: this one would wait for it, and give up after lock_timeout (55P03).
        const beside = await racers[1].begin(async (tx) => {
          await tx`set local lock_timeout = '2s'`;
          return await tx`
            select (public.create_campaign_creation_job(
              ${user}, ${second}, 'beside', 1, 1, '{}'::jsonb, 'h')).id`;
        });
        assert.equal(beside.length, 1);
      });
      const [{ jobs }] = await admin`
        select count(*)::int as jobs from public.campaign_creation_jobs
        where ad_account_id in (${first}, ${second})`;
      assert.equal(jobs, 2);
    });
  } finally {
    // Cascades: the account, its jobs and slots, the overrides.
    await admin`delete from auth.users where id = ${user}`;
    await admin`delete from public.request_rate_limits where subject_id in (${user}, ${account})`;
    await Promise.all([admin, ...racers].map((sql) => sql.end({ timeout: 5 })));
  }
});
