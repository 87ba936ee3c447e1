// A small Graph API client: the access token travels in the Authorization header (never in a
// URL that could be logged), with appsecret_proof when the account has an app secret
// (https://developers.facebook.com/docs/graph-api/securing-requests). Every call answers with a
// value, never a throw: { ok: true, data } or { ok: false, error } with a classified error.
import {
  classifyGraphResponse,
  classifyNetworkFailure,
  type GraphErrorBody,
  type GraphResult,
} from "./graph-errors.ts";

export type GraphClientOptions = {
  baseUrl: string;
  version: string;
  accessToken: string;
  appSecret?: string;
  timeoutMs?: number;
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

export class GraphClient {
  private proof?: Promise<string>;

  constructor(private readonly options: GraphClientOptions) {
    if (options.appSecret) this.proof = hmacSha256Hex(options.appSecret, options.accessToken);
  }

  get<T>(path: string, params: GraphParams = {}): Promise<GraphResult<T>> {
    return this.request<T>("GET", path, params, false);
  }

  /** A write. Creates pass isCreate so that a lost answer is reported as UNKNOWN_OUTCOME. */
  post<T>(path: string, params: GraphParams = {}, isCreate = true): Promise<GraphResult<T>> {
    return this.request<T>("POST", path, params, isCreate);
  }

  delete<T>(path: string): Promise<GraphResult<T>> {
    return this.request<T>("DELETE", path, {}, false);
  }

  private async request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    params: GraphParams,
    isCreate: boolean,
  ): Promise<GraphResult<T>> {
    const query = encodeParams({ ...params, appsecret_proof: await this.proof });
    const url = `${this.options.baseUrl}/${this.options.version}${
      path.startsWith("/") ? path : `/${path}`
    }`;
    const hasBody = method === "POST";
    let response: Response;
    try {
      response = await fetch(hasBody ? url : `${url}?${query}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.options.accessToken}`,
          ...(hasBody ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        body: hasBody ? query : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      return { ok: false, error: classifyNetworkFailure(error, isCreate) };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (response.ok) return { ok: false, error: classifyNetworkFailure(error, isCreate) };
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
