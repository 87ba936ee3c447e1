// Final-sync writes are fenced on the claimant, seen from two worker connections: worker A claims a
// final sync with a short lease, the lease runs out, worker B claims the row; A's writes
// (complete_final_sync, mark_final_sync_completed with its token) are refused with ADR02 and
// write nothing, B's complete_final_sync succeeds. Then the same through processAllPendingFinalSyncs
// (the functions' code, metrics from an in-test fetcher): a row taken over while the run read its metrics is left alone
// (logged, reported as claimLost, never thrown), the run's other row is completed.
//
// Runs against $DATABASE_URL; seeds its own auth user and ad account (ids unique to this run),
// never assumes empty tables, and deletes what it made.
import postgres from "postgres";
import assert from "node:assert/strict";
import {
  type MetricsFetcher,
  processAllPendingFinalSyncs,
} from "../../functions/_shared/sync/atomic-status-handler.ts";
import { closeDb } from "../../functions/_shared/platform/db.ts";

const url = Deno.env.get("DATABASE_URL");

function connect(name: string): ReturnType<typeof postgres> {
  return postgres(url!, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: `adrail-test-${name}`, statement_timeout: 5000 },
  });
}

async function sqlStateOf(query: Promise<unknown>): Promise<string | undefined> {
  try {
    await query;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

Deno.test({
  name: "final sync: a zombie whose claim was taken over writes nothing; the new claimant does",
  ignore: !url,
  async fn() {
    const a = connect("final-sync-a");
    const b = connect("final-sync-b");
    const observer = connect("final-sync-observer");
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const adId = `fsf-${runId}`;
    const workerA = `final-sync:a-${runId}`;
    const workerB = `final-sync:b-${runId}`;
    let userId: string | undefined;
    try {
      const [user] = await observer`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`fence-${runId}@test.adrail`})
        returning id`;
      userId = user.id;
      const [account] = await observer`
        insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
        values (${user.id}, ${`act_${runId}`}, 'ciphertext') returning id`;
      await observer`
        insert into public.ads (ad_account_id, platform_ad_id, name, status)
        values (${account.id}, ${adId}, 'ad', 'ACTIVE')`;
      await observer`update public.ads set status = 'PAUSED' where platform_ad_id = ${adId}`;

      const state = async () => {
        const [row] = await observer`
          select l.final_sync_completed, l.final_sync_attempts, l.final_sync_error, l.locked_by,
                 (select count(*)::int from public.ad_metrics_daily m
                  where m.ad_account_id = l.ad_account_id and m.entity_type = 'ad'
                    and m.platform_entity_id = l.platform_entity_id) as metric_rows,
                 (select a.last_final_sync_at is not null from public.ads a where a.id = l.entity_id) as stamped
          from public.ad_status_change_log l where l.id = ${logId}`;
        return { ...row };
      };

      // Worker A claims with a one-second lease, then stalls past it.
      const claimedA = await a`
        select id from public.claim_final_syncs(${workerA}, ${account.id}, 10, 1)`;
      assert.equal(claimedA.length, 1, "A claims the one final sync owed");
      const logId = claimedA[0].id;
      await new Promise((resolve) => setTimeout(resolve, 1200));

      const claimedB = await b`
        select id, locked_by from public.claim_final_syncs(${workerB}, ${account.id}, 10, 300)`;
      assert.deepEqual(
        claimedB.map((r) => [r.id, r.locked_by]),
        [[logId, workerB]],
        "B takes the expired claim over",
      );

      const metrics = [
        { date: "2026-11-20", impressions: 100, spend: 2.5 },
        { date: "2026-11-21", impressions: 40 },
      ];
      assert.equal(
        await sqlStateOf(
          a`select public.complete_final_sync(${logId}, ${a.json(metrics)}, ${workerA})`,
        ),
        "ADR02",
        "A's complete_final_sync is refused: not the claimant",
      );
      assert.equal(
        await sqlStateOf(
          a`select public.mark_final_sync_completed(${logId}, false, 'late failure', ${workerA})`,
        ),
        "ADR02",
        "A's mark_final_sync_completed is refused too",
      );
      assert.equal(
        await sqlStateOf(a`select public.mark_final_sync_completed(${logId}, false, 'by hand')`),
        "ADR02",
        "the form without a token cannot clear B's live claim either",
      );
      assert.deepEqual(
        await state(),
        {
          final_sync_completed: false,
          final_sync_attempts: 0,
          final_sync_error: null,
          locked_by: workerB,
          metric_rows: 0,
          stamped: false,
        },
        "A wrote nothing: no metrics, no stamp, log row pending and claimed by B",
      );

      const [done] = await b`
        select final_sync_completed, locked_by
        from public.complete_final_sync(${logId}, ${b.json(metrics)}, ${workerB})`;
      assert.deepEqual({ ...done }, { final_sync_completed: true, locked_by: null });
      assert.deepEqual(
        await state(),
        {
          final_sync_completed: true,
          final_sync_attempts: 1,
          final_sync_error: null,
          locked_by: null,
          metric_rows: 2,
          stamped: true,
        },
        "B's final sync is committed whole: metrics, completed log row, stamp",
      );
    } finally {
      try {
        if (userId) await observer`delete from auth.users where id = ${userId}`;
      } finally {
        await Promise.all([a.end(), b.end(), observer.end()]);
      }
    }
  },
});

Deno.test({
  name:
    "processAllPendingFinalSyncs: a row another run took over mid-run is left alone, not thrown",
  ignore: !url,
  async fn() {
    const other = connect("final-sync-other");
    const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const lostAd = `fsl-${runId}-lost`;
    const keptAd = `fsl-${runId}-kept`;
    let userId: string | undefined;
    Deno.env.set("SUPABASE_DB_URL", url!);
    try {
      const [user] = await other`
        insert into auth.users (id, email) values (gen_random_uuid(), ${`lost-${runId}@test.adrail`})
        returning id`;
      userId = user.id;
      const [account] = await other`
        insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
        values (${user.id}, ${`act_${runId}`}, 'ciphertext') returning id`;
      await other`
        insert into public.ads (ad_account_id, platform_ad_id, name, status)
        values (${account.id}, ${lostAd}, 'lost', 'ACTIVE'), (${account.id}, ${keptAd}, 'kept', 'ACTIVE')`;
      await other`update public.ads set status = 'PAUSED' where ad_account_id = ${account.id}`;

      // The platform, in the test: while the run reads the metrics, its claim on lostAd's row
      // runs out and another run takes the row over.
      const fetcher: MetricsFetcher = {
        platform: "facebook",
        batchSize: 50,
        fetch: async (requests) => {
          await other`
            update public.ad_status_change_log set locked_until = now() - interval '1 second'
            where ad_account_id = ${account.id} and platform_entity_id = ${lostAd}`;
          const taken = await other`
            select platform_entity_id from public.claim_final_syncs(${`other-${runId}`}, ${account.id})`;
          assert.deepEqual(taken.map((r) => r.platform_entity_id), [lostAd]);
          return requests.map(() => ({
            ok: true,
            data: [{
              date: "2026-11-20",
              impressions: 7,
              clicks: 0,
              spend: 0,
              reach: 0,
              conversions: 0,
              actions: [],
            }],
          }));
        },
      };

      const report = await processAllPendingFinalSyncs({
        adAccountId: account.id,
        fetcherFor: () => Promise.resolve(fetcher),
        lookbackDays: 7,
      });
      assert.equal(report.claimed, 2);
      assert.equal(report.completed, 1);
      const byAd = new Map(report.outcomes.map((o) => [o.platformEntityId, o]));
      assert.deepEqual(
        { ...byAd.get(lostAd), logId: 0 },
        {
          logId: 0,
          entityType: "ad",
          platformEntityId: lostAd,
          completed: false,
          error: "claim lost to another run",
          claimLost: true,
        },
      );
      assert.equal(byAd.get(keptAd)?.completed, true);

      const rows = await other`
        select l.platform_entity_id, l.final_sync_completed, l.final_sync_attempts, l.locked_by,
               (select count(*)::int from public.ad_metrics_daily m
                where m.ad_account_id = l.ad_account_id and m.platform_entity_id = l.platform_entity_id) as metric_rows
        from public.ad_status_change_log l
        where l.ad_account_id = ${account.id} and l.requires_final_sync order by l.platform_entity_id`;
      assert.deepEqual(rows.map((r) => ({ ...r })), [
        {
          platform_entity_id: keptAd,
          final_sync_completed: true,
          final_sync_attempts: 1,
          locked_by: null,
          metric_rows: 1,
        },
        {
          platform_entity_id: lostAd,
          final_sync_completed: false,
          final_sync_attempts: 0,
          locked_by: `other-${runId}`,
          metric_rows: 0,
        },
      ], "the lost row: nothing written, still the other run's; the kept row: completed");
    } finally {
      try {
        if (userId) await other`delete from auth.users where id = ${userId}`;
      } finally {
        await Promise.all([other.end(), closeDb()]);
      }
    }
  },
});
