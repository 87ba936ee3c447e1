/**
 * Legacy protocol features Meta removed: from v26.0 calls on its release (2026-07-29) and from
 * every version on 2026-10-27 ("Introducing Graph API v26.0", developers.facebook.com/blog,
 * 2026-07-29); the v27.0 announcement (2026-11-04) names them: multi-ID requests, date/time
 * formatting, HTTP method override, field aliases, JSONP callbacks and asynchronous batch
 * requests. Once removed, each is refused with code 100. Before that, a method override is
 * honoured; date_format, aliases and callback are accepted and have no effect here.
 */

import { dayOf } from "./clock.ts";
import { errors } from "./errors.ts";
import { stringParam } from "./params.ts";
import type { Operation } from "./graph-routes.ts";
import { atLeast } from "./versions.ts";

/** v26.0 calls lose the features; every version does on ALL_VERSIONS_FROM. */
const REMOVED_FROM_VERSION = "v26.0";
const ALL_VERSIONS_FROM = "2026-10-27";

interface LegacyFeature {
  used: (op: Operation) => boolean;
  /** The refusal, after "(#100) ". */
  message: string;
}

const LEGACY_FEATURES: readonly LegacyFeature[] = [
  {
    used: (op) => op.method === "GET" && op.path === "/" && op.params.ids !== undefined,
    // Meta's words, as restfb issue #1692 quotes them.
    message: "Root requests using GET /?ids=... return an error. " +
      "Use per-object requests or supported batching",
  },
  {
    used: (op) => op.params.method !== undefined,
    message: "HTTP method override (method=) is no longer supported. " +
      "Send the request with its own HTTP method",
  },
  {
    used: (op) => /\.as\(/.test(stringParam(op.params, "fields") ?? ""),
    message: "Field aliases (field.as(alias)) are no longer supported. " +
      "Request fields by their own names",
  },
  {
    used: (op) => op.params.date_format !== undefined,
    message: "Date/time formatting (date_format=) is no longer supported",
  },
  {
    used: (op) => op.params.callback !== undefined,
    message: "JSONP callbacks (callback=) are no longer supported",
  },
  {
    used: (op) => /^\/act_\d+\/async_batch_requests\/?$/.test(op.path),
    message: "Asynchronous batch requests (async_batch_requests) are no longer supported. " +
      "Use the batch endpoint (POST / with batch=[...])",
  },
];

function legacyRemoved(version: string, now: number): boolean {
  return atLeast(version, REMOVED_FROM_VERSION) ||
    dayOf(now) >= ALL_VERSIONS_FROM;
}

const OVERRIDABLE = ["GET", "POST", "DELETE"];

/**
 * The operation as Meta runs it: refused when it uses a removed feature, its method overridden
 * by `method=` while that still works.
 */
export function applyLegacyRules(op: Operation, version: string, now: number): Operation {
  if (legacyRemoved(version, now)) {
    const feature = LEGACY_FEATURES.find((f) => f.used(op));
    if (feature) throw errors.legacyFeatureRemoved(feature.message);
    return op;
  }
  const override = stringParam(op.params, "method")?.toUpperCase();
  return override && OVERRIDABLE.includes(override) ? { ...op, method: override } : op;
}
