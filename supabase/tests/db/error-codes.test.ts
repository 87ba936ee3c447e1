// adrail's SQLSTATEs reach TypeScript intact, through the functions' own pool, so callers can
// branch on DbErrorCode instead of parsing messages.
import assert from "node:assert/strict";
import { closeDb, db, DbErrorCode, sqlState } from "../../functions/_shared/platform/db.ts";
import { databaseUrl } from "../_support/stack.ts";

async function stateOf(query: Promise<unknown>): Promise<string | undefined> {
  try {
    await query;
  } catch (error) {
    return sqlState(error);
  }
  return undefined;
}

Deno.test("each adrail error code arrives as DbErrorCode", async () => {
  Deno.env.set("SUPABASE_DB_URL", databaseUrl());
  const sql = db();
  try {
    await sql.begin(async (tx) => {
      // The active-jobs limit is checked at the commit: here at each statement's end instead.
      await tx`set constraints enforce_active_job_limits immediate`;
      const [user] =
        await tx`insert into auth.users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@codes.test') returning id`;
      const [account] = await tx`
        insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
        values (${user.id}, ${`act_${Date.now()}`}, 'x') returning id, platform_account_id`;
      await tx`
        insert into public.ad_account_members (ad_account_id, user_id, role)
        values (${account.id}, ${user.id}, 'owner')`;
      const [job] = await tx`
        select (public.create_campaign_creation_job(${user.id}, ${account.id}, 'codes', 1, 1, '{}', 'h', 'codes-key', 'auto', 0)).id`;

      const attempt = (statement: () => Promise<unknown>) => tx.savepoint(statement);
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`update public.campaign_creation_jobs set status = 'completed' where id = ${job.id}`
          ),
        ),
        DbErrorCode.illegalTransition,
      );
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.transition_campaign_creation_job(${job.id}, 'nobody', 'verifying')`
          ),
        ),
        DbErrorCode.notClaimant,
      );
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.create_campaign_creation_job(${user.id}, ${account.id}, 'codes', 1, 1, '{}', 'other', 'codes-key')`
          ),
        ),
        DbErrorCode.idempotencyConflict,
      );
      assert.equal(
        await stateOf(attempt(() => tx`select public.mark_final_sync_completed(-1, true)`)),
        DbErrorCode.notFound,
      );
      const [viewer, outsider] = await tx`
        insert into auth.users (id, email)
        select gen_random_uuid(), gen_random_uuid() || '@codes.test' from generate_series(1, 2)
        returning id`;
      await tx`
        insert into public.ad_account_members (ad_account_id, user_id, role)
        values (${account.id}, ${viewer.id}, 'viewer')`;
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.set_ad_account_member(${account.id}, ${viewer.id}, ${viewer.id}, 'owner')`
          ),
        ),
        DbErrorCode.roleForbids,
      );
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.connect_ad_account(${outsider.id}, 'facebook', ${account.platform_account_id}, 'x', null, 1, 'x', null)`
          ),
        ),
        DbErrorCode.connectedByOthers,
      );
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.remove_ad_account_member(${account.id}, ${user.id}, ${user.id})`
          ),
        ),
        DbErrorCode.lastOwner,
      );
      // The budget guard: a launch of 2 ad sets at 500 reserves 1000.
      const budget = (name: string) =>
        tx`select public.create_campaign_creation_job(${user.id}, ${account.id}, ${name}, 2, 0,
             '{"adSets": {"count": 2, "template": {"daily_budget": 500}}}', 'h')`;
      await budget("codes budget");
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.set_ad_account_settings(${account.id}, ${user.id}, true, 999)`
          ),
        ),
        DbErrorCode.capBelowReserved,
      );
      await tx`select public.set_ad_account_settings(${account.id}, ${user.id}, true, 1000)`;
      assert.equal(
        await stateOf(attempt(() => budget("codes over"))),
        DbErrorCode.budgetCapExceeded,
      );
      assert.equal(
        await stateOf(attempt(() => tx`update public.budget_ledger set amount = 0`)),
        DbErrorCode.ledgerAppendOnly,
      );
      assert.equal(
        await stateOf(
          attempt(() => tx`select public.approve_campaign_creation_job(${job.id}, ${user.id})`),
        ),
        DbErrorCode.ownApproval,
      );
      const [launcher] = await tx`
        insert into auth.users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@codes.test')
        returning id`;
      await tx`
        insert into public.ad_account_members (ad_account_id, user_id, role)
        values (${account.id}, ${launcher.id}, 'launcher')`;
      const [waiting] = await tx`
        select (public.create_campaign_creation_job(${launcher.id}, ${account.id}, 'codes waits', 1, 0, '{}', 'h')).id`;
      await tx`select public.reject_campaign_creation_job(${waiting.id}, ${user.id}, 'no')`;
      assert.equal(
        await stateOf(
          attempt(() => tx`select public.approve_campaign_creation_job(${waiting.id}, ${user.id})`),
        ),
        DbErrorCode.approvalConflict,
      );
      await tx`
        insert into public.adrail_limits (action, scope, ad_account_id, quota)
        values ('active_jobs', 'account', ${account.id}, 1)`;
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.create_campaign_creation_job(${user.id}, ${account.id}, 'codes 2', 1, 1, '{}', 'h')`
          ),
        ),
        DbErrorCode.limitReached,
      );
      await tx`update public.campaign_creation_jobs set next_run_at = '-infinity' where id = ${job.id}`;
      const [claim] =
        await tx`select id, locked_by from public.claim_campaign_creation_job(${"codes-worker"})`;
      assert.equal(claim.id, job.id);
      assert.equal(
        await stateOf(
          attempt(() =>
            tx`select public.consume_campaign_creation_job_retry(${job.id}, 'codes-worker', 'boom')`
          ),
        ),
        DbErrorCode.retryBudgetExhausted,
      );
      await tx`
        insert into public.ads (ad_account_id, platform_ad_id, name, status)
        values (${account.id}, ${`codes-ad-${job.id}`}, 'ad', 'ACTIVE')`;
      await tx`update public.ads set status = 'PAUSED' where ad_account_id = ${account.id}`;
      const [change] = await tx`
        select id from public.ad_status_change_log where ad_account_id = ${account.id}`;
      assert.equal(
        await stateOf(
          attempt(() => tx`select public.record_attribution_tail_read(${change.id}, '[]', null)`),
        ),
        DbErrorCode.noOpenTail,
        "no tail before the final sync is done",
      );
      throw new Error("rollback");
    }).catch((error) => {
      if (error.message !== "rollback") throw error;
    });
  } finally {
    await closeDb();
  }
});
