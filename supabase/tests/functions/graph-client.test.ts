// The Graph client and its error classes against the simulator over real HTTP: each failure Meta
// produces arrives as the class the safety layers act on.
import assert from "node:assert/strict";
import { adSetTemplate, campaignFields } from "../_support/launches.ts";
import { type BatchOperation, GraphClient } from "../../functions/_shared/meta/graph-client.ts";
import { retryRead } from "../../functions/_shared/meta/retry.ts";
import { graphApiVersion } from "../../../dev/lib/local-env.ts";
import { testWithStack } from "../_support/stack.ts";

type SimState = {
  objects: { id: string; name: string; parentId: string | null; deleted: boolean }[];
};

testWithStack("Graph client against the simulator", async (t, stack) => {
  const token = "EAAB-graph-client-test-token";
  await stack.sim("/__sim/accounts", { id: "act_900", token });
  const graph = new GraphClient({
    baseUrl: stack.simulator.url,
    version: graphApiVersion,
    accessToken: token,
  });
  const createCampaign = (name: string) =>
    graph.post<{ id: string }>("/act_900/campaigns", {
      name,
      ...campaignFields,
      status: "PAUSED",
    });

  await t.step("a create answers its id; the object is on Meta", async () => {
    const created = await createCampaign("plain");
    assert.ok(created.ok);
    const read = await graph.get<{ name: string }>(`/${created.data.id}`, { fields: "name" });
    assert.ok(read.ok);
    assert.equal(read.data.name, "plain");
  });

  await t.step("a create whose answer is lost is UNKNOWN_OUTCOME, and it was applied", async () => {
    await stack.sim("/__sim/faults", {
      rules: [{ method: "POST", match: "dropped", times: 1, effect: { applyThenDrop: true } }],
    });
    const created = await createCampaign("dropped");
    assert.ok(!created.ok);
    assert.equal(created.error.class, "UNKNOWN_OUTCOME");
    const state = await stack.sim("/__sim/state?account=act_900") as SimState;
    assert.equal(state.objects.filter((o) => o.name === "dropped").length, 1);
  });

  await t.step("a lost answer to a read is TEMPORARY (safe to retry)", async () => {
    await stack.sim("/__sim/faults", {
      rules: [{ method: "GET", times: 1, effect: { applyThenDrop: true } }],
    });
    const read = await graph.get("/act_900", { fields: "name" });
    assert.ok(!read.ok);
    assert.equal(read.error.class, "TEMPORARY");
  });

  await t.step("a rate limit is RATE_LIMIT with the wait from Meta's usage headers", async () => {
    await stack.sim("/__sim/faults", {
      rules: [{ times: 1, effect: { rateLimit: { regainSeconds: 600 } } }],
    });
    const read = await graph.get("/act_900", { fields: "name" });
    assert.ok(!read.ok);
    assert.equal(read.error.class, "RATE_LIMIT");
    assert.ok(
      read.error.retryAfterMs! >= 60_000 && read.error.retryAfterMs! <= 600_000,
      `${read.error.retryAfterMs}`,
    );
    await stack.sim("/__sim/clock", { advanceSeconds: 601 });
  });

  await t.step("a transient server error is TEMPORARY; a bad parameter PERMANENT", async () => {
    await stack.sim("/__sim/faults", {
      rules: [{ times: 1, effect: { error: { code: 2, transient: true, status: 503 } } }],
    });
    const flaky = await graph.get("/act_900", { fields: "name" });
    assert.ok(!flaky.ok);
    assert.equal(flaky.error.class, "TEMPORARY");
    const invalid = await graph.post("/act_900/adsets", { name: "no campaign" });
    assert.ok(!invalid.ok);
    assert.equal(invalid.error.class, "PERMANENT");
    assert.equal(invalid.error.code, 100);
  });

  await t.step("a revoked token and a suspended account are PERMANENT", async () => {
    const wrongToken = new GraphClient({
      baseUrl: stack.simulator.url,
      version: graphApiVersion,
      accessToken: "EAAB-revoked",
    });
    const denied = await wrongToken.get("/act_900", { fields: "name" });
    assert.ok(!denied.ok);
    assert.equal(denied.error.class, "PERMANENT");
    assert.equal(denied.error.code, 190);

    await stack.sim("/__sim/faults", { rules: [{ times: 1, effect: { suspendAccount: true } }] });
    await graph.get("/act_900", { fields: "name" });
    const blocked = await createCampaign("after suspension");
    assert.ok(!blocked.ok);
    assert.equal(blocked.error.class, "PERMANENT");
  });

  await t.step(
    "no server at all is TEMPORARY, even for a create (it never reached Meta)",
    async () => {
      const nowhere = new GraphClient({
        baseUrl: "http://127.0.0.1:9",
        version: graphApiVersion,
        accessToken: token,
      });
      const created = await nowhere.post("/act_900/campaigns", { name: "x", ...campaignFields });
      assert.ok(!created.ok);
      assert.equal(created.error.class, "TEMPORARY");
    },
  );

  await t.step(
    "batch: an ad set and its ad in one request, the ad referencing the ad set",
    async () => {
      await stack.sim("/__sim/accounts", { id: "act_901", token });
      const campaign = await graph.post<{ id: string }>("/act_901/campaigns", {
        name: "batch c",
        ...campaignFields,
      });
      assert.ok(campaign.ok);
      const result = await graph.batch([
        {
          method: "POST",
          path: "/act_901/adsets",
          name: "adset",
          params: { name: "batch as", campaign_id: campaign.data.id, ...adSetTemplate },
        },
        {
          method: "POST",
          path: "/act_901/ads",
          dependsOn: "adset",
          params: {
            name: "batch ad",
            adset_id: "{result=adset:$.id}",
            creative: { creative_id: "1" },
          },
        },
      ]);
      assert.ok(result.ok);
      const [adSet, ad] = result.data;
      assert.ok(adSet.ok && ad.ok, JSON.stringify(result.data));
      const state = await stack.sim("/__sim/state?account=act_901") as SimState;
      const adSetId = (adSet.data as { id: string }).id;
      assert.equal(state.objects.find((o) => o.name === "batch ad")?.parentId, adSetId);
    },
  );

  await t.step(
    "batch: each operation has its own class; a missing answer to a create is UNKNOWN_OUTCOME",
    async () => {
      await stack.sim("/__sim/faults", {
        rules: [
          { match: "lost-answer", effect: { applyThenDrop: true } },
          { match: "refused", effect: { error: { code: 100, status: 400 } } },
        ],
      });
      const campaign = (name: string): BatchOperation => ({
        method: "POST",
        path: "/act_901/campaigns",
        params: { name, ...campaignFields },
      });
      const result = await graph.batch([
        campaign("fine"),
        campaign("lost-answer"),
        campaign("refused"),
      ]);
      assert.ok(result.ok);
      assert.deepEqual(result.data.map((r) => r.ok ? "ok" : r.error.class), [
        "ok",
        "UNKNOWN_OUTCOME",
        "PERMANENT",
      ]);
      const state = await stack.sim("/__sim/state?account=act_901") as SimState;
      assert.equal(
        state.objects.filter((o) => o.name === "lost-answer").length,
        1,
        "the lost create was applied",
      );
      assert.equal(state.objects.filter((o) => o.name === "refused").length, 0);
      await stack.sim("/__sim/faults", { rules: [] });
    },
  );

  await t.step(
    "batch: per-id reads ride in it; a dropped batch of creates is UNKNOWN_OUTCOME as a whole",
    async () => {
      const state = await stack.sim("/__sim/state?account=act_901") as SimState;
      const ids = state.objects.map((o) => o.id);
      const read = await graph.batch(
        ids.map((id) => ({
          method: "GET" as const,
          path: `/${id}`,
          params: { fields: "id,name" },
        })),
      );
      assert.ok(read.ok && read.data.every((r) => r.ok));
      assert.deepEqual(read.data.map((r) => r.ok && (r.data as { id: string }).id), ids);

      await stack.sim("/__sim/faults", {
        rules: [{ path: "^/$", times: 1, effect: { applyThenDrop: true } }],
      });
      const dropped = await graph.batch([
        {
          method: "POST",
          path: "/act_901/campaigns",
          params: { name: "whole batch lost", ...campaignFields },
        },
      ]);
      assert.ok(!dropped.ok);
      assert.equal(dropped.error.class, "UNKNOWN_OUTCOME");
    },
  );

  await t.step(
    "timeouts: a write that times out is UNKNOWN_OUTCOME (and was applied), a read TEMPORARY and retried",
    async () => {
      await stack.sim("/__sim/accounts", { id: "act_902", token });
      const slow = new GraphClient({
        baseUrl: stack.simulator.url,
        version: graphApiVersion,
        accessToken: token,
        timeouts: { readMs: 300, writeMs: 800 },
      });
      const delayed = (rule: Record<string, unknown>, delayMs: number) =>
        stack.sim("/__sim/faults", { rules: [{ ...rule, times: 1, effect: { delayMs } }] });
      const named = async (name: string) =>
        (await stack.sim("/__sim/state?account=act_902") as SimState).objects
          .filter((o) => o.name === name);

      await delayed({ method: "POST", match: "slow-create" }, 1500);
      const created = await slow.post("/act_902/campaigns", {
        name: "slow-create",
        ...campaignFields,
      });
      assert.ok(!created.ok);
      assert.equal(created.error.class, "UNKNOWN_OUTCOME");
      assert.equal(created.error.message, "no answer from the Graph API: timed out after 800 ms");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal((await named("slow-create")).length, 1, "Meta applied it after all");

      // The write's timeout is the write's: slower than a read may take, within a write's.
      await delayed({ method: "POST", match: "patient-create" }, 500);
      const patient = await slow.post<{ id: string }>("/act_902/campaigns", {
        name: "patient-create",
        ...campaignFields,
      });
      assert.ok(patient.ok, JSON.stringify(patient));

      await delayed({ method: "DELETE" }, 1500);
      const deleted = await slow.batch([{ method: "DELETE", path: `/${patient.data.id}` }]);
      assert.ok(!deleted.ok);
      assert.equal(deleted.error.class, "UNKNOWN_OUTCOME", "a batch holding a delete is a write");

      await delayed({ method: "GET", path: "^/act_902$" }, 1000);
      const read = await slow.get("/act_902", { fields: "name" });
      assert.ok(!read.ok);
      assert.equal(read.error.class, "TEMPORARY");
      assert.equal(read.error.message, "no answer from the Graph API: timed out after 300 ms");

      await delayed({ method: "GET", path: "^/act_902$" }, 1000);
      const retried = await retryRead(() =>
        slow.get<{ name: string }>("/act_902", { fields: "name" })
      );
      assert.ok(retried.ok, "the second try answers");
      const [rule] = (await stack.sim("/__sim/faults") as { rules: { fired: number }[] }).rules;
      assert.equal(rule.fired, 1);
      await stack.sim("/__sim/faults", { rules: [] });
    },
  );

  await t.step("batch: more than 50 operations is refused before anything is sent", async () => {
    const before = (await stack.sim("/__sim/requests") as { total: number }).total;
    const tooMany = await graph.batch(
      Array.from(
        { length: 51 },
        () => ({ method: "GET" as const, path: "/act_901", params: { fields: "name" } }),
      ),
    );
    assert.ok(!tooMany.ok);
    assert.equal(tooMany.error.class, "PERMANENT");
    assert.equal((await stack.sim("/__sim/requests") as { total: number }).total, before);
  });
});
