/**
 * The Graph API paths the simulator serves: ad account reads, create/read/update/delete of
 * campaigns, ad sets and ads, edge listing, multi-id reads and /insights.
 * Reference: https://developers.facebook.com/docs/marketing-api/reference (ad-account, ad-campaign-group,
 * ad-campaign, adgroup); paging: https://developers.facebook.com/docs/graph-api/results
 */

import type { AuthContext } from "./auth.ts";
import { metaTime } from "./clock.ts";
import { validateCreate } from "./create-rules.ts";
import { errors } from "./errors.ts";
import { passes, readFilters } from "./filtering.ts";
import { amountSpentCents, insights } from "./insights.ts";
import { reportRunRoute, startReportRun } from "./report-runs.ts";
import { type Page, paginate } from "./paging.ts";
import {
  encodeQuery,
  fieldsParam,
  hasExecutionOption,
  jsonParam,
  listParam,
  type Params,
  stringParam,
} from "./params.ts";
import type { SimState } from "./state.ts";
import { effectiveStatus, setStatus } from "./status.ts";
import {
  type Account,
  type Entity,
  ENTITY_STATUSES,
  type EntityStatus,
  type EntityType,
  numericAccountId,
} from "./store.ts";
import { unversioned, versionOf } from "./versions.ts";

/** One Graph call, from a plain HTTP request or a batch item. */
export interface Operation {
  method: string;
  /** Path without the version prefix, e.g. /act_1/adsets; "/" for multi-id reads. */
  path: string;
  /** Path as sent, e.g. /v21.0/act_1/adsets. */
  versionedPath: string;
  /** The version the path names (a batch item's defaults to its envelope's); null = none. */
  requestedVersion: string | null;
  params: Params;
  /** Absolute URL of the path and the parameters that paging links repeat. */
  linkBase: string;
  linkParams: Params;
  /** Query string and body text, what fault rules' `match` searches. */
  matchText: string;
}

export function makeOperation(
  method: string,
  versionedPath: string,
  query: string,
  params: Params,
  bodyText: string,
  serverUrl: string,
  ctx: AuthContext,
  defaultVersion: string | null = null,
): Operation {
  const path = unversioned(versionedPath);
  const linkParams: Params = Object.fromEntries(new URLSearchParams(query));
  delete linkParams.after;
  if (ctx.tokenAsParam) linkParams.access_token = ctx.token;
  return {
    method: method.toUpperCase(),
    path,
    versionedPath,
    requestedVersion: versionOf(versionedPath) ?? defaultVersion,
    params,
    linkBase: serverUrl + versionedPath,
    linkParams,
    matchText: [query, bodyText].filter(Boolean).join("&"),
  };
}

const EDGE_TYPES: Record<string, EntityType> = {
  campaigns: "campaign",
  adsets: "adset",
  ads: "ad",
};
/** Which edges each entity has: /<campaign>/adsets, /<campaign>/ads, /<adset>/ads. */
const CHILD_EDGES: Record<EntityType, string[]> = {
  campaign: ["adsets", "ads"],
  adset: ["ads"],
  ad: [],
};
/** Parameters that are not stored as object fields. */
const RESERVED = new Set([
  "access_token",
  "appsecret_proof",
  "execution_options",
  "fields",
  "name",
  "status",
  "campaign_id",
  "adset_id",
  // Legacy protocol parameters (legacy.ts), never object fields.
  "method",
  "date_format",
  "callback",
]);

/**
 * Runs the operation as `version` (the served version it resolved to); `commit` false answers as
 * if it succeeded but stores nothing.
 */
export function route(
  sim: SimState,
  ctx: AuthContext,
  op: Operation,
  version: string,
  commit: boolean,
): unknown {
  const [node, edge, ...rest] = op.path.split("/").filter(Boolean);
  if (rest.length) throw errors.unknownPath(`/${rest.join("/")}`);
  if (!node) {
    if (op.method === "GET" && op.params.ids !== undefined) return multiRead(sim, ctx, op.params);
    throw errors.unknownPath(op.path);
  }
  const run = sim.store.reportRuns.get(node);
  if (run && ctx.accountIds.has(run.accountId)) {
    return reportRunRoute(sim, op, run, edge, nextUrl(op));
  }
  return node.startsWith("act_")
    ? accountRoute(sim, op, visibleAccount(sim, ctx, node, op.method), edge, version, commit)
    : entityRoute(sim, op, visibleEntity(sim, ctx, node, op.method), edge, commit);
}

function visibleAccount(sim: SimState, ctx: AuthContext, id: string, method: string): Account {
  const account = sim.store.accounts.get(id);
  if (!account || !ctx.accountIds.has(id)) throw errors.objectMissing(id, method);
  return account;
}

function visibleEntity(sim: SimState, ctx: AuthContext, id: string, method: string): Entity {
  const entity = sim.store.entities.get(id);
  if (!entity || !ctx.accountIds.has(entity.accountId)) throw errors.objectMissing(id, method);
  return entity;
}

function accountRoute(
  sim: SimState,
  op: Operation,
  account: Account,
  edge: string | undefined,
  version: string,
  commit: boolean,
): unknown {
  const type = edge ? EDGE_TYPES[edge] : undefined;
  if (!edge && op.method === "GET") {
    return pick(accountRecord(sim, account, fieldsParam(op.params)), fieldsParam(op.params));
  }
  if (type && op.method === "GET") return list(sim, op, type, (e) => e.accountId === account.id);
  if (type && op.method === "POST") return create(sim, account, type, op.params, version, commit);
  if (edge === "insights" && op.method === "GET") {
    return insights(
      sim,
      { level: "account", account, synchronous: true },
      op.params,
      nextUrl(op),
    );
  }
  if (edge === "insights" && op.method === "POST") return startReportRun(sim, account, op.params);
  throw edge ? errors.unknownPath(`/${edge}`) : errors.objectMissing(account.id, op.method);
}

function entityRoute(
  sim: SimState,
  op: Operation,
  e: Entity,
  edge: string | undefined,
  commit: boolean,
): unknown {
  const account = sim.store.accounts.get(e.accountId)!;
  if (!edge) {
    if (op.method === "GET") return pick(entityRecord(sim, e), fieldsParam(op.params));
    if (op.method === "POST") return update(sim, account, e, op.params, commit);
    if (op.method === "DELETE") return remove(sim, account, e, op.params, commit);
  } else if (op.method === "GET" && edge === "insights") {
    return insights(
      sim,
      { level: e.type, account, entity: e, synchronous: true },
      op.params,
      nextUrl(op),
    );
  } else if (op.method === "GET" && CHILD_EDGES[e.type].includes(edge)) {
    return list(sim, op, EDGE_TYPES[edge], (c) => c.campaignId === e.id || c.adsetId === e.id);
  }
  throw edge ? errors.unknownPath(`/${edge}`) : errors.objectMissing(e.id, op.method);
}

const nextUrl = (op: Operation) => (after: string) =>
  `${op.linkBase}?${encodeQuery({ ...op.linkParams, after })}`;

/** The requested fields of a record; `id` always comes back, as on Meta. */
function pick(
  record: Record<string, unknown>,
  fields: string[] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: record.id };
  for (const f of fields ?? []) if (record[f] !== undefined) out[f] = record[f];
  return out;
}

function accountRecord(
  sim: SimState,
  a: Account,
  fields: string[] | undefined,
): Record<string, unknown> {
  return {
    id: a.id,
    account_id: numericAccountId(a.id),
    name: a.name,
    account_status: a.status,
    disable_reason: a.status === 2 ? 1 : 0,
    currency: a.currency,
    spend_cap: String(a.spendCap),
    // Computing spend walks every ad's days, so only when asked for.
    amount_spent: fields?.includes("amount_spent") ? String(amountSpentCents(sim, a)) : undefined,
    balance: "0",
    timezone_name: "Etc/UTC",
    created_time: metaTime(a.createdAt),
  };
}

function entityRecord(sim: SimState, e: Entity): Record<string, unknown> {
  const creative = e.params.creative as { creative_id?: unknown } | undefined;
  return {
    ...e.params,
    id: e.id,
    name: e.name,
    status: e.status,
    configured_status: e.status,
    effective_status: effectiveStatus(sim.store, e),
    account_id: numericAccountId(e.accountId),
    campaign_id: e.campaignId ?? undefined,
    adset_id: e.adsetId ?? undefined,
    creative: creative ? { id: String(creative.creative_id) } : undefined,
    created_time: metaTime(e.createdAt),
    updated_time: metaTime(e.updatedAt),
  };
}

function list(
  sim: SimState,
  op: Operation,
  type: EntityType,
  inScope: (e: Entity) => boolean,
): Page<unknown> & { summary?: unknown } {
  const filters = readFilters(op.params);
  const items = sim.store.list((e) => e.type === type && inScope(e)).filter((e) => {
    const record = entityRecord(sim, e);
    // Prefixed fields such as campaign.id read as campaign_id.
    return passes(
      filters,
      type,
      record.effective_status as string,
      (f) => record[f] ?? record[f.replace(".", "_")],
    );
  });
  const fields = fieldsParam(op.params);
  const page = paginate(items, (e) => e.id, true, op.params, nextUrl(op));
  const summary = op.params.summary !== undefined && stringParam(op.params, "summary") !== "false";
  return {
    ...page,
    data: page.data.map((e) => pick(entityRecord(sim, e), fields)),
    ...(summary ? { summary: { total_count: items.length } } : {}),
  };
}

function readStatus(params: Params): EntityStatus | undefined {
  const status = stringParam(params, "status");
  if (status === undefined) return undefined;
  if (!ENTITY_STATUSES.includes(status as EntityStatus)) {
    throw errors.notOneOf("status", ENTITY_STATUSES);
  }
  return status as EntityStatus;
}

/** Client parameters kept as fields, JSON strings (targeting, creative...) decoded. */
function storedParams(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (RESERVED.has(k)) continue;
    out[k] = typeof v === "string" && /^\s*[[{]/.test(v) ? jsonParam(params, k) : v;
  }
  return out;
}

/** A create: Meta's rules for the type (create-rules.ts), the account's limits, then the object. */
function create(
  sim: SimState,
  account: Account,
  type: EntityType,
  params: Params,
  version: string,
  commit: boolean,
): unknown {
  sim.store.assertWritable(account);
  const parent = validateCreate(sim.store, account, type, params, version);
  const name = stringParam(params, "name")!;
  const status = (stringParam(params, "status") || "ACTIVE") as EntityStatus;
  const stored = storedParams(params);
  sim.store.assertRoomFor(account, type, parent?.id ?? null);
  if (hasExecutionOption(params, "validate_only")) return { success: true };
  const id = sim.store.nextId();
  if (!commit) return { id };
  const now = sim.clock.now();
  sim.store.entities.set(id, {
    id,
    type,
    accountId: account.id,
    campaignId: type === "adset" ? parent!.id : parent?.campaignId ?? null,
    adsetId: type === "ad" ? parent!.id : null,
    name,
    status,
    params: stored,
    createdAt: now,
    updatedAt: now,
    history: [{ at: now, status }],
  });
  return { id };
}

function update(
  sim: SimState,
  account: Account,
  e: Entity,
  params: Params,
  commit: boolean,
): unknown {
  sim.store.assertWritable(account);
  if (e.status === "DELETED") throw errors.objectMissing(e.id, "POST");
  const status = readStatus(params);
  if (e.status === "ARCHIVED" && status && status !== "ARCHIVED" && status !== "DELETED") {
    throw errors.invalidParam("An archived object can only be deleted");
  }
  const name = stringParam(params, "name");
  if (name === "") throw errors.requiredParam("name");
  const stored = storedParams(params);
  if (hasExecutionOption(params, "validate_only") || !commit) return { success: true };
  const now = sim.clock.now();
  Object.assign(e.params, stored);
  if (name) e.name = name;
  e.updatedAt = now;
  if (status) setStatus(sim.store, e, status, now);
  return { success: true };
}

function remove(
  sim: SimState,
  account: Account,
  e: Entity,
  params: Params,
  commit: boolean,
): unknown {
  sim.store.assertWritable(account);
  // Meta keeps deleted objects readable, but a second delete finds nothing to delete.
  if (e.status === "DELETED") throw errors.objectMissing(e.id, "DELETE");
  if (commit && !hasExecutionOption(params, "validate_only")) {
    setStatus(sim.store, e, "DELETED", sim.clock.now());
  }
  return { success: true };
}

/**
 * GET /?ids=a,b,c (until Meta removed it, legacy.ts): at most 50 ids, and one unknown id fails
 * the whole read (Meta's #803).
 */
function multiRead(sim: SimState, ctx: AuthContext, params: Params): unknown {
  const ids = listParam(params, "ids") ?? [];
  if (ids.length > 50) throw errors.tooManyIds(ids.length);
  const fields = fieldsParam(params);
  const visible = (id: string) => {
    const accountId = id.startsWith("act_") ? id : sim.store.entities.get(id)?.accountId;
    return !!accountId && sim.store.accounts.has(accountId) && ctx.accountIds.has(accountId);
  };
  const missing = ids.filter((id) => !visible(id));
  if (missing.length) throw errors.aliasesMissing(missing);
  return Object.fromEntries(ids.map((id) => [
    id,
    id.startsWith("act_")
      ? pick(accountRecord(sim, sim.store.accounts.get(id)!, fields), fields)
      : pick(entityRecord(sim, sim.store.entities.get(id)!), fields),
  ]));
}
