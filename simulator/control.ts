/** The /__sim/ control API (contract in SPEC "The Graph API simulator"; shapes in README.md). */

import { z } from "zod";
import { faultRuleSchema } from "./faults.ts";
import { amountSpentCents } from "./insights.ts";
import type { SimState } from "./state.ts";
import { effectiveStatus, setStatus } from "./status.ts";
import {
  type Account,
  ACCOUNT_STATUSES,
  DEFAULT_INSIGHTS_SETTINGS,
  DEFAULT_LIMITS,
  type Entity,
  ENTITY_STATUSES,
  ENTITY_TYPES,
  type EntityStatus,
} from "./store.ts";

const limitsSchema = z.strictObject({
  campaigns: z.number().int().nonnegative(),
  adsets: z.number().int().nonnegative(),
  ads: z.number().int().nonnegative(),
  adsetsPerCampaign: z.number().int().nonnegative(),
  adsPerAdset: z.number().int().nonnegative(),
}).partial();

const accountStatusSchema = z.number().int().refine(
  (s) => (ACCOUNT_STATUSES as readonly number[]).includes(s),
  `account_status must be one of ${ACCOUNT_STATUSES.join(", ")}`,
);

const accountSchema = z.strictObject({
  id: z.string().regex(/^act_\d+$/, 'must look like "act_123"'),
  token: z.string().min(1),
  status: accountStatusSchema.optional(),
  limits: limitsSchema.optional(),
  spendCap: z.number().int().nonnegative().optional(),
  name: z.string().min(1).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  appSecret: z.string().min(1).optional(),
  insights: z.strictObject({
    syncMaxRows: z.number().int().nonnegative(),
    reportRunPolls: z.number().int().min(1),
    failingReportRuns: z.number().int().nonnegative(),
  }).partial().optional(),
});

const faultsSchema = z.strictObject({ rules: z.array(faultRuleSchema) });

const clockSchema = z.strictObject({
  advanceSeconds: z.number().optional(),
  now: z.iso.datetime({ offset: true }).optional(),
}).refine(
  (c) => (c.advanceSeconds === undefined) !== (c.now === undefined),
  "give advanceSeconds or now",
);

const statusSchema = z.strictObject({
  id: z.string().min(1),
  status: z.union([
    z.enum(ENTITY_STATUSES as [EntityStatus, ...EntityStatus[]]),
    accountStatusSchema,
  ]),
});

const json = (body: unknown, status = 200) => Response.json(body, { status });
const fail = (
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
) => json({ error, message, ...extra }, status);

async function parse<T>(
  req: Request,
  schema: z.ZodType<T>,
): Promise<{ ok: true; value: T } | { ok: false; response: Response }> {
  let body: unknown;
  try {
    const text = await req.text();
    body = text.trim() ? JSON.parse(text) : {};
  } catch {
    return { ok: false, response: fail(400, "invalid_json", "The body must be JSON") };
  }
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  return {
    ok: false,
    response: fail(400, "invalid_body", "The body does not match the schema", { issues }),
  };
}

function accountView(sim: SimState, a: Account) {
  return {
    id: a.id,
    name: a.name,
    status: a.status,
    currency: a.currency,
    spendCap: a.spendCap,
    amountSpent: amountSpentCents(sim, a),
    limits: a.limits,
    insights: a.insights,
    appSecretProofRequired: a.appSecret !== null,
    throttledUntil: a.throttledUntil > sim.clock.now()
      ? new Date(a.throttledUntil).toISOString()
      : null,
  };
}

function objectView(sim: SimState, e: Entity) {
  return {
    id: e.id,
    type: e.type,
    accountId: e.accountId,
    parentId: e.type === "campaign" ? e.accountId : e.type === "adset" ? e.campaignId : e.adsetId,
    campaignId: e.campaignId,
    adsetId: e.adsetId,
    name: e.name,
    status: e.status,
    effectiveStatus: effectiveStatus(sim.store, e),
    deleted: e.status === "DELETED",
    createdAt: new Date(e.createdAt).toISOString(),
  };
}

function state(sim: SimState, accountId: string | null): Response {
  if (accountId && !sim.store.accounts.has(accountId)) {
    return fail(404, "not_found", `No account ${accountId}`);
  }
  const accounts = [...sim.store.accounts.values()].filter((a) => !accountId || a.id === accountId);
  const objects = sim.store.list((e) => !accountId || e.accountId === accountId).reverse().map((
    e,
  ) => objectView(sim, e));
  const zero = () => Object.fromEntries(ENTITY_TYPES.map((t) => [t, 0])) as Record<string, number>;
  const live = zero(), deleted = zero();
  const byParent: Record<string, Record<string, number>> = {};
  for (const o of objects) {
    (o.deleted ? deleted : live)[o.type]++;
    if (!o.deleted && o.parentId) {
      const counts = byParent[o.parentId] ??= {};
      counts[o.type] = (counts[o.type] ?? 0) + 1;
    }
  }
  return json({
    now: new Date(sim.clock.now()).toISOString(),
    accounts: accounts.map((a) => accountView(sim, a)),
    objects,
    counts: { ...live, deleted, byParent },
  });
}

export async function handleControl(sim: SimState, req: Request, url: URL): Promise<Response> {
  const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
  switch (route) {
    case "POST /__sim/reset":
      sim.reset();
      return json({ ok: true });
    case "POST /__sim/accounts": {
      const parsed = await parse(req, accountSchema);
      if (!parsed.ok) return parsed.response;
      const a = parsed.value;
      const existing = sim.store.accounts.get(a.id);
      const account: Account = {
        id: a.id,
        token: a.token,
        appSecret: a.appSecret ?? null,
        status: (a.status ?? 1) as Account["status"],
        name: a.name ?? existing?.name ?? `Simulated ${a.id}`,
        currency: a.currency ?? "USD",
        spendCap: a.spendCap ?? 0,
        limits: { ...DEFAULT_LIMITS, ...a.limits },
        createdAt: existing?.createdAt ?? sim.clock.now(),
        throttledUntil: existing?.throttledUntil ?? 0,
        throttleCode: existing?.throttleCode ?? 80004,
        calls: existing?.calls ?? [],
        insights: { ...DEFAULT_INSIGHTS_SETTINGS, ...existing?.insights, ...a.insights },
      };
      sim.store.accounts.set(a.id, account);
      return json(accountView(sim, account), existing ? 200 : 201);
    }
    case "GET /__sim/faults":
      return json({ rules: sim.faults.describe() });
    case "POST /__sim/faults": {
      const parsed = await parse(req, faultsSchema);
      if (!parsed.ok) return parsed.response;
      sim.faults.setRules(parsed.value.rules);
      return json({ rules: sim.faults.describe() });
    }
    case "GET /__sim/clock":
    case "POST /__sim/clock": {
      if (req.method === "POST") {
        const parsed = await parse(req, clockSchema);
        if (!parsed.ok) return parsed.response;
        const { advanceSeconds, now } = parsed.value;
        if (now !== undefined) sim.clock.set(Date.parse(now));
        else sim.clock.advance(advanceSeconds!);
      }
      return json({
        now: new Date(sim.clock.now()).toISOString(),
        offsetSeconds: sim.clock.offsetSeconds(),
      });
    }
    case "POST /__sim/status": {
      const parsed = await parse(req, statusSchema);
      if (!parsed.ok) return parsed.response;
      const { id, status } = parsed.value;
      const account = sim.store.accounts.get(id);
      if (account && typeof status === "number") {
        account.status = status as Account["status"];
        return json({ id, status });
      }
      const entity = sim.store.entities.get(id);
      if (!entity || typeof status !== "string") {
        return fail(
          404,
          "not_found",
          `No ${typeof status === "number" ? "account" : "object"} ${id}`,
        );
      }
      setStatus(sim.store, entity, status, sim.clock.now());
      return json({
        id,
        status: entity.status,
        effectiveStatus: effectiveStatus(sim.store, entity),
      });
    }
    case "GET /__sim/state":
      return state(sim, url.searchParams.get("account"));
    case "GET /__sim/requests":
      return json({ total: sim.log.entries().length, requests: sim.log.entries() });
    default:
      return fail(404, "not_found", `No control route ${route}`);
  }
}
