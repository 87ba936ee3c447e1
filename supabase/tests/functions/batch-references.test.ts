// `{result=...}` is Meta's batch reference syntax, and adrail's own batches chain each create to
// its parent with it. A launch carrying one in any text of its own (the campaign's name, a
// template's value or field name) is refused with 400 naming the field, and nothing is written or
// sent to Meta. Below the validation, the Graph client sends such text percent-encoded: Meta reads
// it as text, never as a reference.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { GraphClient } from "../../functions/_shared/meta/graph-client.ts";
import { graphApiVersion } from "../../../dev/lib/local-env.ts";
import { adSetTemplate, campaignFields, launchBody, objectsOnMeta } from "../_support/launches.ts";
import { callFunction, refusedWithNothingChanged } from "../_support/refusals.ts";
import { testWithStack } from "../_support/stack.ts";

const reference = "{result=campaign:$.id}";

testWithStack("batch references in user text", async (t, stack) => {
  const owner = await stack.createUser();
  const { id: act, token } = await stack.connectAdAccount(owner);
  const bearer = await signLocalUserJwt(owner);

  await t.step("400 naming the field, nothing written, nothing sent to Meta", async () => {
    const base = launchBody(act, "Spliced", 1);
    const attacks: [string, unknown][] = [
      ["campaign.name", { ...base, campaign: { ...base.campaign, name: `Sale ${reference}` } }],
      ["campaign.special_ad_categories.0", {
        ...base,
        campaign: { ...base.campaign, special_ad_categories: [reference] },
      }],
      ["adSets.template.targeting.geo_locations.countries.0", {
        ...base,
        adSets: {
          count: 1,
          template: { ...adSetTemplate, targeting: { geo_locations: { countries: [reference] } } },
        },
      }],
      ["adSets.template.bid_strategy", {
        ...base,
        adSets: { count: 1, template: { ...adSetTemplate, bid_strategy: `x{RESULT=adset:$.id}` } },
      }],
      [`ads.template.${reference}`, {
        ...base,
        ads: { perAdSet: 1, template: { creativeId: "555", [reference]: "1" } },
      }],
    ];
    for (const [field, body] of attacks) {
      const answer = await refusedWithNothingChanged(
        stack,
        act,
        () => callFunction(stack, bearer, "campaign-create", { body }),
      );
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, "invalid_body");
      assert.deepEqual(answer.body.issues, [{
        path: field,
        message: "may not contain {result=...}: Meta's batch reference syntax is adrail's own",
      }]);
    }
  });

  await t.step("the same launch without the reference goes through (the control)", async () => {
    const answer = await callFunction(stack, bearer, "campaign-create", {
      body: launchBody(act, "Sale", 1),
    });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(await stack.jobSettled(answer.body.jobId as number), "completed");
  });

  await t.step(
    "the Graph client sends a reference inside text as text; a whole-value reference resolves",
    async () => {
      const graph = new GraphClient({
        baseUrl: stack.simulator.url,
        version: graphApiVersion,
        accessToken: token,
      });
      const name = `Named ${reference}`;
      const batch = await graph.batch([
        {
          method: "POST",
          path: `/${act}/campaigns`,
          name: "campaign",
          params: { ...campaignFields, name: "Referenced", status: "PAUSED" },
        },
        {
          method: "POST",
          path: `/${act}/campaigns`,
          params: { ...campaignFields, name, status: "PAUSED" },
        },
        {
          method: "POST",
          path: `/${act}/adsets`,
          params: { ...adSetTemplate, name: "Child", campaign_id: reference, status: "PAUSED" },
        },
      ]);
      assert.ok(batch.ok && batch.data.every((item) => item.ok), JSON.stringify(batch));
      const objects = await objectsOnMeta(stack, act);
      const referenced = objects.find((o) => o.name === "Referenced")!;
      assert.ok(objects.some((o) => o.name === name), "the name is stored as the text it was");
      assert.equal(objects.find((o) => o.name === "Child")?.parentId, referenced.id);
    },
  );
});
