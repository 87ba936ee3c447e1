import assert from "node:assert/strict";
import { ADSET, CAMPAIGN, form, VERSION, withSim } from "./helpers.ts";

/** An ad-set item body: Meta's required fields, then the test's own (references stay raw). */
const adsetBody = (rest: string) => `${form(ADSET)}&${rest}`;

const campaignItem = (name = "c") => ({
  method: "POST",
  name: "campaign",
  omit_response_on_success: false,
  relative_url: `${VERSION}/act_1/campaigns`,
  body: form({ ...CAMPAIGN, name, status: "PAUSED" }),
});

Deno.test("batch: more than 50 items is an error", () =>
  withSim(async (h) => {
    await h.account();
    const items = Array.from({ length: 51 }, () => ({ method: "GET", relative_url: "act_1" }));
    const res = await h.batch(items);
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /Maximum batch size is 50/);
    const ok = await h.batch(items.slice(0, 50));
    assert.equal(ok.items.length, 50);
    assert.ok(ok.items.every((i) => i?.code === 200));
  }));

Deno.test("batch: references, depends_on, per-item answers in order", () =>
  withSim(async (h) => {
    await h.account();
    const res = await h.batch([
      campaignItem(),
      {
        method: "POST",
        name: "adset",
        relative_url: `${VERSION}/act_1/adsets`,
        body: adsetBody("name=s&campaign_id={result=campaign:$.id}"),
      },
      {
        method: "POST",
        relative_url: `${VERSION}/act_1/ads`,
        body: 'name=a&adset_id={result=adset:$.id}&creative={"creative_id":"7"}',
      },
      {
        method: "GET",
        relative_url: `${VERSION}/act_1/ads?fields=name,adset_id`,
        depends_on: "adset",
      },
    ]);
    assert.equal(res.status, 200);
    const [campaign, adset, ad, list] = res.items;
    assert.equal(campaign?.code, 200);
    assert.equal(
      adset,
      null,
      "a referenced item is omitted unless omit_response_on_success is false",
    );
    assert.equal(ad?.code, 200);
    assert.equal(list?.body.data[0].id, ad?.body.id);
    const state = await h.control("GET", "state?account=act_1");
    assert.deepEqual(state.counts.byParent[campaign!.body.id], { adset: 1 });
    // Each item answers with Meta's {code, headers, body} where body is a JSON string.
    const raw = await h.graph("POST", "", {
      batch: [{ method: "GET", relative_url: "act_1?fields=name" }],
    });
    assert.equal(typeof raw.body[0].body, "string");
    assert.ok(
      raw.body[0].headers.some((x: { name: string }) => x.name === "X-Business-Use-Case-Usage"),
    );
    const bare = await h.graph("POST", "", {
      batch: [{ method: "GET", relative_url: "act_1" }],
      include_headers: "false",
    });
    assert.equal(bare.body[0].headers, undefined);
  }));

Deno.test("batch: an item whose dependency failed fails too", () =>
  withSim(async (h) => {
    await h.account();
    const res = await h.batch([
      {
        method: "POST",
        name: "campaign",
        relative_url: "act_1/campaigns",
        body: "objective=OUTCOME_SALES",
      },
      {
        method: "POST",
        name: "adset",
        relative_url: "act_1/adsets",
        body: adsetBody("name=s&campaign_id={result=campaign:$.id}"),
      },
      { method: "GET", relative_url: "act_1?fields=name", depends_on: "adset" },
      { method: "GET", relative_url: "act_1?fields=name" },
    ]);
    assert.equal(res.items[0]?.code, 400);
    assert.match(res.items[0]?.body.error.message, /name is required/);
    assert.match(res.items[1]?.body.error.message, /"campaign" this request depends on failed/);
    assert.match(res.items[2]?.body.error.message, /"adset" this request depends on failed/);
    assert.equal(res.items[3]?.code, 200, "independent items still run");
  }));

Deno.test("batch: only one ad set per campaign; the extra ad-set items fail", () =>
  withSim(async (h) => {
    await h.account();
    const campaign = await h.create("campaigns", { ...CAMPAIGN, name: "c" });
    const other = await h.create("campaigns", { ...CAMPAIGN, name: "d" });
    const adset = (n: string, c: string) => ({
      method: "POST",
      relative_url: "act_1/adsets",
      body: adsetBody(`name=${n}&campaign_id=${c}`),
    });
    const res = await h.batch([adset("s1", campaign), adset("s2", campaign), adset("s3", other)]);
    assert.equal(res.items[0]?.code, 200);
    assert.equal(res.items[1]?.code, 400);
    assert.match(res.items[1]?.body.error.message, /multiple ad sets under the same campaign/);
    assert.equal(res.items[2]?.code, 200);
    const state = await h.control("GET", "state?account=act_1");
    assert.equal(state.counts.adset, 2);
  }));

Deno.test("batch: faults apply per item; a dropped item is applied and comes back null", () =>
  withSim(async (h) => {
    await h.account();
    await h.faults([
      { method: "POST", path: "/adsets$", match: "name=s2", effect: { applyThenDrop: true } },
      {
        method: "POST",
        path: "/adsets$",
        match: "name=s3",
        effect: { error: { code: 2, transient: true } },
      },
    ]);
    const campaigns = await Promise.all(
      ["a", "b", "c"].map((n) => h.create("campaigns", { ...CAMPAIGN, name: n })),
    );
    const res = await h.batch(campaigns.map((c, i) => ({
      method: "POST",
      relative_url: "act_1/adsets",
      body: adsetBody(`name=s${i + 1}&campaign_id=${c}`),
    })));
    assert.equal(res.items[0]?.code, 200);
    assert.equal(res.items[1], null);
    assert.equal(res.items[2]?.code, 500);
    assert.equal(res.items[2]?.body.error.is_transient, true);
    const state = await h.control("GET", "state?account=act_1");
    assert.deepEqual(
      state.objects.filter((o: { type: string }) => o.type === "adset").map((o: { name: string }) =>
        o.name
      ),
      ["s1", "s2"],
    );
    const log = await h.control("GET", "requests");
    const entry = log.requests.at(-1);
    assert.equal(entry.batchSize, 3);
    assert.deepEqual(entry.faults, [{ rule: 0, effect: "applyThenDrop", item: 1 }, {
      rule: 1,
      effect: "error",
      item: 2,
    }]);
    assert.deepEqual(entry.items.map((i: { code: number | null }) => i.code), [200, null, 500]);
  }));

Deno.test("batch: JSON body and the versioned batch path are accepted", () =>
  withSim(async (h) => {
    await h.account();
    const res = await fetch(`${h.url}/${VERSION}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        access_token: "token-1",
        batch: [{
          method: "POST",
          relative_url: `/${VERSION}/act_1/campaigns`,
          body: { ...CAMPAIGN, name: "j" },
        }],
      }),
    });
    const [item] = await res.json();
    assert.equal(item.code, 200);
    assert.match(JSON.parse(item.body).id, /^\d+$/);
  }));
