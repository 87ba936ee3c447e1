// The HTTP contract shared by every function: JSON answers, errors as
// { error: "<code>", message, ...details } with the right status, CORS, and no stack trace or
// token ever in a response.
import { z } from "zod";
import type { GraphError } from "./graph-errors.ts";
import { log } from "./log.ts";

export const corsHeaders = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers":
    "authorization, x-client-info, apikey, content-type, idempotency-key",
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
};

export type ErrorCode =
  | "invalid_body"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "idempotency_conflict"
  | "not_awaiting_confirmation"
  | "verification_failed"
  | "meta_rejected"
  | "meta_unreachable"
  | "internal";

/** An error the caller can act on: thrown anywhere below a handler, answered as JSON. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, "Content-Type": "application/json", ...headers },
  });
}

/**
 * A Graph API failure as the caller's answer: 422 when Meta refused (a PERMANENT error:
 * `refusal` says what it refused), 502 when it did not answer usefully (rate limit, transient,
 * unknown outcome), with Meta's code or the wait it asked for.
 */
export function metaFailure(error: GraphError, refusal: string): HttpError {
  if (error.class === "PERMANENT") {
    return new HttpError(422, "meta_rejected", refusal, {
      meta: { code: error.code, subcode: error.subcode, message: error.message },
    });
  }
  return new HttpError(502, "meta_unreachable", "the Graph API did not answer; try again", {
    meta: {
      class: error.class,
      ...(error.retryAfterMs ? { retryAfterSeconds: Math.ceil(error.retryAfterMs / 1000) } : {}),
    },
  });
}

function errorResponse(error: HttpError): Response {
  return json(error.status, { error: error.code, message: error.message, ...error.details });
}

/**
 * Parses a JSON body against a zod schema; 400 with zod's field paths when it does not fit.
 * With `whenEmpty`, an empty body stands for that value (for bodies that are all optional).
 */
export async function parseJsonBody<T extends z.ZodType>(
  req: Request,
  schema: T,
  whenEmpty?: unknown,
): Promise<z.infer<T>> {
  let body: unknown;
  try {
    const text = await req.text();
    body = whenEmpty !== undefined && text.trim() === "" ? whenEmpty : JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_body", "the request body is not valid JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, "invalid_body", "the request body is invalid", {
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
 * Wraps a function's handler: answers CORS preflight, turns HttpError into its JSON answer and
 * anything else into a bare 500 (logged with a request id, never shown to the caller).
 */
export function serveJson(name: string, handler: Handler): Handler {
  return async (req) => {
    if (req.method === "OPTIONS") return new Response("ok", { headers: corsHeaders });
    try {
      return await handler(req);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      const requestId = crypto.randomUUID();
      log.error("unhandled error", {
        function: name,
        requestId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return errorResponse(new HttpError(500, "internal", "internal error", { requestId }));
    }
  };
}
