// A creation-worker run stops taking on work before the runtime's CPU limit ends its isolate: once
// the isolate has spent the budget (CREATION_WORKER_CPU_BUDGET_MS, counted from its first run) it
// finishes the step under way, releases its jobs and asks for a fresh run at once, which lands in
// a fresh isolate: this one retired at the soft limit, below the budget (as 1 s is below the
// default 1.2 s). Here an isolate retires at 10 ms of CPU (right after its boot) and is ended at
// 1 s, and the budget is 60 ms, with one worker slot: the twelve launches' creation work (about
// 100 ms) takes several runs, and a run that kept claiming would work them all in one isolate.
import assert from "node:assert/strict";
import { assertExactly, launchBody, launched } from "../_support/launches.ts";
import { testWithStack } from "../_support/stack.ts";

testWithStack(
  "creation worker CPU budget",
  async (t, stack) => {
    const owner = await stack.createUser();

    await t.step(
      "twelve launches, one slot: runs hand jobs on within their budget, none is ended by the CPU limit, every launch is exact",
      async () => {
        await stack.sql`select public.set_creation_worker_slots(1)`;
        try {
          const accounts: string[] = [];
          for (let i = 0; i < 12; i++) accounts.push((await stack.connectAdAccount(owner)).id);
          const jobs = await Promise.all(
            accounts.map((act, i) => launched(stack, owner, launchBody(act, `Budget ${i}`, 8, 1))),
          );
          // Well within pg_cron's minute: runs hand the jobs on, no tick is waited for.
          const statuses = await Promise.all(
            jobs.map((id) => stack.jobSettled(id, { timeoutMs: 50_000 })),
          );
          assert.deepEqual(statuses, Array(jobs.length).fill("completed"));
          for (const act of accounts) await assertExactly(stack, act, 8, 8);

          const log = stack.functions.log();
          const handedOn = log.filter((l) =>
            l.message === "creation worker run requested" &&
            String(l.why).startsWith("run out of budget")
          );
          assert.ok(handedOn.length >= 1, "a run out of budget handed its due jobs on");
          assert.deepEqual(
            stack.functions.invocations().filter((i) => i.outcome === "cpu").map((i) => i.function),
            [],
            "no invocation ended by the CPU limit",
          );
          assert.ok(
            log.some((l) => l.message === "creation job run" && l.function === "creation-worker"),
            "a handed-on run worked jobs in a creation-worker request of its own",
          );
        } finally {
          await stack.sql`select public.set_creation_worker_slots(4)`;
        }
      },
    );
  },
  {
    CREATION_WORKER_CPU_BUDGET_MS: "60",
    EDGE_CPU_SOFT_LIMIT_MS: "10",
    EDGE_CPU_LIMIT_MS: "1000",
  },
);
