/**
 * Meta's error JSON and the errors the simulator raises.
 * Shape and codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
 */

export interface GraphErrorInit {
  code: number;
  message: string;
  subcode?: number;
  type?: string;
  /** HTTP status; Meta answers most errors with 400. */
  status?: number;
  transient?: boolean;
  headers?: Record<string, string>;
  /** What Meta shows people (error_user_title / error_user_msg), for the errors that carry it. */
  userTitle?: string;
  userMsg?: string;
}

export class GraphError extends Error {
  readonly code: number;
  readonly subcode?: number;
  readonly type: string;
  readonly status: number;
  readonly transient: boolean;
  readonly headers: Record<string, string>;
  readonly userTitle?: string;
  readonly userMsg?: string;

  constructor(init: GraphErrorInit) {
    super(init.message);
    this.code = init.code;
    this.subcode = init.subcode;
    this.type = init.type ?? "OAuthException";
    this.status = init.status ?? 400;
    this.transient = init.transient ?? false;
    this.headers = init.headers ?? {};
    this.userTitle = init.userTitle;
    this.userMsg = init.userMsg;
  }
}

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    is_transient: boolean;
    error_user_title?: string;
    error_user_msg?: string;
    fbtrace_id: string;
  };
}

export function errorBody(e: GraphError, fbtraceId: string): GraphErrorBody {
  return {
    error: {
      message: e.message,
      type: e.type,
      code: e.code,
      ...(e.subcode === undefined ? {} : { error_subcode: e.subcode }),
      is_transient: e.transient,
      ...(e.userTitle === undefined ? {} : { error_user_title: e.userTitle }),
      ...(e.userMsg === undefined ? {} : { error_user_msg: e.userMsg }),
      fbtrace_id: fbtraceId,
    },
  };
}

/** Default messages for codes a fault rule may name without a message. */
const MESSAGES: Record<number, string> = {
  1: "An unknown error occurred",
  2: "An unexpected error has occurred. Please retry your request later.",
  4: "(#4) Application request limit reached",
  10: "(#10) Application does not have permission for this action",
  17: "(#17) User request limit reached",
  32: "(#32) Page request limit reached",
  100: "(#100) Invalid parameter",
  190: "Error validating access token: The session has been invalidated.",
  200: "(#200) Permissions error",
  613: "(#613) Calls to this api have exceeded the rate limit.",
};

/** Codes Meta uses for throttling (4, 17, 32, 613, and the 80000-80014 business-use-case range). */
export function isRateLimitCode(code: number): boolean {
  return [4, 17, 32, 613].includes(code) || (code >= 80000 && code <= 80014);
}

/** Usual subcodes of the throttling codes (reference/meta-marketing-api.md, Errors table). */
const RATE_LIMIT_SUBCODES: Record<number, number> = { 17: 2446079, 613: 1487742, 80004: 2446079 };

export const errors = {
  /** Meta's answer for an id that does not exist or that this token cannot see (100/33). */
  objectMissing(id: string, method = "GET"): GraphError {
    return new GraphError({
      code: 100,
      subcode: 33,
      type: "GraphMethodException",
      message:
        `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, ` +
        "cannot be loaded due to missing permissions, or does not support this operation. " +
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
    });
  },
  /** A synchronous insights read over the account's size threshold (run it as a report instead). */
  tooMuchData(): GraphError {
    return new GraphError({
      code: 100,
      subcode: 1487534,
      message: "Please reduce the amount of data you're asking for, then retry your request",
    });
  },
  /** A report run's results read before it completed, or after it failed. */
  reportNotReady(): GraphError {
    return new GraphError({
      code: 2601,
      subcode: 1815107,
      transient: true,
      message: "Error accessing adreport job.",
      userTitle: "Loading Async Ads Report Failed",
      userMsg: "Sorry, the report cannot be loaded successfully. Please check if your job status " +
        "is completed instead of failed or running before fetching the data.",
    });
  },
  unknownPath(path: string): GraphError {
    return new GraphError({ code: 2500, message: `Unknown path components: ${path}` });
  },
  requiredParam(name: string): GraphError {
    return new GraphError({ code: 100, message: `(#100) The parameter ${name} is required` });
  },
  invalidParam(detail: string): GraphError {
    return new GraphError({ code: 100, message: `(#100) ${detail}` });
  },
  /** A value outside a parameter's enum, worded as Meta's typed-parameter errors. */
  notOneOf(name: string, allowed: readonly string[]): GraphError {
    return errors.invalidParam(`Param ${name} must be one of {${allowed.join(", ")}}`);
  },
  /**
   * An ads validation failure: "Invalid parameter" with a subcode and, where known, the words
   * Meta shows people (Marketing API error reference; examples in the business SDKs' issues).
   */
  invalidAdsParam(subcode: number, user?: { title: string; msg: string }): GraphError {
    return new GraphError({
      code: 100,
      subcode,
      message: "Invalid parameter",
      userTitle: user?.title,
      userMsg: user?.msg,
    });
  },
  /** A create naming a parent (campaign_id, adset_id) that does not exist, is not visible or is gone. */
  parentMissing(param: string, id: string): GraphError {
    return new GraphError({
      code: 100,
      subcode: 33,
      message: `(#100) Param ${param}: object with ID '${id}' does not exist, cannot be loaded ` +
        "due to missing permissions, or is deleted or archived",
    });
  },
  /** A retired version (Ads API wording; facebook-python-business-sdk issue #356). */
  deprecatedVersion(latest: string): GraphError {
    return new GraphError({
      code: 2635,
      message: "(#2635) You are calling a deprecated version of the Ads API. " +
        `Please update to the latest version: ${latest}.`,
    });
  },
  /** A legacy protocol feature Meta removed (legacy.ts). */
  legacyFeatureRemoved(message: string): GraphError {
    return new GraphError({ code: 100, message: `(#100) ${message}` });
  },
  tokenMissing(): GraphError {
    return new GraphError({
      code: 104,
      message: "An access token is required to request this resource.",
    });
  },
  tokenInvalid(): GraphError {
    // Meta answers 400 here and names the problem in WWW-Authenticate.
    return new GraphError({
      code: 190,
      message: "Invalid OAuth access token - Cannot parse access token",
      headers: {
        "WWW-Authenticate":
          'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"',
      },
    });
  },
  // appsecret_proof messages as Meta words them (seen in https://stape.io/blog/api-calls-from-the-server-require-appsecret-proof-argument).
  appsecretProofMissing(): GraphError {
    return new GraphError({
      code: 100,
      type: "GraphMethodException",
      message: "API calls from the server require an appsecret_proof argument",
    });
  },
  appsecretProofInvalid(): GraphError {
    return new GraphError({
      code: 100,
      type: "GraphMethodException",
      message: "Invalid appsecret_proof provided in the API argument",
    });
  },
  accountNotActive(accountId: string, status: number): GraphError {
    return new GraphError({
      code: 200,
      message: `(#200) Ad account ${accountId} cannot be used for this operation ` +
        `(account_status ${status})`,
    });
  },
  /** Object limits (ad account reference, "Limits"); Meta's exact subcode is not reproduced. */
  limitReached(what: string, limit: number): GraphError {
    return new GraphError({
      code: 100,
      message: `(#100) You have reached the maximum number of ${what} (${limit}). ` +
        "Delete or archive some before creating more.",
    });
  },
  tooManyIds(provided: number): GraphError {
    return new GraphError({
      code: 100,
      message: `(#100) Too many IDs. Maximum: 50. Provided: ${provided}.`,
    });
  },
  aliasesMissing(ids: string[]): GraphError {
    return new GraphError({
      code: 803,
      status: 404,
      message: `(#803) Some of the aliases you requested do not exist: ${ids.join(",")}`,
    });
  },
  batchInvalid(detail: string): GraphError {
    return new GraphError({ code: 100, type: "GraphBatchException", message: detail });
  },
  dependencyFailed(name: string): GraphError {
    return new GraphError({
      code: 100,
      type: "GraphBatchException",
      message: `(#100) The operation "${name}" this request depends on failed`,
    });
  },
  /** "Batch requests cannot include multiple Adsets under the same Campaign" (Graph API "Batch Requests", Limitations). */
  sameCampaignAdsets(campaignId: string): GraphError {
    return new GraphError({
      code: 100,
      type: "GraphBatchException",
      message: "(#100) Batch requests cannot include multiple ad sets under the same campaign " +
        `(${campaignId})`,
    });
  },
  /** An error chosen by a fault rule. Transient errors default to HTTP 500, as Meta's 5xx. */
  injected(
    init: {
      code: number;
      subcode?: number;
      transient?: boolean;
      status?: number;
      message?: string;
    },
  ): GraphError {
    const transient = init.transient ?? [1, 2].includes(init.code);
    return new GraphError({
      code: init.code,
      subcode: init.subcode,
      transient,
      status: init.status ?? (transient ? 500 : 400),
      message: init.message ?? MESSAGES[init.code] ?? `(#${init.code}) Simulated error`,
    });
  },
  rateLimited(code: number, headers: Record<string, string>): GraphError {
    const message = code >= 80000
      ? `(#${code}) There have been too many calls to this ad-account. Wait a bit and try again. ` +
        "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
      : MESSAGES[code] ?? `(#${code}) Rate limit reached`;
    return new GraphError({
      code,
      subcode: RATE_LIMIT_SUBCODES[code],
      transient: true,
      message,
      headers,
    });
  },
};
