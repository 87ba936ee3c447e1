// The status names in supabase/functions/_shared/creation/job-states.ts, checked against SQL:
// jobStatuses and slotStatuses name exactly the statuses private.state_transitions knows for the
// machines campaign_creation_job and entity_creation_slot (none missing, none extra), and
// runnableJobStatuses are exactly the statuses claim_campaign_creation_job hands out and
// next_creation_job_due_at waits for, found by behaviour: one job per status, moved there along
// legal transitions, then claimed.
//
// Runs against $DATABASE_URL, inside one transaction that is rolled back: nothing is left behind.
import postgres from "postgres";
import assert from "node:assert/strict";
import {
  jobStatuses,
  runnableJobStatuses,
  slotStatuses,
} from "../../functions/_shared/creation/job-states.ts";

const url = Deno.env.get("DATABASE_URL");

type Transition = { from_status: string | null; to_status: string; actor: string };

function connect(): ReturnType<typeof postgres> {
  return postgres(url!, { max: 1, onnotice: () => {}, connection: { statement_timeout: 10000 } });
}

function statusesOf(transitions: Transition[]): string[] {
  const all = transitions.flatMap((t) => [t.from_status, t.to_status]);
  return [...new Set(all.filter((s): s is string => s !== null))].sort();
}

function sorted(list: readonly string[]): string[] {
  return [...list].sort();
}

/** Shortest legal path from an initial status to every status (breadth first), with its start. */
function pathsFromStart(transitions: Transition[]): Map<string, string[]> {
  const starts = transitions.filter((t) => t.from_status === null).map((t) => t.to_status);
  const paths = new Map<string, string[]>(starts.map((start) => [start, [start]]));
  const queue = [...starts];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const t of transitions.filter((t) => t.from_status === from)) {
      if (paths.has(t.to_status)) continue;
      paths.set(t.to_status, [...paths.get(from)!, t.to_status]);
      queue.push(t.to_status);
    }
  }
  return paths;
}

/** Rolls the transaction back once fn is done (or failed). */
class Rollback extends Error {}
async function inRolledBackTransaction(
  sql: ReturnType<typeof postgres>,
  fn: (tx: postgres.TransactionSql) => Promise<void>,
) {
  await sql.begin(async (tx) => {
    await fn(tx);
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
}

Deno.test({
  name: "job-states.ts names exactly the statuses of the SQL state machines and claim",
  ignore: !url,
  async fn(t) {
    const sql = connect();
    try {
      const transitions = async (machine: string) =>
        await sql<Transition[]>`
          select from_status, to_status, actor from private.state_transitions where machine = ${machine}`;
      const jobMachine = await transitions("campaign_creation_job");
      const slotMachine = await transitions("entity_creation_slot");

      await t.step("jobStatuses = the statuses of machine campaign_creation_job", () => {
        assert.equal(new Set(jobStatuses).size, jobStatuses.length, "no status listed twice");
        assert.deepEqual(sorted(jobStatuses), statusesOf(jobMachine));
      });

      await t.step("slotStatuses = the statuses of machine entity_creation_slot", () => {
        assert.equal(new Set(slotStatuses).size, slotStatuses.length, "no status listed twice");
        assert.deepEqual(sorted(slotStatuses), statusesOf(slotMachine));
      });

      await t.step("runnableJobStatuses = the statuses the claim hands out", async () => {
        assert.equal(
          new Set(runnableJobStatuses).size,
          runnableJobStatuses.length,
          "no status listed twice",
        );
        const paths = pathsFromStart(jobMachine);
        assert.deepEqual(
          sorted([...paths.keys()]),
          statusesOf(jobMachine),
          "every status is reachable from an initial one",
        );

        await inRolledBackTransaction(sql, async (tx) => {
          const runId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
          const user = async (name: string) =>
            (await tx`
              insert into auth.users (id, email) values (gen_random_uuid(), ${`${name}-${runId}@test.adrail`})
              returning id`)[0].id as string;
          const owner = await user("states-owner");
          const launcher = await user("states-launcher");
          const [account] = await tx`
            insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
            values (${owner}, ${`act_${runId}`}, 'ciphertext') returning id`;
          await tx`
            insert into public.ad_account_members (ad_account_id, user_id, role)
            values (${account.id}, ${owner}, 'owner'), (${account.id}, ${launcher}, 'launcher')`;
          // The launcher's launches wait for approval; the owner's do not.
          await tx`
            insert into public.ad_account_settings (ad_account_id, requires_approval)
            values (${account.id}, true)`;

          // One job per status, launched into its initial status, then moved one legal step at a
          // time by the step's actor (the trigger checks each): the worker, the requester for a
          // member's move, the owner for an approval decision.
          const jobOf = new Map<string, number>();
          for (const [status, [start, ...steps]] of paths) {
            const requester = start === "awaiting_approval" ? launcher : owner;
            const [job] = await tx`
              select (public.create_campaign_creation_job(
                ${requester}, ${account.id}, ${`states ${status}`}, 1, 0, '{}'::jsonb, 'h')).id`;
            let from = start;
            for (const step of steps) {
              const { actor } = jobMachine.find((t) =>
                t.from_status === from && t.to_status === step
              )!;
              const acting = actor === "worker" ? "" : actor === "approve" ? owner : requester;
              await tx`select set_config('adrail.acting_user', ${acting}, true)`;
              await tx`update public.campaign_creation_jobs set status = ${step} where id = ${job.id}`;
              await tx`select set_config('adrail.acting_user', '', true)`;
              from = step;
            }
            jobOf.set(status, Number(job.id));
          }
          const ours = [...jobOf.values()];

          // Due before anything else in the table: the claim is not per account.
          await tx`update public.campaign_creation_jobs set next_run_at = '-infinity' where id = any(${ours})`;
          const claimed: string[] = [];
          for (let i = 0; i <= ours.length; i++) {
            const [job] = await tx`
              select id, status from public.claim_campaign_creation_job(${`states-${runId}-${i}`})`;
            if (!job || !ours.includes(Number(job.id))) break;
            claimed.push(job.status);
          }
          assert.deepEqual(sorted(claimed), sorted(runnableJobStatuses), "claimed statuses");

          // next_creation_job_due_at: only a runnable job, alone due at -infinity, moves it there.
          const waitedFor: string[] = [];
          await tx`
            update public.campaign_creation_jobs set next_run_at = 'infinity', locked_by = null, locked_until = null
            where id = any(${ours})`;
          for (const [status, id] of jobOf) {
            await tx`update public.campaign_creation_jobs set next_run_at = '-infinity' where id = ${id}`;
            const [{ due }] = await tx`
              select public.next_creation_job_due_at() = '-infinity'::timestamptz as due`;
            if (due) waitedFor.push(status);
            await tx`update public.campaign_creation_jobs set next_run_at = 'infinity' where id = ${id}`;
          }
          assert.deepEqual(
            sorted(waitedFor),
            sorted(runnableJobStatuses),
            "statuses next_creation_job_due_at waits for",
          );
        });
      });
    } finally {
      await sql.end();
    }
  },
});
