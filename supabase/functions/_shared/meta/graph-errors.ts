// Every Graph API failure gets a class the caller can act on (Meta "Handling Errors" and the
// Marketing API error reference: https://developers.facebook.com/docs/graph-api/guides/error-handling,
// https://developers.facebook.com/docs/marketing-api/error-reference):
//   PERMANENT        bad token, permissions, invalid parameter, disabled account: stop
//   RATE_LIMIT       wait until Meta says access is regained (retryAfterMs), durably
//   TEMPORARY        5xx, is_transient, a connection that never reached Meta: retry with backoff
//   UNKNOWN_OUTCOME  a write may have been applied but its answer was lost: look before retrying

export type GraphErrorClass = "PERMANENT" | "RATE_LIMIT" | "TEMPORARY" | "UNKNOWN_OUTCOME";

export type GraphError = {
  class: GraphErrorClass;
  message: string;
  status?: number;
  code?: number;
  subcode?: number;
  fbtraceId?: string;
  /** For RATE_LIMIT: how long until Meta reports access regained. */
  retryAfterMs?: number;
};

/** What every Graph call answers: a value, never a throw. */
export type GraphResult<T> = { ok: true; data: T } | { ok: false; error: GraphError };

/** Meta's "object does not exist" (code 100, subcode 33): never made, or already deleted. */
export function isMissingObject(error: GraphError): boolean {
  return error.code === 100 && error.subcode === 33;
}

/**
 * Meta refusing a synchronous insights read as too large: code 100 subcode 1487534, or the
 * generic code 1 with "reduce the amount of data" (its only sign, in older answers). The read
 * must run as an async report instead.
 */
export function isTooMuchData(error: GraphError): boolean {
  return (error.code === 100 && error.subcode === 1487534) ||
    (error.code === 1 && /reduce the amount of data/i.test(error.message));
}

/** Meta's error object, as found under `error` in a failed answer's body. */
export type GraphErrorBody = {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
};

const rateLimitCodes = new Set([4, 17, 32, 613]);
const temporaryCodes = new Set([1, 2]);
const defaultRateLimitWaitMs = 60_000;

function isRateLimitCode(code: number | undefined): boolean {
  return code !== undefined && (rateLimitCodes.has(code) || (code >= 80000 && code <= 80014));
}

/**
 * The wait Meta asks for, from its usage headers: the largest estimated_time_to_regain_access
 * (minutes) in X-Business-Use-Case-Usage, or X-Ad-Account-Usage's reset_time_duration (seconds).
 */
export function regainAccessMs(headers: Headers): number | undefined {
  const waits: number[] = [];
  try {
    const buc = JSON.parse(headers.get("x-business-use-case-usage") ?? "{}") as Record<
      string,
      unknown
    >;
    for (const entries of Object.values(buc)) {
      for (const entry of Array.isArray(entries) ? entries : []) {
        const minutes = Number((entry as Record<string, unknown>).estimated_time_to_regain_access);
        if (minutes > 0) waits.push(minutes * 60_000);
      }
    }
    const account = JSON.parse(headers.get("x-ad-account-usage") ?? "{}") as Record<
      string,
      unknown
    >;
    const seconds = Number(account.reset_time_duration);
    if (seconds > 0) waits.push(seconds * 1000);
  } catch {
    return undefined;
  }
  return waits.length ? Math.max(...waits) : undefined;
}

/** The usage percentages of one answer; null where its header is missing or unreadable. */
export type MetaUsage = {
  appPct: number | null;
  accountPct: number | null;
  businessPct: number | null;
};

function parseHeader(headers: Headers, name: string): unknown {
  try {
    return JSON.parse(headers.get(name) ?? "null");
  } catch {
    return null;
  }
}

/** The highest of the numeric `fields` of `entries`, or null when none has one. */
function highest(entries: unknown[], fields: string[]): number | null {
  const values = entries.flatMap((entry) =>
    fields.map((field) => Number((entry as Record<string, unknown> | null)?.[field]))
  ).filter((value) => Number.isFinite(value) && value >= 0);
  return values.length ? Math.max(...values) : null;
}

/**
 * X-App-Usage (call_count, total_cputime, total_time), X-Ad-Account-Usage (acc_id_util_pct) and
 * X-Business-Use-Case-Usage (every use case's call_count, total_cputime, total_time), each as its
 * highest percentage; undefined when the answer carries none of them.
 */
export function usageOf(headers: Headers): MetaUsage | undefined {
  const counters = ["call_count", "total_cputime", "total_time"];
  const app = parseHeader(headers, "x-app-usage");
  const account = parseHeader(headers, "x-ad-account-usage");
  const business = parseHeader(headers, "x-business-use-case-usage");
  const usage: MetaUsage = {
    appPct: highest([app], counters),
    accountPct: highest([account], ["acc_id_util_pct"]),
    businessPct: business && typeof business === "object"
      ? highest(Object.values(business).flat(), counters)
      : null,
  };
  return usage.appPct === null && usage.accountPct === null && usage.businessPct === null
    ? undefined
    : usage;
}

/** Classifies an HTTP answer that carries Meta's error JSON (or none). */
export function classifyGraphResponse(
  status: number,
  body: GraphErrorBody | undefined,
  headers: Headers,
): GraphError {
  const base = {
    message: body?.message ?? `HTTP ${status}`,
    status,
    code: body?.code,
    subcode: body?.error_subcode,
    fbtraceId: body?.fbtrace_id,
  };
  if (isRateLimitCode(body?.code) || status === 429) {
    return {
      ...base,
      class: "RATE_LIMIT",
      retryAfterMs: regainAccessMs(headers) ?? defaultRateLimitWaitMs,
    };
  }
  if (body?.is_transient || temporaryCodes.has(body?.code ?? -1) || status >= 500) {
    return { ...base, class: "TEMPORARY" };
  }
  return { ...base, class: "PERMANENT" };
}

/**
 * Classifies a request that got no answer. A connection refused never reached Meta; anything
 * else (our timeout, `timeoutMs`, a reset, a connection closed mid-answer) may have been applied:
 * for a write that is UNKNOWN_OUTCOME (look on Meta before sending it again), for a read
 * TEMPORARY (send it again).
 */
export function classifyNetworkFailure(
  error: unknown,
  isWrite: boolean,
  timeoutMs?: number,
): GraphError {
  const timedOut = (error as { name?: unknown } | null)?.name === "TimeoutError";
  const message = timedOut
    ? `timed out after ${timeoutMs} ms`
    : error instanceof Error
    ? error.message
    : String(error);
  const neverSent = /connection refused|dns error|failed to lookup/i.test(message);
  return {
    class: isWrite && !neverSent ? "UNKNOWN_OUTCOME" : "TEMPORARY",
    // fetch's messages quote the URL, query string (appsecret_proof) included: it is dropped, as
    // these messages end up in logs and in rows members can read.
    message: `no answer from the Graph API: ${message.replace(/https?:\/\/[^\s)]+/g, "<url>")}`,
  };
}
