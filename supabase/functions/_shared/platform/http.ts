// The HTTP contract shared by every function: JSON answers, errors as
// { error: "<code>", message, ...details } with the right status, CORS, and no stack trace or
// token ever in a response.
import { z } from "zod";
import { AdrailError, defaultRetryAfterSeconds, type ErrorCode } from "./errors.ts";
import { jsonShapeIssue } from "./json-shape.ts";
import { log, logContext, withLogContext } from "./log.ts";

export const corsHeaders = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers":
    "authorization, x-client-info, apikey, content-type, idempotency-key, x-request-id",
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
  "Access-Control-Expose-Headers": "x-request-id, retry-after",
};

/** The header every answer carries its request id in (and a caller may send one in). */
export const requestIdHeader = "x-request-id";

/** A caller's request id is taken when it looks like one; anything else gets a fresh id. */
const requestIdShape = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The invocation's request id: the caller's (x-request-id), else the platform's (sb-request-id,
 * set by Supabase's gateway), else a fresh UUID.
 */
export function requestIdOf(req: Request): string {
  for (const header of [requestIdHeader, "sb-request-id"]) {
    const value = req.headers.get(header);
    if (value && requestIdShape.test(value)) return value;
  }
  return crypto.randomUUID();
}

/** The one place an error code becomes an HTTP status. */
export const statusOfCode: Record<ErrorCode, number> = {
  invalid_body: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_conflict: 409,
  not_awaiting_confirmation: 409,
  approval_conflict: 409,
  budget_cap_exceeded: 409,
  account_already_connected: 409,
  last_owner: 409,
  sync_in_progress: 409,
  payload_too_large: 413,
  verification_failed: 422,
  meta_rejected: 422,
  rate_limited: 429,
  internal: 500,
  config_missing: 500,
  meta_unavailable: 503,
};

/** Request bodies above this are refused (413) before they are parsed. */
export const maxBodyBytes = 1024 * 1024;

/**
 * Bodies nested deeper than this (objects and arrays) are refused (400) before their schema is
 * checked, as are bodies with a key `__proto__`: no schema of adrail's goes near it, and schemas
 * check nested values recursively.
 */
export const maxJsonDepth = 32;

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, "Content-Type": "application/json", ...headers },
  });
}

/** The answer to an error: `{error: code, message, ...details}`, with Retry-After when it has one. */
export function errorResponse(error: AdrailError): Response {
  const status = statusOfCode[error.code] ?? 500;
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) {
    headers["Retry-After"] = String(error.details.retryAfterSeconds ?? defaultRetryAfterSeconds);
  }
  // Details never overwrite the code or the message.
  const body = Object.assign({ error: error.code, message: error.message }, error.details, {
    error: error.code,
    message: error.message,
  });
  return json(status, body, headers);
}

function tooLarge(): AdrailError {
  return new AdrailError(
    "payload_too_large",
    `the request body is larger than ${maxBodyBytes} bytes`,
    { maxBytes: maxBodyBytes },
  );
}

/** 413 when the request says its body is larger than the limit (checked before anything runs). */
function refuseDeclaredOversize(req: Request): void {
  const declared = req.headers.get("Content-Length");
  if (declared !== null && Number(declared) > maxBodyBytes) throw tooLarge();
}

/**
 * The body as text, reading at most `maxBodyBytes`: a body that turns out larger than the limit
 * (whatever its Content-Length said, or without one) is 413, and is not read further.
 */
export async function readBodyText(req: Request): Promise<string> {
  refuseDeclaredOversize(req);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Parses a JSON body against a zod schema; 400 with zod's field paths when it does not fit, or
 * when it nests deeper than `maxJsonDepth` or has a key `__proto__`. With `whenEmpty`, an empty
 * body stands for that value (for bodies that are all optional).
 */
export async function parseJsonBody<T extends z.ZodType>(
  req: Request,
  schema: T,
  whenEmpty?: unknown,
): Promise<z.infer<T>> {
  const text = await readBodyText(req);
  let body: unknown;
  try {
    body = whenEmpty !== undefined && text.trim() === "" ? whenEmpty : JSON.parse(text);
  } catch {
    throw new AdrailError("invalid_body", "the request body is not valid JSON");
  }
  const shapeIssue = jsonShapeIssue(body, maxJsonDepth);
  if (shapeIssue) {
    throw new AdrailError("invalid_body", "the request body is invalid", {
      issues: [{ path: shapeIssue.path.join("."), message: shapeIssue.message }],
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new AdrailError("invalid_body", "the request body is invalid", {
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.join("."),
        message: issue.message,
      })),
    });
  }
  return parsed.data;
}

/** The request path below the function's own name: "/jobs/1" for ".../campaign-create/jobs/1". */
export function subPath(req: Request, functionName: string): string {
  const path = new URL(req.url).pathname;
  const at = path.indexOf(`/${functionName}`);
  const rest = at === -1 ? "" : path.slice(at + functionName.length + 1);
  return rest === "" ? "/" : rest;
}

export type Handler = (req: Request) => Promise<Response>;

/**
 * Wraps a function's handler: answers CORS preflight, refuses a body declared larger than the
 * limit (413) before anything runs, and turns every error into its JSON answer. An AdrailError
 * answers its code; a missing or malformed setting (ConfigError) answers a bare 500 and logs the
 * setting's name; anything else is a bare 500. No stack trace, no token, no setting's value ever
 * reaches the caller. Every answer carries the request id (x-request-id), and every log line of
 * the invocation, background work included, carries it and the function's name.
 */
export function serveJson(name: string, handler: Handler): Handler {
  return async (req) => {
    const requestId = requestIdOf(req);
    const response = await withLogContext({ requestId, function: name }, () => answer(req));
    response.headers.set(requestIdHeader, requestId);
    return response;
  };

  async function answer(req: Request): Promise<Response> {
    if (req.method === "OPTIONS") return new Response("ok", { headers: corsHeaders });
    try {
      refuseDeclaredOversize(req);
      return await handler(req);
    } catch (error) {
      if (!(error instanceof AdrailError) || error.code === "internal") return internalError(error);
      if (error.code === "config_missing") return misconfigured(error);
      return errorResponse(error);
    }
  }
}

/** A bare 500: the caller gets the request id, the log gets what happened under the same id. */
function internalError(error: unknown): Response {
  log.error("unhandled error", {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return errorResponse(
    new AdrailError("internal", "internal error", { requestId: logContext().requestId }),
  );
}

/** A missing or malformed setting: logged by its NAME (ConfigError's details), never its value. */
function misconfigured(error: AdrailError): Response {
  log.error("misconfigured function", {
    setting: error.details.setting,
    problem: error.details.problem,
  });
  return errorResponse(
    new AdrailError("internal", "the function is misconfigured", {
      requestId: logContext().requestId,
    }),
  );
}
