// The creation worker's capacity is the database's (creation_worker_slots): every launch starts a
// run, but only as many runs work at once as there are slots; the others end at once and the
// slot holders take their jobs up. A burst of launches no longer piles up runs, each holding
// Postgres connections (the soak once reached 395 and refused launches with "too many clients").
import assert from "node:assert/strict";
import { launchBody, launched } from "../_support/launches.ts";
import { testWithStack } from "../_support/stack.ts";

type Sample = { held: number; connections: number };

testWithStack("creation worker capacity", async (t, stack) => {
  const owner = await stack.createUser();

  await t.step(
    "one worker slot, 8 launches at once: every launch completes exactly, one run works at a time, the others end at once, and the functions' connections stay bounded",
    async () => {
      await stack.sql`select public.set_creation_worker_slots(1)`;
      try {
        const accounts = [
          (await stack.connectAdAccount(owner)).id,
          (await stack.connectAdAccount(owner)).id,
        ];
        const samples: Sample[] = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const [sample] = await stack.sql<Sample[]>`
              select
                (select count(*)::int from public.creation_worker_slots
                 where run_id is not null and held_until > now()) as held,
                (select count(*)::int from pg_stat_activity
                 where application_name = 'adrail-functions') as connections`;
            samples.push(sample);
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
        })();
        const jobs = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            launched(
              stack,
              owner,
              launchBody(accounts[i % 2], `Capacity ${i}`, 3, 1),
            )),
        );
        // Well within pg_cron's minute: the slot holder takes up the jobs, not a later tick.
        const statuses = await Promise.all(
          jobs.map((id) => stack.jobSettled(id, { timeoutMs: 45_000 })),
        );
        sampling = false;
        await sampler;
        assert.deepEqual(statuses, Array(8).fill("completed"));
        for (const act of accounts) {
          // Each account holds 4 launches' campaigns: exactly what was asked, per campaign.
          const live = (await stack.sim(`/__sim/state?account=${act}`) as {
            objects: { type: string; deleted: boolean }[];
          }).objects.filter((o) => !o.deleted);
          assert.deepEqual(
            ["campaign", "adset", "ad"].map((type) => live.filter((o) => o.type === type).length),
            [4, 12, 12],
          );
        }
        const maxHeld = Math.max(...samples.map((s) => s.held));
        const maxConnections = Math.max(...samples.map((s) => s.connections));
        assert.equal(maxHeld, 1, "never more than the one slot held");
        const skipped = stack.functions.log().filter((l) =>
          String(l.message).startsWith("creation worker run skipped")
        );
        assert.ok(
          skipped.length >= 1,
          "launches that found the slot held ended their runs at once",
        );
        // The slot holder's pool (5), and what each other isolate opened (per_worker keeps an idle
        // isolate's pool for its next request): a launch's request and its run's slot claim (2
        // each), the ad-accounts isolate's (2). Runs that pile up would hold a pool each.
        assert.ok(maxConnections <= 5 + 8 * 2 + 2, `${maxConnections} connections at the peak`);
      } finally {
        await stack.sql`select public.set_creation_worker_slots(4)`;
      }
    },
  );
});
