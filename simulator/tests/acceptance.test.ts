/**
 * Acceptance: a client written only from Meta's docs (plain fetch, form-encoded `batch` JSON
 * string, {result=...} references) creates a 1-50-1 launch on today's version with one batch per
 * ad set, the campaign riding in the first, then reads all 101 objects back in one batch: the
 * campaign by id and its two edges, every non-deleted effective_status named, one page each.
 */

import assert from "node:assert/strict";
import { withSim } from "./helpers.ts";

const GRAPH_API_VERSION = "v27.0";
const ACCESS_TOKEN = "launch-token";

type Item = {
  method: string;
  relative_url: string;
  body?: string;
  name?: string;
  omit_response_on_success?: boolean;
};
type ItemAnswer = { code: number; body: string } | null;

async function postBatch(base: string, batch: Item[]): Promise<ItemAnswer[]> {
  const res = await fetch(`${base}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ access_token: ACCESS_TOKEN, batch: JSON.stringify(batch) }),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

const idOf = (answer: ItemAnswer) => {
  assert.ok(answer && answer.code === 200, JSON.stringify(answer));
  return JSON.parse(answer.body).id as string;
};

/** Every effective_status but DELETED: edges leave ARCHIVED (and DELETED) out unless named. */
const NOT_DELETED = [
  "ACTIVE",
  "PAUSED",
  "PENDING_REVIEW",
  "DISAPPROVED",
  "PREAPPROVED",
  "PENDING_BILLING_INFO",
  "CAMPAIGN_PAUSED",
  "ARCHIVED",
  "ADSET_PAUSED",
  "IN_PROCESS",
  "WITH_ISSUES",
];

const bodyOf = (answer: ItemAnswer) => {
  assert.equal(answer?.code, 200, JSON.stringify(answer));
  return JSON.parse(answer!.body);
};

Deno.test("acceptance: 1-50-1 in one batch per ad set, read back in one batch of edge reads", () =>
  withSim(async (h) => {
    await h.control("POST", "accounts", { id: "act_42", token: ACCESS_TOKEN });
    const base = h.url;
    const act = "act_42";
    let campaignId = "";
    const adsetIds: string[] = [];
    const adIds: string[] = [];

    for (let i = 1; i <= 50; i++) {
      const adsetBody = (campaign: string) =>
        `name=Launch AS ${i}&campaign_id=${campaign}&daily_budget=1000&billing_event=IMPRESSIONS` +
        `&optimization_goal=REACH&targeting={"geo_locations":{"countries":["US"]}}&status=PAUSED`;
      const batch: Item[] = [];
      if (i === 1) {
        batch.push({
          method: "POST",
          name: "campaign",
          omit_response_on_success: false,
          relative_url: `${GRAPH_API_VERSION}/${act}/campaigns`,
          // From v24.0 a campaign without a campaign budget says whether ad sets share budgets.
          body: "name=Launch&objective=OUTCOME_TRAFFIC&special_ad_categories=[]" +
            "&is_adset_budget_sharing_enabled=false&status=PAUSED",
        });
      }
      batch.push(
        {
          method: "POST",
          name: "adset",
          omit_response_on_success: false,
          relative_url: `${GRAPH_API_VERSION}/${act}/adsets`,
          body: adsetBody(i === 1 ? "{result=campaign:$.id}" : campaignId),
        },
        {
          method: "POST",
          relative_url: `${GRAPH_API_VERSION}/${act}/ads`,
          body:
            `name=Launch AD ${i}&adset_id={result=adset:$.id}&creative={"creative_id":"555"}&status=PAUSED`,
        },
      );
      const answers = await postBatch(base, batch);
      assert.equal(answers.length, batch.length);
      if (i === 1) campaignId = idOf(answers.shift()!);
      const [adsetId, adId] = answers.map(idOf);
      adsetIds.push(adsetId);
      adIds.push(adId);
    }

    const fields = "id,name,effective_status";
    const edge = (name: string): Item => ({
      method: "GET",
      relative_url: `${GRAPH_API_VERSION}/${campaignId}/${name}?${new URLSearchParams({
        fields,
        effective_status: JSON.stringify(NOT_DELETED),
        limit: "50",
      })}`,
    });
    const [campaign, adsets, ads] = (await postBatch(base, [
      { method: "GET", relative_url: `${GRAPH_API_VERSION}/${campaignId}?fields=${fields}` },
      edge("adsets"),
      edge("ads"),
    ])).map(bodyOf);
    assert.deepEqual(campaign, { id: campaignId, name: "Launch", effective_status: "PAUSED" });
    for (const { page, ids } of [{ page: adsets, ids: adsetIds }, { page: ads, ids: adIds }]) {
      assert.equal(page.paging.next, undefined, "one page holds the whole edge");
      assert.deepEqual(page.data.map((o: { id: string }) => o.id).sort(), [...ids].sort());
      assert.ok(
        page.data.every((o: { effective_status: string }) => o.effective_status === "PAUSED"),
      );
    }

    const state = await h.control("GET", "state?account=act_42");
    assert.deepEqual([state.counts.campaign, state.counts.adset, state.counts.ad], [1, 50, 50]);
    const log = await h.control("GET", "requests");
    assert.equal(log.total, 51, "50 creation batches and one read-back batch");
    assert.deepEqual(log.requests.at(-1).items.map((i: { code: number }) => i.code), [
      200,
      200,
      200,
    ]);
  }));
