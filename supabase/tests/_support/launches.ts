// Launch helpers shared by the creation tests: a valid launch body (with the fields Meta requires
// of ad sets), launching through supabase-js, what the simulated Meta holds, and waiting on a
// condition; and, for the sync tests, an account whose objects have been delivering for days. One
// copy, so every test launches the same way an app does.
import assert from "node:assert/strict";
import { graphApiVersion } from "../../../dev/lib/local-env.ts";
import { GraphClient } from "../../functions/_shared/meta/graph-client.ts";
import { decryptSecret, secretSlots } from "../../functions/_shared/platform/token-crypto.ts";
import { invokeResult, type TestStack } from "./stack.ts";

export type SimObject = {
  id: string;
  type: "campaign" | "adset" | "ad";
  name: string;
  parentId: string | null;
  deleted: boolean;
  status: string;
};

/** The fields Meta requires of a campaign besides its name (budgets live on the ad sets). */
export const campaignFields = {
  objective: "OUTCOME_SALES",
  special_ad_categories: [],
  is_adset_budget_sharing_enabled: false,
};

/** The ad set fields Meta requires, as a launch's template carries them. */
export const adSetTemplate = {
  daily_budget: 1000,
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  targeting: { geo_locations: { countries: ["FR"] } },
};

export function launchBody(
  act: string,
  name: string,
  adSets: number,
  adsPerAdSet = 1,
  extra: Record<string, unknown> = {},
) {
  return {
    adAccountId: act,
    campaign: { name, objective: "OUTCOME_SALES" },
    adSets: { count: adSets, template: adSetTemplate },
    ads: { perAdSet: adsPerAdSet, template: { creativeId: "555" } },
    ...extra,
  };
}

/** POST /campaign-create as the user's app does; the answer's status and body. */
export async function launch(stack: TestStack, userId: string, body: unknown, key?: string) {
  const client = await stack.clientFor(userId);
  return await invokeResult(
    await client.functions.invoke("campaign-create", {
      body: body as Record<string, unknown>,
      headers: key ? { "Idempotency-Key": key } : {},
    }),
  );
}

/** Launches and returns the job id, failing unless the launch is accepted (202). */
export async function launched(stack: TestStack, userId: string, body: unknown): Promise<number> {
  const answer = await launch(stack, userId, body);
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body.jobId as number;
}

/** Every object the simulated Meta holds for the account, deleted ones included. */
export async function objectsOnMeta(stack: TestStack, act: string): Promise<SimObject[]> {
  return (await stack.sim(`/__sim/state?account=${act}`) as { objects: SimObject[] }).objects;
}

/** The live (not deleted) objects of the account on Meta, by type. */
export async function liveOnMeta(stack: TestStack, act: string) {
  const live = (await objectsOnMeta(stack, act)).filter((o) => !o.deleted);
  const of = (type: SimObject["type"]) => live.filter((o) => o.type === type);
  return { campaigns: of("campaign"), adSets: of("adset"), ads: of("ad"), all: live };
}

/** Exactly one campaign with `adSets` ad sets and `ads` ads live, no two sharing a name. */
export async function assertExactly(stack: TestStack, act: string, adSets: number, ads: number) {
  const live = await liveOnMeta(stack, act);
  assert.deepEqual([live.campaigns.length, live.adSets.length, live.ads.length], [1, adSets, ads]);
  assert.equal(new Set(live.adSets.map((o) => o.name)).size, adSets, "no two ad sets share a name");
  assert.equal(new Set(live.ads.map((o) => o.name)).size, ads, "no two ads share a name");
  assert.ok(
    live.adSets.every((o) => o.parentId === live.campaigns[0].id),
    "every ad set is in the campaign",
  );
}

/** The account's access token as adrail stored it (to act on Meta as a person would). */
export async function accountToken(stack: TestStack, act: string): Promise<string> {
  const [row] = await stack
    .sql`select access_token_ciphertext from public.ad_accounts where platform_account_id = ${act}`;
  return await decryptSecret(row.access_token_ciphertext, secretSlots("facebook", act).accessToken);
}

/** A Graph client acting on the account directly, as a person in Ads Manager would. */
export async function metaAsPerson(stack: TestStack, act: string): Promise<GraphClient> {
  return new GraphClient({
    baseUrl: stack.simulator.url,
    version: graphApiVersion,
    accessToken: await accountToken(stack, act),
  });
}

/** Polls `probe` until it answers something; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const days = 86_400_000;

/**
 * A day long before activeAccount's objects existed, yet within what a sync may read (37 months):
 * as since and until, a metrics window with nothing in it.
 */
export const dayWithoutMetrics = new Date(Date.now() - 30 * days).toISOString().slice(0, 10);

/** Creates an ACTIVE object under the account's `edge` on the simulated Meta; answers its id. */
function activeCreator(graph: GraphClient, act: string) {
  return async (edge: string, params: Record<string, unknown>): Promise<string> => {
    const made = await graph.post<{ id: string }>(`/${act}/${edge}`, {
      status: "ACTIVE",
      ...params,
    });
    assert.ok(made.ok, JSON.stringify(made));
    return made.data.id;
  };
}

/**
 * An account on the simulated Meta, connected, with one campaign and `ads` ads (an ad set per 50:
 * Meta takes at most 50 ads per ad set), delivering since five days ago and not yet synced;
 * returns its act_ id, its campaign's id and every object's id.
 */
export async function accountWithAds(stack: TestStack, owner: string, ads: number) {
  const { id } = await stack.connectAdAccount(owner);
  const graph = await metaAsPerson(stack, id);
  await stack.sim("/__sim/clock", { now: new Date(Date.now() - 5 * days).toISOString() });
  const create = activeCreator(graph, id);
  const campaign = await create("campaigns", { name: "Batch C", ...campaignFields });
  const ids = [campaign];
  let adSet = "";
  for (let i = 0; i < ads; i++) {
    if (i % 50 === 0) {
      adSet = await create("adsets", {
        name: `Batch AS ${i}`,
        campaign_id: campaign,
        ...adSetTemplate,
      });
      ids.push(adSet);
    }
    ids.push(
      await create("ads", { name: `Batch ${i}`, adset_id: adSet, creative: { creative_id: "1" } }),
    );
  }
  await stack.sim("/__sim/clock", { now: new Date().toISOString() });
  return { id, campaign, ids: new Set(ids) };
}

/**
 * An account on the simulated Meta, connected through ad-accounts (with `appSecret`, when given),
 * with 1 campaign, 1 ad set, 2 ads created five days ago and ACTIVE since (so they have metrics to
 * lose when they stop).
 */
export async function activeAccount(
  stack: TestStack,
  owner: string,
  options: { appSecret?: string } = {},
) {
  const { id, token } = await stack.connectAdAccount(owner, options);

  await stack.sim("/__sim/clock", { now: new Date(Date.now() - 5 * days).toISOString() });
  const graph = new GraphClient({
    baseUrl: stack.simulator.url,
    version: graphApiVersion,
    accessToken: token,
    appSecret: options.appSecret,
  });
  const create = activeCreator(graph, id);
  const campaign = await create("campaigns", { name: "Sync C", ...campaignFields });
  const adSet = await create("adsets", {
    name: "Sync AS",
    campaign_id: campaign,
    ...adSetTemplate,
  });
  const adA = await create("ads", {
    name: "Sync A",
    adset_id: adSet,
    creative: { creative_id: "1" },
  });
  const adB = await create("ads", {
    name: "Sync B",
    adset_id: adSet,
    creative: { creative_id: "1" },
  });
  await stack.sim("/__sim/clock", { now: new Date().toISOString() });
  return { id, graph, campaign, adSet, adA, adB };
}
