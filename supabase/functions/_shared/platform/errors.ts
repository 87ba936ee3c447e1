// adrail's one error model. Domain modules throw (or return) an AdrailError: a code the caller can
// act on, a message for people and JSON-safe details. They know nothing of HTTP: only the HTTP
// layer (http.ts, serveJson) turns a code into a status. Never put a token, a secret's value or a
// stack trace in a message or in details: both are answered to the caller as they are.
import type { GraphError } from "../meta/graph-errors.ts";

export const errorCodes = [
  /** The request is malformed: not JSON, not its schema, a bad header. */
  "invalid_body",
  /** No usable credentials. */
  "unauthorized",
  /** Credentials fine, but not allowed to do this (the caller's role, a non-service caller). */
  "forbidden",
  /** No such thing, or one the caller may not see: the same answer, so ids cannot be probed. */
  "not_found",
  "method_not_allowed",
  /** An Idempotency-Key already used with another request. */
  "idempotency_conflict",
  /** A rollback decision for a job that waits for none. */
  "not_awaiting_confirmation",
  /** An approval decision the job cannot take: decided otherwise already, or not awaiting approval. */
  "approval_conflict",
  /** The launch's daily budget does not fit under the account's cap (budget_ledger). */
  "budget_cap_exceeded",
  /** Connecting an ad account that another team has connected: its owner adds members. */
  "account_already_connected",
  /** A membership change that would leave an ad account without an owner. */
  "last_owner",
  /** A sync of this ad account is running already: one at a time per account. */
  "sync_in_progress",
  /** The request body is larger than the functions accept. */
  "payload_too_large",
  /** Pre-creation verification found a reason not to launch; nothing was created. */
  "verification_failed",
  /** Meta refused for good (token, permission, parameter, account). */
  "meta_rejected",
  /** Meta did not answer usefully (rate limit, timeout, transient error): try again later. */
  "meta_unavailable",
  /** An abuse limit is reached (adrail_limits: requests, entities, jobs under way): try later. */
  "rate_limited",
  /** A required setting is missing or unusable: the deployment must be fixed. */
  "config_missing",
  /** Anything else. */
  "internal",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export type ErrorDetails = Record<string, unknown> & {
  /** For meta_unavailable and rate_limited: how long to wait before trying again. */
  retryAfterSeconds?: number;
};

export class AdrailError extends Error {
  override readonly name: string = "AdrailError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** The wait suggested when Meta failed without saying how long to wait. */
export const defaultRetryAfterSeconds = 30;

/** How long to wait after a Graph failure that is not a refusal: Meta's own wait on a rate limit. */
export function retryAfterSeconds(error: GraphError): number {
  return error.class === "RATE_LIMIT" && error.retryAfterMs
    ? Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    : defaultRetryAfterSeconds;
}

/** Meta did not answer usefully (rate limit, timeout, transient error, lost answer). */
export function metaUnavailable(error: GraphError, message: string): AdrailError {
  return new AdrailError("meta_unavailable", message, {
    retryAfterSeconds: retryAfterSeconds(error),
    meta: { class: error.class, ...(error.code !== undefined ? { code: error.code } : {}) },
  });
}

/** `meta_rejected` when Meta refused for good (a PERMANENT error), else `meta_unavailable`. */
export function metaErrorCode(
  error: Pick<GraphError, "class">,
): "meta_rejected" | "meta_unavailable" {
  return error.class === "PERMANENT" ? "meta_rejected" : "meta_unavailable";
}

/**
 * A Graph API failure as an error value: `meta_rejected` when Meta refused (a PERMANENT error;
 * `refusal` says what it refused), `meta_unavailable` when it did not answer usefully, with the
 * wait it asked for.
 */
export function metaError(error: GraphError, refusal: string): AdrailError {
  if (metaErrorCode(error) === "meta_rejected") {
    return new AdrailError("meta_rejected", refusal, {
      meta: { code: error.code, subcode: error.subcode, message: error.message },
    });
  }
  return metaUnavailable(error, "the Graph API did not answer; try again later");
}
