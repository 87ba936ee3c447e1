// The crash-loop cap of claim_campaign_creation_job, on two real connections: the claim that stops
// a crash-looping job does it under the job's row lock, inside the claimer's transaction, so a
// second claimer at the same moment neither gets the job nor stops it a second time; once the
// first commits, the job is claimable again in its new status, with a fresh count.
//
// Runs against $DATABASE_URL; seeds its own auth user, ad account and jobs (ids unique to this
// run), never assumes empty tables, and deletes what it made.
import postgres from "postgres";
import assert from "node:assert/strict";

const url = Deno.env.get("DATABASE_URL");

type Sql = ReturnType<typeof postgres>;

/** One connection, so `begin` ... `commit` on it is one transaction; a claim that blocked on a
 * locked row instead of skipping it would hit the lock timeout and fail. */
function connect(name: string): Sql {
  return postgres(url!, {
    max: 1,
    onnotice: () => {},
    connection: {
      application_name: `adrail-test-${name}`,
      statement_timeout: 5000,
      lock_timeout: 5000,
    },
  });
}

Deno.test({
  name: "crash cap: two claimers at once stop a crash-looping job once, and neither gets it",
  ignore: !url,
  async fn() {
    const admin = connect("crash-admin");
    const a = connect("crash-claimer-a");
    const b = connect("crash-claimer-b");
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    let userId: string | undefined;
    try {
      const [user] = await admin`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`crash-${runId}@test.adrail`})
        returning id`;
      userId = user.id;
      const [account] = await admin`
        insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
        values (${user.id}, ${`act_${runId}`}, 'ciphertext') returning id`;
      await admin`
        insert into public.ad_account_members (ad_account_id, user_id, role)
        values (${account.id}, ${user.id}, 'owner')`;
      const [looping] = await admin`
        select (public.create_campaign_creation_job(
          ${user.id}, ${account.id}, ${`crash ${runId} looping`}, 1, 0, '{}'::jsonb, 'h')).id`;
      const [next] = await admin`
        select (public.create_campaign_creation_job(
          ${user.id}, ${account.id}, ${`crash ${runId} next`}, 1, 0, '{}'::jsonb, 'h')).id`;
      const loopingId = Number(looping.id);
      const nextId = Number(next.id);
      await admin`
        update public.campaign_creation_jobs set status = 'verifying' where id = ${loopingId}`;
      await admin`
        update public.campaign_creation_jobs set status = 'in_progress' where id = ${loopingId}`;
      // Claimed once already, its worker died: the next claim is its 2nd without progress (limit
      // 2). Both jobs are due before anything else in the table (the claim is not per account).
      await admin`
        update public.campaign_creation_jobs
        set crash_claim_limit = 2, claims_without_progress = 1, next_run_at = '-infinity'
        where id = ${loopingId}`;
      await admin`
        update public.campaign_creation_jobs set next_run_at = '-infinity' where id = ${nextId}`;

      await a`begin`;
      await b`begin`;
      try {
        const [claimedA] = await a`
          select id from public.claim_campaign_creation_job(${`crash-a-${runId}`})`;
        assert.equal(
          Number(claimedA?.id),
          nextId,
          "A stops the looping job and gets the next due one instead",
        );
        const claimedB = await b`
          select id from public.claim_campaign_creation_job(${`crash-b-${runId}`})`;
        assert.ok(
          !claimedB.some((r) => [loopingId, nextId].includes(Number(r.id))),
          "B, while A's transaction is open, gets neither job (skip locked), and stops nothing",
        );
        await b`rollback`;
        await a`commit`;
      } catch (error) {
        await Promise.all([a`rollback`.catch(() => {}), b`rollback`.catch(() => {})]);
        throw error;
      }

      const [job] = await admin`
        select status, last_error, rollback_reason, claims_without_progress, locked_by,
               jsonb_array_length(error_history) as history
        from public.campaign_creation_jobs where id = ${loopingId}`;
      assert.deepEqual({ ...job }, {
        status: "rolling_back",
        last_error: "worker crashed 1 time",
        rollback_reason: "worker crashed 1 time",
        claims_without_progress: 0,
        locked_by: null,
        history: 1,
      }, "the job was stopped once: one entry in its history");

      await admin`
        update public.campaign_creation_jobs set next_run_at = '-infinity' where id = ${loopingId}`;
      await b`begin`;
      const [claimedAgain] = await b`
        select id, status, claims_without_progress
        from public.claim_campaign_creation_job(${`crash-b2-${runId}`})`;
      await (Number(claimedAgain?.id) === loopingId ? b`commit` : b`rollback`);
      assert.deepEqual(
        [Number(claimedAgain?.id), claimedAgain?.status, claimedAgain?.claims_without_progress],
        [loopingId, "rolling_back", 1],
        "after A's commit the rollback is handed out, with a count of its own",
      );
    } finally {
      try {
        if (userId) await admin`delete from auth.users where id = ${userId}`;
      } finally {
        await Promise.all([admin.end(), a.end(), b.end()]);
      }
    }
  },
});
