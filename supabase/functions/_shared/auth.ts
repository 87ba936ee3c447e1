// Who is calling: the user id from a Supabase JWT, verified locally with jose (HS256 with the
// project's JWT secret, or the project's JWKS) instead of an Auth round trip per request.
import * as jose from "jose";
import { cronSecret, type JwtKeys, jwtKeys } from "./config.ts";
import { AdrailError } from "./errors.ts";

export type AuthenticatedUser = { id: string; claims: jose.JWTPayload };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bearerToken(req: Request): string {
  const header = req.headers.get("Authorization") ?? "";
  const match = header.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw new AdrailError("unauthorized", "missing bearer token");
  return match[1];
}

/** Verifies a JWT with the project's keys (read first: a missing key is a ConfigError, not a 401). */
async function verify(
  token: string,
  { secret: jwtSecret, jwks }: JwtKeys,
): Promise<jose.JWTPayload> {
  const header = jose.decodeProtectedHeader(token);
  if (header.alg === "HS256" && jwtSecret) {
    return (await jose.jwtVerify(token, new TextEncoder().encode(jwtSecret), {
      algorithms: ["HS256"],
    })).payload;
  }
  if (jwks) {
    const keySet = jose.createLocalJWKSet(jwks as jose.JSONWebKeySet);
    return (await jose.jwtVerify(token, keySet)).payload;
  }
  throw new Error("no key to verify this JWT");
}

/** The signed-in user, or 401. Rejects the anon and service keys: they name no user. */
export async function authenticateUser(req: Request): Promise<AuthenticatedUser> {
  const token = bearerToken(req);
  const keys = jwtKeys();
  let claims: jose.JWTPayload;
  try {
    claims = await verify(token, keys);
  } catch {
    throw new AdrailError("unauthorized", "invalid or expired JWT");
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || !uuid.test(claims.sub)) {
    throw new AdrailError("unauthorized", "the JWT does not name a signed-in user");
  }
  return { id: claims.sub, claims };
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Compares secrets in constant time (their digests, so length leaks nothing either). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return a.reduce((diff, byte, i) => diff | (byte ^ b[i]), 0) === 0;
}

/**
 * Service-only functions (safety-net): the service-role key, or pg_cron's x-cron-secret header.
 * 401 without either; 403 for a valid user JWT, which is not enough.
 */
export async function authenticateService(req: Request): Promise<"service_role" | "cron"> {
  const secret = cronSecret();
  const given = req.headers.get("x-cron-secret");
  if (given && secret && await sameSecret(given, secret)) return "cron";
  const keys = jwtKeys();
  let claims: jose.JWTPayload;
  try {
    claims = await verify(bearerToken(req), keys);
  } catch {
    throw new AdrailError("unauthorized", "the service-role key or the cron secret is required");
  }
  if (claims.role !== "service_role") {
    throw new AdrailError("forbidden", "only the service role or pg_cron may call this function");
  }
  return "service_role";
}
