// Attacks that must be refused with nothing changed: what the database holds for an ad account
// (its row, members, jobs, verifications, entities, metrics, status-change log), what the simulated
// Meta holds for it and every request it received, before and after.
import assert from "node:assert/strict";
import type { TestStack } from "./stack.ts";

/** Everything adrail keeps for the account `act`, and how many requests Meta has received. */
async function footprint(stack: TestStack, act: string) {
  const [{ state }] = await stack.sql`
    with a as (select * from public.ad_accounts where platform_account_id = ${act})
    select jsonb_build_object(
      'account', (select to_jsonb(a) from a),
      'members', (select coalesce(jsonb_agg(to_jsonb(m) order by m.user_id), '[]')
                  from public.ad_account_members m join a on a.id = m.ad_account_id),
      'jobs', (select coalesce(jsonb_agg(to_jsonb(j) order by j.id), '[]')
               from public.campaign_creation_jobs j join a on a.id = j.ad_account_id),
      'slots', (select coalesce(jsonb_agg(to_jsonb(s) order by s.id), '[]')
                from public.entity_creation_slots s
                join public.campaign_creation_jobs j on j.id = s.job_id join a on a.id = j.ad_account_id),
      'verifications', (select count(*) from public.pre_creation_verifications v
                        join a on a.id = v.ad_account_id),
      'campaigns', (select count(*) from public.ad_campaigns c join a on a.id = c.ad_account_id),
      'adSets', (select count(*) from public.ad_sets s join a on a.id = s.ad_account_id),
      'ads', (select count(*) from public.ads d join a on a.id = d.ad_account_id),
      'metrics', (select count(*) from public.ad_metrics_daily d join a on a.id = d.ad_account_id),
      'statusLog', (select coalesce(jsonb_agg(to_jsonb(l) order by l.id), '[]')
                    from public.ad_status_change_log l join a on a.id = l.ad_account_id)
    ) as state`;
  const { requests } = await stack.sim("/__sim/requests") as {
    requests: { method: string; items: { method: string }[] }[];
  };
  // The objects Meta holds for the account (its clock and spend move on by themselves); none when
  // Meta has no such account (an attack naming an id nobody created: the simulator answers 404).
  const { objects, counts } = await stack.sim(`/__sim/state?account=${act}`).then(
    (state) => state as Record<string, unknown>,
    (error) => {
      if (String(error).includes("answered 404")) return { objects: null, counts: null };
      throw error;
    },
  );
  return { database: state, meta: { objects, counts }, metaRequests: requests };
}

/**
 * Runs `attack` and asserts that it changed nothing for the account `act`, in the database or on
 * the simulated Meta, which received no request at all; with `metaReads`, only reads (GETs: a
 * connect checks the token it is given before anything else). Returns what `attack` answered.
 */
export async function refusedWithNothingChanged<T>(
  stack: TestStack,
  act: string,
  attack: () => Promise<T>,
  options: { metaReads?: boolean } = {},
): Promise<T> {
  const before = await footprint(stack, act);
  const answer = await attack();
  const after = await footprint(stack, act);
  const sent = after.metaRequests.slice(before.metaRequests.length);
  if (options.metaReads) {
    // A read goes out as a batch of one GET when the account has an app secret (proof in the body).
    const reads = (r: (typeof sent)[number]) =>
      r.method === "GET" || (r.items.length > 0 && r.items.every((item) => item.method === "GET"));
    assert.ok(sent.every(reads), "Meta received reads only");
    after.metaRequests = before.metaRequests;
  }
  assert.deepEqual(after, before, "nothing changed, nothing sent to Meta");
  return answer;
}

/** An answer of a function called with fetch: status and JSON body. */
export type Answer = { status: number; body: Record<string, unknown> };

/**
 * What to send a function: the method (POST by default) and a body, sent as JSON, or `raw` sent
 * as it is (text, bytes or a stream: what JSON.stringify cannot build).
 */
export type CallInit = { method?: string; body?: unknown; raw?: BodyInit };

/** Calls a function with `bearer` as its Authorization; the response as it came. */
export function requestFunction(
  stack: TestStack,
  bearer: string,
  path: string,
  init: CallInit = {},
): Promise<Response> {
  return fetch(`${stack.functions.url}/functions/v1/${path}`, {
    method: init.method ?? "POST",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
}

/** Calls a function with `bearer` as its Authorization, JSON in and out. */
export async function callFunction(
  stack: TestStack,
  bearer: string,
  path: string,
  init: CallInit = {},
): Promise<Answer> {
  const response = await requestFunction(stack, bearer, path, init);
  return { status: response.status, body: await response.json() };
}
