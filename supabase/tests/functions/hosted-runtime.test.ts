// adrail on the local stack as on a hosted Supabase project, with nobody driving the worker: the
// gateway's verify_jwt in front of the functions, launches that start work by themselves
// (EdgeRuntime.waitUntil), and pg_cron → pg_net → creation-worker resuming what waits: a rate
// limit, and launches whose functions server was killed at every step boundary. pg_cron here is
// Debian's 1.4, whose finest schedule is a minute: the scenarios that wait for ticks run side by
// side.
import assert from "node:assert/strict";
import { verifyJwtSettings } from "../../../dev/functions-server.ts";
import { localCronSecret } from "../../../dev/lib/local-env.ts";
import {
  assertExactly,
  launchBody,
  launched,
  liveOnMeta,
  objectsOnMeta,
  until,
} from "../_support/launches.ts";
import { type TestStack, testWithStack } from "../_support/stack.ts";

const configToml = new URL("../../config.toml", import.meta.url);

/**
 * Where a worker dies in the kill test, named for the step boundary: the launch (campaign named
 * "Kill <boundary>") is held in the database write that would record that step, or (batch_sent)
 * waits on Meta's answer, when the functions server is killed. A held write never commits.
 */
const killPoints = {
  /** Its intent for the third ad set's batch not yet committed. */
  before_intent: {
    rollsBack: false,
    when: "new.status = 'creating' and new.entity_type = 'ad_set' and new.slot_number = 3",
  },
  /** The third ad set's batch sent, Meta still applying it. */
  batch_sent: { rollsBack: false, when: "false" },
  /** Meta's answer for the third ad set received, not yet recorded. */
  answer_received: {
    rollsBack: false,
    when: "new.status = 'created' and new.entity_type = 'ad_set' and new.slot_number = 3",
  },
  /** Everything read back, the verification not yet recorded. */
  verification_read: {
    rollsBack: false,
    when: "new.verified_at is not null and old.verified_at is null",
  },
  /** Rolling back: the ads deleted on Meta, not yet recorded. */
  ads_deleted: { rollsBack: true, when: "new.status = 'rolled_back' and new.entity_type = 'ad'" },
  /** Rolling back: the ad sets deleted on Meta, not yet recorded. */
  ad_sets_deleted: {
    rollsBack: true,
    when: "new.status = 'rolled_back' and new.entity_type = 'ad_set'",
  },
  /** Rolling back: the campaign deleted on Meta, not yet recorded. */
  campaign_deleted: {
    rollsBack: true,
    when: "new.status = 'rolled_back' and new.entity_type = 'campaign'",
  },
};
type Boundary = keyof typeof killPoints;

/**
 * Test-only, never a migration: a trigger that holds each "Kill <boundary>" launch's worker in
 * the write of its boundary until kill_points.released has a row, then fails that write (the
 * worker is dead by then: nothing it did after the boundary is kept).
 */
async function holdWorkersAtKillPoints(stack: TestStack): Promise<void> {
  const condition = (Object.entries(killPoints) as [Boundary, { when: string }][])
    .map(([boundary, { when }]) => `(j.campaign_name = 'Kill ${boundary}' and ${when})`)
    .join("\n        or ");
  await stack.sql.unsafe(`
    drop schema if exists kill_points cascade; -- left by a run killed mid-test
    create schema kill_points;
    create table kill_points.released (released boolean);
    create function kill_points.hold() returns trigger language plpgsql as $$
    declare
      j public.campaign_creation_jobs;
    begin
      -- Once the server is dead, the next workers pass: only the held ones fail.
      if exists (select 1 from kill_points.released) then
        return new;
      end if;
      select * into j from public.campaign_creation_jobs where id = new.job_id;
      if ${condition} then
        while not exists (select 1 from kill_points.released) loop
          perform pg_sleep(0.05);
        end loop;
        raise exception 'the worker died here';
      end if;
      return new;
    end;
    $$;
    create trigger kill_points_hold before update on public.entity_creation_slots
      for each row execute function kill_points.hold();
  `);
}

testWithStack("a hosted-like stack: gateway, background work, pg_cron", async (t, stack) => {
  const owner = await stack.createUser();

  await t.step(
    "every function pg_cron calls has verify_jwt off (the secret is no JWT)",
    async () => {
      const jobs = await stack.sql<{ jobname: string; command: string }[]>`
      select jobname, command from cron.job where jobname like 'adrail-%'`;
      // The jobs' commands and the private functions they run (the sync dispatcher).
      const [{ dispatcher }] = await stack.sql<{ dispatcher: string }[]>`
      select pg_get_functiondef('private.start_due_ads_syncs()'::regprocedure) as dispatcher`;
      const called = [...jobs.map((j) => j.command), dispatcher]
        .flatMap((text) => [...text.matchAll(/call_function\(\s*'([^']+)'/g)])
        .map((m) => m[1]);
      assert.deepEqual(called.sort(), [
        "creation-worker",
        "facebook-ads-sync",
        "safety-net",
        "webhook-deliverer",
      ]);
      const verifyJwt = verifyJwtSettings(configToml);
      for (const name of called) assert.equal(verifyJwt(name), false, `${name}: verify_jwt`);
      assert.equal(verifyJwt("campaign-create"), true, "user-facing functions keep the check");
    },
  );

  await t.step(
    "the gateway answers 401 before campaign-create runs; the worker checks the cron secret",
    async () => {
      const act = (await stack.connectAdAccount(owner)).id;
      const url = `${stack.functions.url}/functions/v1`;
      const noJwt = await fetch(`${url}/campaign-create`, {
        method: "POST",
        body: JSON.stringify(launchBody(act, "No JWT", 1)),
      });
      assert.equal(noJwt.status, 401);
      assert.deepEqual(await noJwt.json(), { code: 401, message: "Missing authorization header" });
      const [{ n }] = await stack.sql`
      select count(*)::int as n from public.pre_creation_verifications v
      join public.ad_accounts a on a.id = v.ad_account_id where a.platform_account_id = ${act}`;
      assert.equal(n, 0, "the handler never ran: no verification, no job");
      assert.ok(
        stack.functions.invocations().some((i) =>
          i.function === "campaign-create" && i.outcome === "unauthorized"
        ),
      );

      for (const headers of [{}, { "x-cron-secret": "not-the-secret" }]) {
        const refused = await fetch(`${url}/creation-worker`, { method: "POST", headers });
        assert.equal(refused.status, 401);
        assert.equal((await refused.json()).error, "unauthorized", "adrail's own check answered");
      }
      const cron = await fetch(`${url}/creation-worker`, {
        method: "POST",
        headers: { "x-cron-secret": localCronSecret },
      });
      assert.equal(cron.status, 200);
      assert.equal((await cron.json()).started, true);
    },
  );

  await t.step("launch 1-10-1, then only wait: completed, exactly 1/10/10 on Meta", async () => {
    const act = (await stack.connectAdAccount(owner)).id;
    const jobId = await launched(stack, owner, launchBody(act, "Nobody drives", 10));
    assert.equal(await stack.jobSettled(jobId), "completed");
    await assertExactly(stack, act, 10, 10);
    assert.deepEqual((await objectsOnMeta(stack, act)).filter((o) => o.deleted), []);
  });

  await t.step(
    "a rate limit, and the server killed at every step boundary: pg_cron finishes all",
    async () => {
      const throttledAct = (await stack.connectAdAccount(owner)).id;
      const boundaries = Object.keys(killPoints) as Boundary[];
      const accounts = new Map<Boundary, string>();
      for (const boundary of boundaries) {
        accounts.set(boundary, (await stack.connectAdAccount(owner)).id);
      }
      await stack.sim("/__sim/faults", {
        rules: [
          // Meta throttles the account for a minute (its own clock) at the second ad set.
          {
            path: `^/${throttledAct}/adsets$`,
            match: "as2%5D",
            times: 1,
            effect: { rateLimit: { regainSeconds: 60 } },
          },
          // In flight when the server dies: Meta applies the batch after 8 s, to a dead worker.
          {
            path: `^/${accounts.get("batch_sent")}/adsets$`,
            match: "as3%5D",
            times: 1,
            effect: { delayMs: 8000 },
          },
          // The launches that roll back: Meta refuses their fourth ad set.
          ...boundaries.filter((b) => killPoints[b].rollsBack).map((b) => ({
            path: `^/${accounts.get(b)}/adsets$`,
            match: "as4%5D",
            effect: { error: { code: 100, status: 400 } },
          })),
        ],
      });

      const throttled = await launched(stack, owner, launchBody(throttledAct, "Throttled", 3));
      const releasedAt = await until("the throttled job's release", async () => {
        const [job] = await stack.sql`
        select locked_by, next_run_at from public.campaign_creation_jobs where id = ${throttled}`;
        const waiting = job.locked_by === null && job.next_run_at > new Date(Date.now() + 30_000);
        return waiting ? new Date() : undefined;
      });

      await holdWorkersAtKillPoints(stack);
      try {
        const jobs = new Map<Boundary, number>();
        const launch = async (boundary: Boundary) => {
          const body = launchBody(accounts.get(boundary)!, `Kill ${boundary}`, 5, 2);
          jobs.set(boundary, await launched(stack, owner, body));
        };
        // Every worker at its boundary: the held ones first, then the one waiting on Meta's
        // slow answer (launched last: its answer comes 8 s after it is sent, however long the
        // others took to get to theirs).
        const held = boundaries.filter((b) => b !== "batch_sent");
        for (const boundary of held) await launch(boundary);
        await until("every held worker at its boundary", async () => {
          const [{ n }] = await stack.sql`
          select count(*)::int as n from pg_stat_activity where wait_event = 'PgSleep'`;
          return n === held.length ? true : undefined;
        }, 60_000);
        await launch("batch_sent");
        await until("the third ad set's batch in flight", async () => {
          const [{ n }] = await stack.sql`
          select count(*)::int as n from public.entity_creation_slots
          where job_id = ${jobs.get("batch_sent")!} and entity_type = 'ad_set'
            and slot_number = 3 and status = 'creating'`;
          return n > 0 ? true : undefined;
        });
        await stack.functions.kill();
        await stack.sql`insert into kill_points.released values (true)`;
        await new Promise((resolve) => setTimeout(resolve, 8500)); // Meta applies the slow batch
        await stack.functions.restart();

        const ends = await Promise.all(
          [throttled, ...boundaries.map((b) => jobs.get(b)!)].map((id) =>
            stack.jobSettled(id, { timeoutMs: 200_000 })
          ),
        );
        await stack.sim("/__sim/faults", { rules: [] });
        assert.deepEqual(ends, [
          "completed",
          ...boundaries.map((b) => killPoints[b].rollsBack ? "rolled_back" : "completed"),
        ]);
        await assertExactly(stack, throttledAct, 3, 3);
        for (const boundary of boundaries) {
          const act = accounts.get(boundary)!;
          if (killPoints[boundary].rollsBack) {
            assert.deepEqual((await liveOnMeta(stack, act)).all, [], `${boundary}: nothing live`);
            continue;
          }
          await assertExactly(stack, act, 5, 10);
          assert.deepEqual(
            (await objectsOnMeta(stack, act)).filter((o) => o.deleted),
            [],
            `${boundary}: nothing was made twice`,
          );
        }
      } finally {
        // Workers still held (a failure before the kill) would keep the drop waiting forever.
        await stack.sql`insert into kill_points.released values (true)`;
        await stack.sql`drop schema if exists kill_points cascade`;
      }

      const ticks = await stack.sql`
      select r.status_code from net._http_response r
      where r.created > ${releasedAt} and r.status_code is not null`;
      assert.ok(ticks.some((r) => r.status_code === 200), "pg_net recorded the worker's 200");
      const [{ runs }] = await stack.sql`
      select count(*)::int as runs from cron.job_run_details d join cron.job j using (jobid)
      where j.jobname = 'adrail-creation-worker' and d.status = 'succeeded'
        and d.start_time > ${releasedAt}`;
      assert.ok(runs >= 1, "pg_cron ran the worker's job");
    },
  );
});
