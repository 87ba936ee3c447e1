/**
 * Test client written the way Meta's docs show calls: form-encoded bodies whose JSON-valued
 * parameters are JSON strings, query strings on GET, the token as `access_token`.
 */

import { type RunningSimulator, startSimulator } from "../server.ts";

/** Today's version; it has no retirement date yet, so the tests do not age (versions.ts). */
export const VERSION = "v27.0";
export const TOKEN = "token-1";

export interface GraphAnswer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

export type Values = Record<string, unknown>;

/** A batch item's answer with its JSON body decoded. */
// deno-lint-ignore no-explicit-any
export type ItemAnswer = { code: number; body: any } | null;

/**
 * Create bodies Meta accepts on VERSION (create-rules.ts), for tests to spread their own fields
 * over: a campaign without a campaign budget, an ad set with its own budget, an ad with its
 * creative.
 */
export const CAMPAIGN: Values = {
  objective: "OUTCOME_SALES",
  special_ad_categories: [],
  is_adset_budget_sharing_enabled: false,
};
export const ADSET: Values = {
  billing_event: "IMPRESSIONS",
  optimization_goal: "REACH",
  daily_budget: 1000,
  targeting: { geo_locations: { countries: ["US"] } },
};
export const AD: Values = { creative: { creative_id: "9" } };

/** Form encoding as Meta's docs show it, JSON-valued parameters as JSON strings; undefined left out. */
export function form(params: Values): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) q.set(k, typeof v === "string" ? v : JSON.stringify(v));
  }
  return q.toString();
}

export class Harness {
  constructor(readonly sim: RunningSimulator) {}

  get url(): string {
    return this.sim.url;
  }

  // deno-lint-ignore no-explicit-any
  async control(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.url}/__sim/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 400) {
      throw new Error(`control ${path}: ${res.status} ${JSON.stringify(json)}`);
    }
    return json;
  }

  account(id = "act_1", extra: Values = {}): Promise<unknown> {
    return this.control("POST", "accounts", { id, token: TOKEN, ...extra });
  }

  faults(rules: unknown[]): Promise<unknown> {
    return this.control("POST", "faults", { rules });
  }

  /**
   * A Graph call; `params` go in the query for GET/DELETE and in a form body for POST. The path
   * gets VERSION in front unless it names its own ("v25.0/act_1").
   */
  async graph(
    method: string,
    path: string,
    params: Values = {},
    token: string | null = TOKEN,
  ): Promise<GraphAnswer> {
    const all = token === null ? params : { access_token: token, ...params };
    const relative = path.replace(/^\//, "");
    const url = `${this.url}/${/^v\d+\.\d+(\/|$)/.test(relative) ? "" : `${VERSION}/`}${relative}`;
    const res = method === "POST"
      ? await fetch(url, {
        method,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form(all),
      })
      : await fetch(`${url}${url.includes("?") ? "&" : "?"}${form(all)}`, { method });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  /**
   * POST / (or `path`, e.g. "v25.0/") with batch=[...]; answers each item with its body decoded
   * (null stays null).
   */
  async batch(
    items: Values[],
    extra: Values = {},
    path = "",
  ): Promise<GraphAnswer & { items: ItemAnswer[] }> {
    const res = await this.graph("POST", path, { batch: items, ...extra });
    const decoded = Array.isArray(res.body)
      ? res.body.map((r: { code: number; body: string } | null) =>
        r && { code: r.code, body: JSON.parse(r.body) }
      )
      : [];
    return { ...res, items: decoded };
  }

  async create(
    type: "campaigns" | "adsets" | "ads",
    params: Values,
    account = "act_1",
  ): Promise<string> {
    const res = await this.graph("POST", `${account}/${type}`, params);
    if (res.status !== 200) throw new Error(`create ${type}: ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  /** A campaign with one ad set and one ad; their ids. */
  async tree(
    name = "T",
    account = "act_1",
  ): Promise<{ campaign: string; adset: string; ad: string }> {
    const campaign = await this.create("campaigns", { ...CAMPAIGN, name: `${name} c` }, account);
    const adset = await this.create(
      "adsets",
      { ...ADSET, name: `${name} s`, campaign_id: campaign },
      account,
    );
    const ad = await this.create("ads", { ...AD, name: `${name} a`, adset_id: adset }, account);
    return { campaign, adset, ad };
  }
}

/** Starts a simulator on a free port, runs `fn`, always closes it. */
export async function withSim(
  fn: (h: Harness) => Promise<void>,
  options: { seed?: number; faultSeed?: number; latencyMs?: number } = {},
): Promise<void> {
  const sim = await startSimulator({
    port: 0,
    seed: options.seed ?? 7,
    faultSeed: options.faultSeed,
    latencyMs: options.latencyMs,
  });
  try {
    await fn(new Harness(sim));
  } finally {
    await sim.close();
  }
}
