// complete_final_sync is one transaction, seen from another connection: a call that fails midway
// (autocommit, as a worker makes it) leaves nothing committed; a call that succeeds commits the
// metrics, the completed log row and the entity stamp together.
//
// Runs against $DATABASE_URL; seeds its own auth user and ad account (ids unique to this run),
// never assumes empty tables, and deletes what it made.
import postgres from "postgres";
import assert from "node:assert/strict";

const url = Deno.env.get("DATABASE_URL");

function connect(): ReturnType<typeof postgres> {
  return postgres(url!, { max: 1, onnotice: () => {}, connection: { statement_timeout: 5000 } });
}

Deno.test({
  name: "complete_final_sync: a failed call commits nothing, a successful one commits everything",
  ignore: !url,
  async fn() {
    const worker = connect();
    const observer = connect();
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const adId = `fsa-${runId}`;
    let userId: string | undefined;
    try {
      const [user] = await observer`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`final-sync-${runId}@test.adrail`}) returning id`;
      userId = user.id;
      const [account] = await observer`
        insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
        values (${user.id}, ${`act_${runId}`}, 'ciphertext') returning id`;
      await observer`
        insert into public.ads (ad_account_id, platform_ad_id, name, status) values (${account.id}, ${adId}, 'ad', 'ACTIVE')`;
      await observer`update public.ads set status = 'PAUSED' where platform_ad_id = ${adId}`;

      const claimed = await worker`select id from public.claim_final_syncs(${
        "w-" + runId
      }, ${account.id})`;
      assert.equal(claimed.length, 1, "the worker claims the one pending final sync");
      const logId = claimed[0].id;

      const state = async () => {
        const [row] = await observer`
          select l.final_sync_completed, l.final_sync_attempts, l.locked_by,
                 (select count(*)::int from public.ad_metrics_daily m
                  where m.entity_type = 'ad' and m.platform_entity_id = ${adId}) as metric_rows,
                 (select a.last_final_sync_at is not null from public.ads a where a.platform_ad_id = ${adId}) as stamped
          from public.ad_status_change_log l where l.id = ${logId}`;
        return { ...row };
      };

      const bad = [
        { date: "2026-11-20", impressions: 100, spend: 2.5 },
        { date: "2026-11-21", impressions: -1 },
      ];
      await assert.rejects(
        () =>
          worker`select public.complete_final_sync(${logId}, ${worker.json(bad)}, ${"w-" + runId})`,
        (e: unknown) => {
          assert.equal(
            (e as { code?: string }).code,
            "23514",
            "the check violation comes back as SQLSTATE 23514",
          );
          return true;
        },
      );
      assert.deepEqual(
        await state(),
        {
          final_sync_completed: false,
          final_sync_attempts: 0,
          locked_by: `w-${runId}`,
          metric_rows: 0,
          stamped: false,
        },
        "after the failed call nothing is committed: no metrics (not even the valid day), log pending and claimed, no stamp",
      );

      const good = [
        { date: "2026-11-20", impressions: 100, spend: 2.5 },
        { date: "2026-11-21", impressions: 40 },
      ];
      await worker`select public.complete_final_sync(${logId}, ${worker.json(good)}, ${
        "w-" + runId
      })`;
      assert.deepEqual(
        await state(),
        {
          final_sync_completed: true,
          final_sync_attempts: 1,
          locked_by: null,
          metric_rows: 2,
          stamped: true,
        },
        "after the successful call everything is committed together",
      );

      await assert.rejects(
        () =>
          worker`select public.complete_final_sync(${logId}, ${worker.json(good)}, ${
            "w-" + runId
          })`,
        (e: unknown) => {
          assert.equal(
            (e as { code?: string }).code,
            "ADR02",
            "the released claim cannot complete it again (ADR02)",
          );
          return true;
        },
      );
    } finally {
      try {
        if (userId) await observer`delete from auth.users where id = ${userId}`;
      } finally {
        await Promise.all([worker.end(), observer.end()]);
      }
    }
  },
});
