import assert from "node:assert/strict";
import { type Harness, withSim } from "./helpers.ts";

// VERSION (v27.0) is served on these days (released 2026-11-04, versions.ts).
const START = "2026-11-10T12:00:00Z";
const DAY = 86_400;

async function daily(
  h: Harness,
  id: string,
  since: string,
  until: string,
  extra: Record<string, unknown> = {},
) {
  const res = await h.graph("GET", `${id}/insights`, {
    time_range: { since, until },
    time_increment: "1",
    fields: "impressions,clicks,spend,reach,actions,conversions",
    ...extra,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as Record<string, unknown>[];
}

/** One ad created at START, then `days` simulated days later. */
async function setup(h: Harness, days: number) {
  await h.control("POST", "clock", { now: START });
  await h.account();
  const tree = await h.tree();
  await h.control("POST", "clock", { advanceSeconds: days * DAY });
  return tree;
}

Deno.test("insights: daily rows only on days the ad was ACTIVE", () =>
  withSim(async (h) => {
    const { ad, campaign } = await setup(h, 3); // now 2026-11-13
    await h.control("POST", "status", { id: campaign, status: "PAUSED" });
    await h.control("POST", "clock", { advanceSeconds: 2 * DAY }); // now 2026-11-15, paused since the 13th
    await h.control("POST", "status", { id: campaign, status: "ACTIVE" });
    const rows = await daily(h, ad, "2026-11-08", "2026-11-20");
    assert.deepEqual(rows.map((r) => r.date_start), [
      "2026-11-10",
      "2026-11-11",
      "2026-11-12",
      "2026-11-13",
      "2026-11-15",
    ]);
    const row = rows[0];
    assert.equal(row.date_stop, "2026-11-10");
    for (const f of ["impressions", "clicks", "reach"]) assert.match(row[f] as string, /^\d+$/);
    assert.match(row.spend as string, /^\d+\.\d{2}$/);
    assert.deepEqual((row.actions as { action_type: string }[])[0].action_type, "link_click");
    const account = await h.graph("GET", "act_1", { fields: "amount_spent" });
    const spent = rows.reduce((s, r) => s + Math.round(Number(r.spend) * 100), 0);
    assert.equal(account.body.amount_spent, String(spent));
  }));

Deno.test("insights: deterministic per (entity, day) for a seed", async () => {
  const read = (seed: number) => {
    let rows: unknown;
    return withSim(async (h) => {
      const { ad } = await setup(h, 10);
      rows = await daily(h, ad, "2026-11-10", "2026-11-15");
    }, { seed }).then(() => rows);
  };
  const a = await read(5), b = await read(5), c = await read(6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("insights: recent days are restated after the clock moves, older ones stay", () =>
  withSim(async (h) => {
    const { ad } = await setup(h, 6); // now 2026-11-16
    const before = await daily(h, ad, "2026-11-11", "2026-11-15");
    await h.control("POST", "clock", { advanceSeconds: DAY });
    const after = await daily(h, ad, "2026-11-11", "2026-11-15");
    const byDay = (rows: Record<string, unknown>[], day: string) =>
      rows.find((r) => r.date_start === day);
    assert.deepEqual(
      byDay(before, "2026-11-11"),
      byDay(after, "2026-11-11"),
      "settled days do not move",
    );
    assert.notDeepEqual(
      byDay(before, "2026-11-15"),
      byDay(after, "2026-11-15"),
      "yesterday is restated",
    );
    assert.ok(
      Number(byDay(after, "2026-11-15")!.impressions) >
        Number(byDay(before, "2026-11-15")!.impressions),
    );
  }));

Deno.test("insights: levels, aggregation, and deleted/archived entities", () =>
  withSim(async (h) => {
    await h.control("POST", "clock", { now: START });
    await h.account();
    const keep = await h.tree("keep");
    const gone = await h.tree("gone");
    await h.control("POST", "clock", { advanceSeconds: 4 * DAY });
    await h.graph("DELETE", gone.ad);

    const ownRows = await daily(h, gone.ad, "2026-11-10", "2026-11-14");
    assert.equal(ownRows.length, 5, "a deleted ad's insights stay readable by its id");

    const ads = async (extra: Record<string, unknown>) =>
      new Set(
        (await daily(h, "act_1", "2026-11-10", "2026-11-14", {
          level: "ad",
          fields: "ad_id,impressions",
          ...extra,
        }))
          .map((r) => r.ad_id),
      );
    assert.deepEqual(await ads({}), new Set([keep.ad]));
    assert.deepEqual(
      await ads({
        filtering: [{ field: "ad.effective_status", operator: "IN", value: ["ACTIVE", "DELETED"] }],
      }),
      new Set([keep.ad, gone.ad]),
    );

    const total = await h.graph("GET", `${keep.campaign}/insights`, {
      time_range: { since: "2026-11-10", until: "2026-11-14" },
      fields: "impressions,campaign_id",
    });
    const perDay = await daily(h, keep.ad, "2026-11-10", "2026-11-14");
    assert.equal(total.body.data.length, 1);
    assert.equal(total.body.data[0].campaign_id, keep.campaign);
    assert.equal(
      Number(total.body.data[0].impressions),
      perDay.reduce((s, r) => s + Number(r.impressions), 0),
    );
    const bad = await h.graph("GET", `${keep.ad}/insights`, { fields: "impressions,bogus" });
    assert.equal(bad.body.error.code, 100);
  }));

Deno.test("insights: a stopped ad's last days collect late conversions for 28 days, then settle", () =>
  withSim(async (h) => {
    const { ad } = await setup(h, 10); // now 2026-11-20
    const conversionsBy = async () =>
      (await daily(h, ad, "2026-11-10", "2026-11-20")).map((r) =>
        Number((r.conversions as { value: string }[])[0]?.value ?? 0)
      );
    await h.graph("DELETE", ad);
    const atStop = await conversionsBy();
    const seen = [atStop];
    for (const days of [1, 6, 21, 1, 30]) {
      await h.control("POST", "clock", { advanceSeconds: days * DAY });
      seen.push(await conversionsBy());
    }
    const [, day1, day7, day28, day29, day59] = seen;
    const total = (c: number[]) => c.reduce((a, b) => a + b, 0);
    assert.ok(total(day1) > total(atStop), "restated the day after the delete");
    assert.ok(total(day7) > total(day1) && total(day28) > total(day7), "and on, for 28 days");
    assert.deepEqual(day29, day28, "settled after 28 days");
    assert.deepEqual(day59, day28);
    assert.deepEqual(
      day28.slice(0, 3),
      atStop.slice(0, 3),
      "days long before the stop never move",
    );
  }));

Deno.test("insights: too much data for a synchronous read, then an async report run", () =>
  withSim(async (h) => {
    const { ad } = await setup(h, 10);
    await h.account("act_1", {
      insights: { syncMaxRows: 5, reportRunPolls: 2, failingReportRuns: 1 },
    });
    const read = {
      level: "ad",
      fields: "ad_id,impressions",
      time_range: { since: "2026-11-10", until: "2026-11-19" },
      time_increment: "1",
    };
    const sync = await h.graph("GET", "act_1/insights", read);
    assert.equal(sync.status, 400);
    assert.deepEqual([sync.body.error.code, sync.body.error.error_subcode], [100, 1487534]);
    assert.match(sync.body.error.message, /reduce the amount of data/);
    const small = await h.graph("GET", `${ad}/insights`, {
      ...read,
      level: undefined,
      fields: "impressions",
      time_range: { since: "2026-11-10", until: "2026-11-12" },
    });
    assert.equal(small.status, 200, "a read under the threshold still answers");

    const poll = async (run: string) => (await h.graph("GET", run)).body;
    const started = await h.graph("POST", "act_1/insights", read);
    const failed = started.body.report_run_id as string;
    assert.match(failed, /^\d+$/);
    assert.equal((await h.graph("GET", `${failed}/insights`)).body.error.code, 2601);
    assert.deepEqual(
      [(await poll(failed)).async_status, (await poll(failed)).async_status],
      ["Job Running", "Job Failed"],
      "the first run fails",
    );
    assert.equal((await h.graph("GET", `${failed}/insights`)).body.error.code, 2601);

    const again = (await h.graph("POST", "act_1/insights", read)).body.report_run_id as string;
    assert.deepEqual(
      [(await poll(again)).async_percent_completion, (await poll(again)).async_status],
      [50, "Job Completed"],
    );
    const rows = await h.graph("GET", `${again}/insights`, { limit: "4" });
    assert.equal(rows.status, 200);
    assert.equal(rows.body.data.length, 4, "paged");
    assert.ok(rows.body.paging.cursors.after);
    const rest = await h.graph("GET", `${again}/insights`, {
      limit: "100",
      after: rows.body.paging.cursors.after,
    });
    assert.deepEqual(
      [...rows.body.data, ...rest.body.data].map((r: Record<string, unknown>) => r.date_start),
      [
        "2026-11-10",
        "2026-11-11",
        "2026-11-12",
        "2026-11-13",
        "2026-11-14",
        "2026-11-15",
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
      ],
    );
    assert.ok(
      [...rows.body.data, ...rest.body.data].every((r: Record<string, unknown>) => r.ad_id === ad),
    );
  }));
