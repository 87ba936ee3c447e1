// adrail on the local stack as on a hosted Supabase project, with nobody driving the worker: the
// gateway's verify_jwt in front of the functions, launches that start work by themselves
// (EdgeRuntime.waitUntil), and pg_cron → pg_net → creation-worker resuming what waits: a rate
// limit, and a launch whose functions server was killed in the middle. pg_cron here is Debian's
// 1.4, whose finest schedule is a minute: the scenarios that wait for ticks run side by side.
import assert from "node:assert/strict";
import { verifyJwtSettings } from "../../../dev/functions-server.ts";
import { localCronSecret } from "../../../dev/lib/local-env.ts";
import { invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";

const configToml = new URL("../../config.toml", import.meta.url);

type SimObject = { id: string; type: string; name: string; deleted: boolean };

function launchBody(act: string, name: string, adSets: number) {
  return {
    adAccountId: act,
    campaign: { name, objective: "OUTCOME_SALES" },
    adSets: { count: adSets, template: { daily_budget: 1000 } },
    ads: { perAdSet: 1, template: { creativeId: "555" } },
  };
}

async function launch(stack: TestStack, owner: string, body: unknown): Promise<number> {
  const client = await stack.clientFor(owner);
  const answer = await invokeResult(
    await client.functions.invoke("campaign-create", { body: body as Record<string, unknown> }),
  );
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body.jobId as number;
}

async function objectsOnMeta(stack: TestStack, act: string): Promise<SimObject[]> {
  return (await stack.sim(`/__sim/state?account=${act}`) as { objects: SimObject[] }).objects;
}

async function assertExactly(stack: TestStack, act: string, adSets: number) {
  const objects = await objectsOnMeta(stack, act);
  const live = (type: string) => objects.filter((o) => o.type === type && !o.deleted);
  assert.deepEqual(
    [live("campaign").length, live("adset").length, live("ad").length],
    [1, adSets, adSets],
  );
  assert.deepEqual(objects.filter((o) => o.deleted), [], "nothing made twice, nothing removed");
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

testWithStack(
  "a hosted-like stack: gateway, background work, pg_cron through pg_net",
  async (t, stack) => {
    const owner = await stack.createUser();

    await t.step(
      "every function pg_cron calls has verify_jwt off (the cron secret is no JWT)",
      async () => {
        const jobs = await stack.sql<{ jobname: string; command: string }[]>`
      select jobname, command from cron.job where jobname like 'adrail-%'`;
        const called = jobs.flatMap((j) => [...j.command.matchAll(/call_function\('([^']+)'\)/g)])
          .map((m) => m[1]);
        assert.deepEqual(called.sort(), ["creation-worker", "safety-net"]);
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
        assert.deepEqual(await noJwt.json(), {
          code: 401,
          message: "Missing authorization header",
        });
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
      const jobId = await launch(stack, owner, launchBody(act, "Nobody drives", 10));
      assert.equal(await stack.jobSettled(jobId), "completed");
      await assertExactly(stack, act, 10);
    });

    await t.step(
      "a rate limit and a killed functions server: pg_cron's ticks finish both",
      async () => {
        const throttledAct = (await stack.connectAdAccount(owner)).id;
        const killedAct = (await stack.connectAdAccount(owner)).id;
        await stack.sim("/__sim/faults", {
          rules: [
            // Meta throttles the account for a minute (its own clock) at the second ad set.
            {
              path: `^/${throttledAct}/adsets$`,
              match: "as2%5D",
              times: 1,
              effect: { rateLimit: { regainSeconds: 60 } },
            },
            // The fourth ad set's batch is slow: Meta applies it after 3 s, to a dead worker.
            {
              path: `^/${killedAct}/adsets$`,
              match: "as4%5D",
              times: 1,
              effect: { delayMs: 3000 },
            },
          ],
        });

        const throttled = await launch(stack, owner, launchBody(throttledAct, "Throttled", 3));
        const releasedAt = await until("the throttled job's release", async () => {
          const [job] = await stack.sql`
        select locked_by, next_run_at from public.campaign_creation_jobs where id = ${throttled}`;
          const waiting = job.locked_by === null && job.next_run_at > new Date(Date.now() + 30_000);
          return waiting ? new Date() : undefined;
        });

        const killed = await launch(stack, owner, launchBody(killedAct, "Killed", 6));
        await until("the slow batch's intent", async () => {
          const [slot] = await stack.sql`
        select status from public.entity_creation_slots
        where job_id = ${killed} and entity_type = 'ad_set' and slot_number = 4`;
          return slot.status === "creating" ? true : undefined;
        });
        await stack.functions.kill();
        await new Promise((resolve) => setTimeout(resolve, 3500)); // Meta applies the batch meanwhile
        await stack.functions.restart();

        const [throttledEnd, killedEnd] = await Promise.all([
          stack.jobSettled(throttled, { timeoutMs: 200_000 }),
          stack.jobSettled(killed, { timeoutMs: 200_000 }),
        ]);
        await stack.sim("/__sim/faults", { rules: [] });
        assert.deepEqual([throttledEnd, killedEnd], ["completed", "completed"]);
        await assertExactly(stack, throttledAct, 3);
        await assertExactly(stack, killedAct, 6);

        const adopted = await stack.sql`
      select s.facebook_id from public.entity_creation_slots s
      where s.job_id = ${killed} and s.entity_type = 'ad_set' and s.slot_number = 4`;
        const slowAdSet = (await objectsOnMeta(stack, killedAct)).find((o) =>
          o.name.endsWith("as4]")
        );
        assert.equal(adopted[0].facebook_id, slowAdSet?.id, "the dead run's ad set was adopted");

        const ticks = await stack.sql`
      select r.status_code from net._http_response r where r.created > ${releasedAt}
        and r.status_code is not null`;
        assert.ok(ticks.some((r) => r.status_code === 200), "pg_net recorded the worker's 200");
        const [{ runs }] = await stack.sql`
      select count(*)::int as runs from cron.job_run_details d join cron.job j using (jobid)
      where j.jobname = 'adrail-creation-worker' and d.status = 'succeeded'
        and d.start_time > ${releasedAt}`;
        assert.ok(runs >= 1, "pg_cron ran the worker's job");
      },
    );
  },
);
