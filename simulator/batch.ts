/**
 * The batch endpoint (https://developers.facebook.com/docs/graph-api/batch-requests):
 * POST with `batch=[{method, relative_url, body?, name?, depends_on?, omit_response_on_success?}]`,
 * at most 50 items, answered in order as `{code, headers, body}` with `body` a JSON string.
 * `{result=NAME:$.path}` references an earlier named item; an item whose dependency failed
 * fails too; a named item that a later one references comes back null unless
 * `omit_response_on_success` is false; a batch may hold only one ad set per campaign. An item
 * without a version in its relative_url runs as the envelope's.
 */

import { type AuthContext, checkAppsecretProof } from "./auth.ts";
import { type Answer, errorAnswer, type Outcome, runOperation } from "./dispatch.ts";
import { errors, GraphError } from "./errors.ts";
import { makeOperation, type Operation } from "./graph-routes.ts";
import { encodeQuery, type Params, parseBody, stringParam } from "./params.ts";
import type { RequestLogEntry } from "./request-log.ts";
import type { SimState } from "./state.ts";

export const MAX_BATCH_ITEMS = 50;

interface BatchItem {
  method?: string;
  relative_url: string;
  body?: unknown;
  name?: string;
  depends_on?: string;
  omit_response_on_success?: boolean;
}

export interface BatchItemResponse {
  code: number;
  headers?: { name: string; value: string }[];
  body: string;
}

const REFERENCE = /\{result=([^:}]+):\$([^}]*)\}/g;

function parseItems(params: Params): BatchItem[] {
  let items: unknown = params.batch;
  if (typeof items === "string") {
    try {
      items = JSON.parse(items);
    } catch {
      throw errors.batchInvalid("The batch parameter must be a JSON array");
    }
  }
  if (!Array.isArray(items)) throw errors.batchInvalid("The batch parameter must be a JSON array");
  if (items.length > MAX_BATCH_ITEMS) {
    throw errors.batchInvalid(
      `(#1) Too many requests in batch message. Maximum batch size is ${MAX_BATCH_ITEMS}`,
    );
  }
  for (const item of items) {
    if (!item || typeof item !== "object" || typeof item.relative_url !== "string") {
      throw errors.batchInvalid("Each batch item needs a relative_url");
    }
  }
  return items;
}

const bodyText = (item: BatchItem) =>
  typeof item.body === "string" ? item.body : item.body ? encodeQuery(item.body as Params) : "";

/** Names an item waits for: its depends_on and every {result=NAME:...} it contains. */
function dependencies(item: BatchItem): string[] {
  const refs = [...`${item.relative_url} ${bodyText(item)}`.matchAll(REFERENCE)].map((m) => m[1]);
  return [...new Set([...(item.depends_on ? [item.depends_on] : []), ...refs])];
}

/** A small JSONPath subset: $.a.b, $.data[0].id, $.data.*.id (several values join with commas). */
function evaluatePath(value: unknown, path: string): string {
  const parts = path.replace(/\[(\d+|\*)\]/g, ".$1").split(".").filter(Boolean);
  let current: unknown[] = [value];
  for (const part of parts) {
    current = current.flatMap((v) =>
      part === "*" && Array.isArray(v)
        ? v
        : v && typeof v === "object" && (v as Record<string, unknown>)[part] !== undefined
        ? [(v as Record<string, unknown>)[part]]
        : []
    );
  }
  if (current.length === 0) throw errors.invalidParam(`The reference $${path} matched nothing`);
  return current.map(String).join(",");
}

function resolveReferences(text: string, results: Map<string, unknown>): string {
  return text.replace(
    REFERENCE,
    (_, name: string, path: string) => evaluatePath(results.get(name), path),
  );
}

function itemOperation(
  item: BatchItem,
  results: Map<string, unknown>,
  serverUrl: string,
  ctx: AuthContext,
  envelopeVersion: string | null,
): Operation {
  const url = resolveReferences(item.relative_url, results).replace(/^\/+/, "");
  const [path, query = ""] = url.split(/\?(.*)/s);
  const body = resolveReferences(bodyText(item), results);
  const params = { ...Object.fromEntries(new URLSearchParams(query)), ...parseBody(body, "") };
  return makeOperation(
    item.method ?? "GET",
    `/${path}`,
    query,
    params,
    body,
    serverUrl,
    ctx,
    envelopeVersion,
  );
}

const isAdsetCreate = (op: Operation) =>
  op.method === "POST" && /^\/act_\d+\/adsets\/?$/.test(op.path);

function toResponse(answer: Answer, includeHeaders: boolean): BatchItemResponse {
  const headers = { "Content-Type": "text/javascript; charset=UTF-8", ...answer.headers };
  return {
    code: answer.status,
    ...(includeHeaders
      ? { headers: Object.entries(headers).map(([name, value]) => ({ name, value })) }
      : {}),
    body: JSON.stringify(answer.body),
  };
}

export async function runBatch(
  sim: SimState,
  ctx: AuthContext,
  envelope: Operation,
  serverUrl: string,
  entry: RequestLogEntry,
  commit: boolean,
): Promise<Outcome> {
  const items = parseItems(envelope.params);
  entry.batchSize = items.length;
  const includeHeaders = stringParam(envelope.params, "include_headers") !== "false";
  const referenced = new Set(items.flatMap(dependencies));
  /** Bodies of the named items that succeeded. */
  const results = new Map<string, unknown>();
  const campaignsWithAdset = new Set<string>();
  const responses: (BatchItemResponse | null)[] = [];

  for (const [index, item] of items.entries()) {
    const failed = dependencies(item).find((name) => !results.has(name));
    let outcome: Outcome;
    let op: Operation | undefined;
    try {
      if (failed !== undefined) throw errors.dependencyFailed(failed);
      op = itemOperation(item, results, serverUrl, ctx, envelope.requestedVersion);
      await checkAppsecretProof(sim.store, ctx, op.params, false);
      if (isAdsetCreate(op)) {
        const campaignId = stringParam(op.params, "campaign_id") ?? "";
        if (campaignsWithAdset.has(campaignId)) throw errors.sameCampaignAdsets(campaignId);
        campaignsWithAdset.add(campaignId);
      }
      outcome = await runOperation(sim, ctx, op, entry, commit, index);
    } catch (e) {
      if (!(e instanceof GraphError)) throw e;
      outcome = errorAnswer(sim, e);
    }
    const answer = outcome === "dropped" ? null : outcome;
    const ok = answer !== null && answer.status < 400;
    if (ok && item.name) results.set(item.name, answer.body);
    const omitted = ok && !!item.name && referenced.has(item.name) &&
      item.omit_response_on_success !== false;
    const response = answer === null || omitted ? null : toResponse(answer, includeHeaders);
    responses.push(response);
    entry.items.push({
      index,
      method: op?.method ?? (item.method ?? "GET").toUpperCase(),
      path: op?.versionedPath ?? item.relative_url,
      relativeUrl: item.relative_url,
      code: response?.code ?? null,
    });
  }
  return { status: 200, body: responses, headers: {} };
}
