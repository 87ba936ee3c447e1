/**
 * Access tokens and appsecret_proof. The token comes as the `access_token` parameter or an
 * `Authorization: Bearer` (or `OAuth`) header; when the account was registered with an app
 * secret, `appsecret_proof` = hex HMAC-SHA256 of the token keyed by the secret is required
 * (https://developers.facebook.com/docs/graph-api/securing-requests), in the query string or the
 * body; a batch's covers its items, and a proof an item carries itself must be right too.
 */

import { errors } from "./errors.ts";
import { type Params, stringParam } from "./params.ts";
import type { Store } from "./store.ts";

export interface AuthContext {
  token: string;
  /** Accounts this token may use. */
  accountIds: ReadonlySet<string>;
  /** The token came as a parameter, so paging links carry it too, as Meta's do. */
  tokenAsParam: boolean;
}

export async function appsecretProof(token: string, appSecret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(appSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(token));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function tokenFrom(params: Params, headers: Headers): { token: string; asParam: boolean } | null {
  const param = stringParam(params, "access_token");
  if (param) return { token: param, asParam: true };
  const header = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(headers.get("authorization") ?? "");
  return header ? { token: header[1], asParam: false } : null;
}

/**
 * Checks the `appsecret_proof` of `params` for the token: refused when given and wrong, wherever
 * it came (query string, body, a batch item); refused when missing and `required` and the token's
 * accounts have an app secret.
 */
export async function checkAppsecretProof(
  store: Store,
  ctx: Pick<AuthContext, "token" | "accountIds">,
  params: Params,
  required: boolean,
): Promise<void> {
  const secrets = [...ctx.accountIds].map((id) => store.accounts.get(id)?.appSecret).filter((
    s,
  ): s is string => !!s);
  if (secrets.length === 0) return;
  const proof = stringParam(params, "appsecret_proof");
  if (!proof) {
    if (required) throw errors.appsecretProofMissing();
    return;
  }
  const expected = await Promise.all(secrets.map((s) => appsecretProof(ctx.token, s)));
  if (!expected.includes(proof.toLowerCase())) throw errors.appsecretProofInvalid();
}

export async function authenticate(
  store: Store,
  params: Params,
  headers: Headers,
): Promise<AuthContext> {
  const found = tokenFrom(params, headers);
  if (!found) throw errors.tokenMissing();
  const accountIds = store.accountIdsForToken(found.token);
  if (accountIds.size === 0) throw errors.tokenInvalid();
  const ctx = { token: found.token, accountIds, tokenAsParam: found.asParam };
  await checkAppsecretProof(store, ctx, params, true);
  return ctx;
}
