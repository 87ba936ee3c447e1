// Concurrency of the claim functions, on two real connections: two claimers, each inside an open
// transaction, claiming at the same time never get the same final-sync log row or creation job
// (FOR UPDATE SKIP LOCKED); and a worker whose lease was taken over can no longer write (ADR02).
//
// Runs against $DATABASE_URL (set by `deno task test`). It seeds its own auth user, ad account,
// log rows and jobs with ids unique to this run, never assumes the tables are empty, and deletes
// everything it made at the end.
import postgres from "postgres";
import assert from "node:assert/strict";

const url = Deno.env.get("DATABASE_URL");

type Sql = ReturnType<typeof postgres>;

/** One connection, so `begin` ... `commit` on it is one transaction. A claim that blocked
 * instead of skipping a locked row would hang: the statement timeout turns that into a failure. */
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

interface Seed {
  runId: string;
  userId: string;
  accountId: string;
  logIds: number[];
  jobIds: number[];
}

async function seed(admin: Sql): Promise<Seed> {
  const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const [user] = await admin`
    insert into auth.users (id, email, raw_user_meta_data)
    values (gen_random_uuid(), ${`claims-${runId}@test.adrail`}, '{"test": "claims-concurrency"}')
    returning id`;
  const [account] = await admin`
    insert into public.ad_accounts (user_id, platform_account_id, name, account_status, access_token_ciphertext)
    values (${user.id}, ${`act_${runId}`}, 'claims concurrency', 1, 'ciphertext')
    returning id`;
  await admin`
    insert into public.ad_account_members (ad_account_id, user_id, role) values (${account.id}, ${user.id}, 'owner')`;

  // 20 campaigns leave ACTIVE: the status trigger writes 20 log rows owing a final sync.
  await admin`
    insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status)
    select ${account.id}, ${`cc-${runId}-`} || i, 'campaign ' || i, 'ACTIVE' from generate_series(1, 20) i`;
  await admin`update public.ad_campaigns set status = 'PAUSED' where ad_account_id = ${account.id}`;
  const logs = await admin`
    select id from public.ad_status_change_log
    where ad_account_id = ${account.id} and requires_final_sync and not final_sync_completed order by id`;

  // 5 jobs, due before anything else in the table (next_run_at = -infinity): the job claim is
  // not per account, so this is what makes the claimers reach this run's jobs first.
  const jobs = await admin`
    select (public.create_campaign_creation_job(
      ${user.id}, ${account.id}, ${`cc ${runId} `} || i, 1, 1, '{}'::jsonb, 'hash')).id
    from generate_series(1, 5) i`;
  const jobIds = jobs.map((r) => Number(r.id));
  await admin`update public.campaign_creation_jobs set next_run_at = '-infinity' where id = any(${jobIds})`;

  return {
    runId,
    userId: user.id,
    accountId: account.id,
    logIds: logs.map((r) => Number(r.id)),
    jobIds,
  };
}

async function cleanup(admin: Sql, s: Seed | undefined) {
  if (!s) return;
  // Cascades: ad account -> campaigns, log rows, jobs -> slots.
  await admin`delete from auth.users where id = ${s.userId}`;
}

/** One claim, committed only if it got this run's job: a claim on another run's job (one due
 * even earlier) is rolled back, never kept. */
async function claimIfOwn(sql: Sql, worker: string, leaseSeconds: number, jobId: number) {
  await sql`begin`;
  try {
    const [row] = await sql`
      select id, locked_by, claim_count from public.claim_campaign_creation_job(${worker}, ${leaseSeconds})`;
    await (row && Number(row.id) === jobId ? sql`commit` : sql`rollback`);
    return row;
  } catch (e) {
    await sql`rollback`.catch(() => {});
    throw e;
  }
}

function errorCode(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

Deno.test({
  name:
    "claims: concurrent claimers never share a log row or a job; a superseded worker cannot write",
  ignore: !url,
  async fn(t) {
    const admin = connect("admin");
    const a = connect("claimer-a");
    const b = connect("claimer-b");
    let s: Seed | undefined;
    try {
      s = await seed(admin);
      const seeded = s;
      assert.equal(seeded.logIds.length, 20, "the status trigger wrote 20 log rows to claim");

      await t.step(
        "claim_final_syncs: two open transactions claim disjoint rows, together all of them",
        async () => {
          const wa = `wa-${seeded.runId}`;
          const wb = `wb-${seeded.runId}`;
          const gotA: number[] = [];
          const gotB: number[] = [];
          await a`begin`;
          await b`begin`;
          try {
            for (let round = 0; round < 30; round++) {
              const [ra, rb] = await Promise.all([
                a`select id from public.claim_final_syncs(${wa}, ${seeded.accountId}, 3, 300)`,
                b`select id from public.claim_final_syncs(${wb}, ${seeded.accountId}, 3, 300)`,
              ]);
              gotA.push(...ra.map((r) => Number(r.id)));
              gotB.push(...rb.map((r) => Number(r.id)));
              if (ra.length === 0 && rb.length === 0) break;
            }
            await a`commit`;
            await b`commit`;
          } catch (e) {
            await Promise.allSettled([a`rollback`, b`rollback`]);
            throw e;
          }

          const overlap = gotA.filter((id) => gotB.includes(id));
          assert.deepEqual(overlap, [], "no log row was claimed by both");
          assert.equal(new Set(gotA).size, gotA.length, "claimer A got no row twice");
          assert.equal(new Set(gotB).size, gotB.length, "claimer B got no row twice");
          assert.ok(
            gotA.length > 0 && gotB.length > 0,
            `both claimers got rows (A ${gotA.length}, B ${gotB.length})`,
          );
          assert.deepEqual(
            [...gotA, ...gotB].sort((x, y) => x - y),
            seeded.logIds,
            "together they claimed every row",
          );

          const stored = await admin`
          select id, locked_by from public.ad_status_change_log where id = any(${seeded.logIds}) order by id`;
          for (const row of stored) {
            assert.equal(
              row.locked_by,
              gotA.includes(Number(row.id)) ? wa : wb,
              `row ${row.id} is held by its claimer`,
            );
          }
        },
      );

      await t.step(
        "claim_campaign_creation_job: two open transactions claim disjoint jobs, together all of them",
        async () => {
          const mine = new Set(seeded.jobIds);
          const gotA: number[] = [];
          const gotB: number[] = [];
          const all: number[] = [];
          let aDone = false;
          let bDone = false;
          await a`begin`;
          await b`begin`;
          try {
            // Claim until nothing due is left. Jobs of other runs may be due too: they are claimed
            // along the way (and checked for overlap as well), and the rollback below undoes it all.
            for (let round = 0; round < 2000 && !(aDone && bDone); round++) {
              const none: postgres.Row[] = [];
              const [ra, rb] = await Promise.all([
                aDone
                  ? none
                  : a`select id from public.claim_campaign_creation_job(${
                    "ja-" + seeded.runId
                  }, 300)`,
                bDone
                  ? none
                  : b`select id from public.claim_campaign_creation_job(${
                    "jb-" + seeded.runId
                  }, 300)`,
              ]);
              if (ra.length) all.push(Number(ra[0].id));
              else aDone = true;
              if (rb.length) all.push(Number(rb[0].id));
              else bDone = true;
              if (ra.length && mine.has(Number(ra[0].id))) gotA.push(Number(ra[0].id));
              if (rb.length && mine.has(Number(rb[0].id))) gotB.push(Number(rb[0].id));
            }
            assert.ok(aDone && bDone, "the claimers ran out of due jobs");
          } finally {
            // Roll back: no claim made here, on this run's jobs or anyone else's, survives.
            await Promise.allSettled([a`rollback`, b`rollback`]);
          }

          assert.equal(
            new Set(all).size,
            all.length,
            "no job (of this run or any other) was claimed twice",
          );
          assert.deepEqual(
            gotA.filter((id) => gotB.includes(id)),
            [],
            "no job was claimed by both",
          );
          assert.ok(
            gotA.length > 0 && gotB.length > 0,
            `both claimers got jobs (A ${gotA.length}, B ${gotB.length})`,
          );
          assert.deepEqual(
            [...gotA, ...gotB].sort((x, y) => x - y),
            seeded.jobIds,
            "together they claimed every job, once",
          );
        },
      );

      await t.step(
        "a worker whose lease expired and was taken over gets ADR02 on every write",
        async () => {
          const [job, ...others] = seeded.jobIds;
          await admin`update public.campaign_creation_jobs set next_run_at = 'infinity' where id = any(${others})`;
          const wa = `old-${seeded.runId}`;
          const wb = `new-${seeded.runId}`;

          const claimedA = await claimIfOwn(a, wa, 1, job);
          assert.equal(
            Number(claimedA?.id),
            job,
            `worker A claims the job with a 1 s lease (got ${
              claimedA?.id ?? "none"
            }: a job of another run with ` +
              "next_run_at = -infinity would come first; its claim was rolled back)",
          );
          const heldByB = await claimIfOwn(b, wb, 300, job);
          assert.notEqual(Number(heldByB?.id), job, "while A's lease runs, B cannot claim the job");

          await new Promise((resolve) => setTimeout(resolve, 1200));
          const claimedB = await claimIfOwn(b, wb, 300, job);
          assert.equal(
            Number(claimedB?.id),
            job,
            "after the lease expired, worker B takes the job over",
          );
          assert.equal(claimedB?.claim_count, 2);

          const writes: Array<[string, () => Promise<unknown>]> = [
            [
              "transition",
              () => a`select public.transition_campaign_creation_job(${job}, ${wa}, 'verifying')`,
            ],
            [
              "extend lease",
              () => a`select public.extend_campaign_creation_job_lease(${job}, ${wa}, 60)`,
            ],
            ["release", () => a`select public.release_campaign_creation_job(${job}, ${wa})`],
            [
              "consume retry",
              () => a`select public.consume_campaign_creation_job_retry(${job}, ${wa}, 'late')`,
            ],
          ];
          for (const [what, write] of writes) {
            await assert.rejects(write, (e: unknown) => {
              assert.equal(
                errorCode(e),
                "ADR02",
                `${what} by the superseded worker: SQLSTATE ADR02`,
              );
              return true;
            });
          }

          const [after] = await admin`
          select status, locked_by, retry_count from public.campaign_creation_jobs where id = ${job}`;
          assert.deepEqual(
            { ...after },
            { status: "pending", locked_by: wb, retry_count: 0 },
            "A's writes changed nothing",
          );

          const [moved] =
            await b`select status, locked_by from public.transition_campaign_creation_job(${job}, ${wb}, 'verifying')`;
          assert.deepEqual(
            { ...moved },
            { status: "verifying", locked_by: wb },
            "the new claimant can write",
          );
        },
      );
    } finally {
      try {
        await cleanup(admin, s);
      } finally {
        await Promise.all([a.end(), b.end(), admin.end()]);
      }
    }
    const [left] = await (async () => {
      const check = connect("check");
      try {
        return await check`select count(*)::int as n from public.ad_accounts where id = ${
          s?.accountId ?? null
        }`;
      } finally {
        await check.end();
      }
    })();
    assert.equal(left.n, 0, "the run's data was cleaned up");
  },
});
