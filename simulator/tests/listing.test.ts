import assert from "node:assert/strict";
import { CAMPAIGN, TOKEN, VERSION, withSim } from "./helpers.ts";

Deno.test("cursor paging with limit, after, paging.cursors and paging.next", () =>
  withSim(async (h) => {
    await h.account();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(await h.create("campaigns", { ...CAMPAIGN, name: `c${i}` }));
    }
    const first = await h.graph("GET", "act_1/campaigns", { fields: "name", limit: "3" });
    assert.deepEqual(
      first.body.data.map((c: { id: string }) => c.id),
      ids.slice().reverse().slice(0, 3),
      "newest first",
    );
    assert.equal(typeof first.body.paging.cursors.before, "string");
    assert.equal(typeof first.body.paging.cursors.after, "string");
    const seen = [...first.body.data];
    let next: string | undefined = first.body.paging.next;
    while (next) {
      assert.ok(
        next.startsWith(`${h.url}/${VERSION}/act_1/campaigns?`) &&
          next.includes(`access_token=${TOKEN}`),
      );
      const page = await (await fetch(next)).json();
      seen.push(...page.data);
      next = page.paging?.next;
    }
    assert.deepEqual(seen.map((c) => c.id).sort(), ids.sort());
    const after = await h.graph("GET", "act_1/campaigns", {
      limit: "5",
      after: first.body.paging.cursors.after,
    });
    assert.equal(after.body.data.length, 4);
    assert.equal(after.body.paging.next, undefined, "last page has no next");
  }));

Deno.test("edges: account, campaign and ad set children", () =>
  withSim(async (h) => {
    await h.account();
    const a = await h.tree("A");
    const b = await h.tree("B");
    const ids = async (path: string) =>
      (await h.graph("GET", path)).body.data.map((x: { id: string }) => x.id);
    assert.deepEqual(await ids("act_1/adsets"), [b.adset, a.adset]);
    assert.deepEqual(await ids("act_1/ads"), [b.ad, a.ad]);
    assert.deepEqual(await ids(`${a.campaign}/adsets`), [a.adset]);
    assert.deepEqual(await ids(`${a.campaign}/ads`), [a.ad]);
    assert.deepEqual(await ids(`${b.adset}/ads`), [b.ad]);
    const summary = await h.graph("GET", "act_1/campaigns", { summary: "total_count", limit: "1" });
    assert.deepEqual(summary.body.summary, { total_count: 2 });
  }));

Deno.test("deleted and archived objects are listed only when asked for", () =>
  withSim(async (h) => {
    await h.account();
    const live = await h.tree("live");
    const gone = await h.tree("gone");
    const old = await h.tree("old");
    await h.graph("DELETE", gone.adset);
    await h.graph("POST", old.adset, { status: "ARCHIVED" });
    const names = async (params: Record<string, unknown>) =>
      (await h.graph("GET", "act_1/adsets", { fields: "name", ...params })).body.data.map((
        x: { name: string },
      ) => x.name);
    assert.deepEqual(await names({}), ["live s"]);
    assert.deepEqual(await names({ effective_status: ["ACTIVE", "DELETED", "ARCHIVED"] }), [
      "old s",
      "gone s",
      "live s",
    ]);
    assert.deepEqual(
      await names({
        filtering: [{ field: "adset.effective_status", operator: "IN", value: ["DELETED"] }],
      }),
      ["gone s"],
    );
    assert.deepEqual(
      await names({ filtering: [{ field: "name", operator: "CONTAIN", value: "o" }] }),
      [],
      "hidden ones stay hidden",
    );
    const ads = await h.graph("GET", "act_1/ads", {
      fields: "effective_status",
      effective_status: ["ARCHIVED"],
    });
    assert.deepEqual(
      ads.body.data,
      [{ id: old.ad, effective_status: "ARCHIVED" }],
      "a child shows its archived parent",
    );
    assert.equal(live.ad.length > 0, true);
    const bad = await h.graph("GET", "act_1/adsets", {
      filtering: [{ field: "name", operator: "LIKE", value: "x" }],
    });
    assert.equal(bad.body.error.code, 100);
  }));
