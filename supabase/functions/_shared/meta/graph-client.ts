// A small Graph API client: the access token travels in the Authorization header (never in a
// URL that could be logged), with appsecret_proof when the account has an app secret
// (https://developers.facebook.com/docs/graph-api/securing-requests), always in a POST body: Meta
// takes a GET's or a DELETE's parameters only in its URL, which proxies log, so with a proof a read
// or a delete goes out as a batch of one (a POST whose body carries the proof). Every call answers
// with a value, never a throw: { ok: true, data } or { ok: false, error } with a classified error.
// batch() sends up to 50 operations in one request and answers one such value per operation.
// Every call has a timeout (the read's or the write's, from config.ts): a write that times out
// may have been applied, and is reported as UNKNOWN_OUTCOME, never as a failure.
import { defaultGraphTimeouts, type GraphTimeouts } from "../platform/config.ts";
import { maskSecrets } from "../platform/log.ts";
import {
  classifyGraphResponse,
  classifyNetworkFailure,
  type GraphErrorBody,
  type GraphResult,
  type MetaUsage,
  usageOf,
} from "./graph-errors.ts";

export type GraphClientOptions = {
  baseUrl: string;
  version: string;
  accessToken: string;
  appSecret?: string;
  /** graphSettings().timeouts in the functions; the defaults elsewhere (tests, tools). */
  timeouts?: GraphTimeouts;
  /** Called with Meta's usage percentages after each answer that carries its usage headers. */
  onUsage?: (usage: MetaUsage) => void;
};

/** One page of an edge, as Meta answers it. */
export type GraphPage<T> = {
  data: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string };
};

export type GraphParams = Record<string, string | number | boolean | object | undefined>;

async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(message)),
  );
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Graph parameters as Meta takes them: objects and arrays JSON-encoded, the rest as text. */
function encodeParams(params: GraphParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return out;
}

/** Meta's batch limit (https://developers.facebook.com/docs/graph-api/batch-requests). */
export const maxBatchOperations = 50;

/** One operation of a batch. `path` and `params` may hold `{result=<name>:$.id}` references. */
export type BatchOperation = {
  method: "GET" | "POST" | "DELETE";
  path: string;
  params?: GraphParams;
  /** Lets later operations reference this one's result. */
  name?: string;
  dependsOn?: string;
  /**
   * A write: a missing answer then means UNKNOWN_OUTCOME, and the write timeout applies. Defaults
   * to true for POST and DELETE; a POST that changes nothing (validate_only) sets false.
   */
  isWrite?: boolean;
};

const isWriteOperation = (op: BatchOperation) => op.isWrite ?? op.method !== "GET";

type BatchItemAnswer =
  | { code: number; headers?: { name: string; value: string }[]; body: string }
  | null;

/** A parameter whose whole value is a reference to an earlier operation's result. */
const resultReference = /^\{result=[\w-]+:\$[\w.[\]*]*\}$/;

/**
 * Percent-encodes params, except a value that is one whole `{result=...}` reference, left as Meta
 * expects to find it. Any other text holding one (a name, say) stays encoded: Meta reads it as
 * text, never as a reference.
 */
function encodeBatchParams(params: GraphParams): string {
  const isReference = (value: unknown) => typeof value === "string" && resultReference.test(value);
  const entries = Object.entries(params);
  const references = entries.filter(([, value]) => isReference(value))
    .map(([key, value]) => `${encodeURIComponent(key)}=${value}`);
  const text = encodeParams(Object.fromEntries(entries.filter(([, value]) => !isReference(value))));
  return [text.toString(), ...references].filter(Boolean).join("&");
}

/** A batch item; its relative_url names the API version, so Meta never falls back to the app's default. */
function batchItem(op: BatchOperation, version: string): Record<string, unknown> {
  const path = `${version}/${op.path.replace(/^\//, "")}`;
  const encoded = encodeBatchParams(op.params ?? {});
  const hasBody = op.method === "POST";
  return {
    method: op.method,
    relative_url: hasBody || !encoded ? path : `${path}?${encoded}`,
    ...(hasBody && encoded ? { body: encoded } : {}),
    ...(op.name ? { name: op.name, omit_response_on_success: false } : {}),
    ...(op.dependsOn ? { depends_on: op.dependsOn } : {}),
  };
}

function batchItemResult(op: BatchOperation, answer: BatchItemAnswer): GraphResult<unknown> {
  if (answer === null) {
    // Meta answers null for an operation that timed out: it may have been applied.
    return {
      ok: false,
      error: classifyNetworkFailure(
        new Error("no answer for this batch operation"),
        isWriteOperation(op),
      ),
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  if (answer.code >= 200 && answer.code < 300) return { ok: true, data: body };
  const headers = new Headers(
    (answer.headers ?? []).map(({ name, value }) => [name, value] as [string, string]),
  );
  const errorBody = (body as { error?: GraphErrorBody } | undefined)?.error;
  return { ok: false, error: classifyGraphResponse(answer.code, errorBody, headers) };
}

export class GraphClient {
  private proof?: Promise<string>;

  constructor(private readonly options: GraphClientOptions) {
    maskSecrets(options.accessToken, options.appSecret);
    if (options.appSecret) this.proof = hmacSha256Hex(options.appSecret, options.accessToken);
  }

  get<T>(path: string, params: GraphParams = {}): Promise<GraphResult<T>> {
    return this.getOrDelete<T>({ method: "GET", path, params });
  }

  /**
   * Every item of an edge, page after page (`limit`, `paging.cursors.after`). The cursor is
   * followed rather than paging.next, whose URL may carry the token.
   */
  async getAll<T>(
    path: string,
    params: GraphParams = {},
    maxPages = 200,
  ): Promise<GraphResult<T[]>> {
    const items: T[] = [];
    // A caller that read the first page itself (in a batch) continues from its cursor.
    let after = typeof params.after === "string" ? params.after : undefined;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.get<GraphPage<T>>(path, { limit: 500, ...params, after });
      if (!result.ok) return result;
      items.push(...result.data.data);
      after = result.data.paging?.next ? result.data.paging.cursors?.after : undefined;
      if (!after) return { ok: true, data: items };
    }
    return {
      ok: false,
      error: { class: "PERMANENT", message: `${path} has more than ${maxPages} pages` },
    };
  }

  /** A write: a lost answer (or a timeout) is reported as UNKNOWN_OUTCOME. */
  post<T>(path: string, params: GraphParams = {}): Promise<GraphResult<T>> {
    return this.request<T>("POST", path, params, true);
  }

  delete<T>(path: string): Promise<GraphResult<T>> {
    return this.getOrDelete<T>({ method: "DELETE", path });
  }

  /**
   * A GET or DELETE as its own request, or, with an appsecret_proof (which must not go in a URL),
   * as a batch of one whose POST body carries the proof.
   */
  private async getOrDelete<T>(op: BatchOperation): Promise<GraphResult<T>> {
    if (!await this.proof) {
      return this.request<T>(op.method, op.path, op.params ?? {}, isWriteOperation(op));
    }
    const answer = await this.batch([op]);
    return answer.ok ? answer.data[0] as GraphResult<T> : answer;
  }

  /**
   * Runs up to 50 operations in one request. The outer result fails when the request itself
   * does; otherwise each operation has its own result, in order. Named operations always answer
   * (omit_response_on_success: false), so a null can only mean Meta gave no answer.
   */
  async batch(operations: BatchOperation[]): Promise<GraphResult<GraphResult<unknown>[]>> {
    if (operations.length === 0) return { ok: true, data: [] };
    if (operations.length > maxBatchOperations) {
      return {
        ok: false,
        error: {
          class: "PERMANENT",
          message: `a batch holds at most ${maxBatchOperations} operations`,
        },
      };
    }
    const answer = await this.request<BatchItemAnswer[]>(
      "POST",
      "/",
      { batch: operations.map((op) => batchItem(op, this.options.version)), include_headers: true },
      operations.some(isWriteOperation),
    );
    if (!answer.ok) return answer;
    return {
      ok: true,
      data: operations.map((op, i) => batchItemResult(op, answer.data[i] ?? null)),
    };
  }

  private async request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    params: GraphParams,
    isWrite: boolean,
  ): Promise<GraphResult<T>> {
    const hasBody = method === "POST";
    // Only a POST body carries the proof: a GET or DELETE with one goes through getOrDelete.
    const query = encodeParams(hasBody ? { ...params, appsecret_proof: await this.proof } : params);
    const url = `${this.options.baseUrl}/${this.options.version}${
      path.startsWith("/") ? path : `/${path}`
    }`;
    const timeouts = this.options.timeouts ?? defaultGraphTimeouts;
    const timeoutMs = isWrite ? timeouts.writeMs : timeouts.readMs;
    // The signal also ends a body still arriving: the whole answer is within the timeout.
    const signal = AbortSignal.timeout(timeoutMs);
    const failed = (error: unknown): GraphResult<T> => ({
      ok: false,
      error: classifyNetworkFailure(error, isWrite, timeoutMs),
    });
    let response: Response;
    try {
      response = await fetch(hasBody ? url : `${url}?${query}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.options.accessToken}`,
          ...(hasBody ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        body: hasBody ? query : undefined,
        signal,
      });
    } catch (error) {
      return failed(error);
    }
    const usage = this.options.onUsage && usageOf(response.headers);
    if (usage) this.options.onUsage?.(usage);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (response.ok) return failed(error);
      body = undefined;
    }
    if (!response.ok) {
      const errorBody = (body as { error?: GraphErrorBody } | undefined)?.error;
      return {
        ok: false,
        error: classifyGraphResponse(response.status, errorBody, response.headers),
      };
    }
    return { ok: true, data: body as T };
  }
}
