/**
 * Acceptance: a client written only from Meta's docs (plain fetch, form-encoded `batch` JSON
 * string, {result=...} references) creates a 1-50-1 launch with one batch per ad set, the
 * campaign riding in the first, then reads all 101 objects back in one batch of multi-id reads.
 */

import assert from "node:assert/strict";
import { withSim } from "./helpers.ts";

const GRAPH_API_VERSION = "v21.0";
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

Deno.test("acceptance: 1-50-1 in one batch per ad set, read back in one batch of multi-id reads", () =>
  withSim(async (h) => {
    await h.control("POST", "accounts", { id: "act_42", token: ACCESS_TOKEN });
    const base = h.url;
    const act = "act_42";
    let campaignId = "";
    const ids: string[] = [];

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
          body: "name=Launch&objective=OUTCOME_TRAFFIC&special_ad_categories=[]&status=PAUSED",
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
      ids.push(...answers.map(idOf));
    }
    ids.unshift(campaignId);
    assert.equal(ids.length, 101);

    const reads: Item[] = [];
    for (let i = 0; i < ids.length; i += 50) {
      reads.push({
        method: "GET",
        relative_url: `${GRAPH_API_VERSION}/?ids=${
          ids.slice(i, i + 50).join(",")
        }&fields=id,name,status`,
      });
    }
    const answers = await postBatch(base, reads);
    const objects = Object.assign(
      {},
      ...answers.map((a) => {
        assert.equal(a?.code, 200);
        return JSON.parse(a!.body);
      }),
    );
    assert.equal(Object.keys(objects).length, 101);
    assert.equal(objects[campaignId].name, "Launch");
    assert.ok(ids.every((id) => objects[id].status === "PAUSED"));

    const state = await h.control("GET", "state?account=act_42");
    assert.deepEqual([state.counts.campaign, state.counts.adset, state.counts.ad], [1, 50, 50]);
    const log = await h.control("GET", "requests");
    assert.equal(log.total, 51, "50 creation batches and one read-back batch");
  }));
