// Who is calling: the user id from a Supabase JWT, verified locally with jose (HS256 with the
// project's JWT secret, or ES256/RS256 against the project's JWKS) instead of an Auth round trip
// per request.
import * as jose from "jose";
import { cronSecret, jwtIssuer, type JwtKeys, jwtKeys } from "./config.ts";
import { AdrailError } from "./errors.ts";

export type AuthenticatedUser = { id: string; claims: jose.JWTPayload };

/**
 * The algorithms of Supabase's asymmetric signing keys, the only ones taken from the JWKS. HS256
 * is taken only with the project's secret: a token signed with anything else (a public key used
 * as an HMAC secret, `none`, another algorithm of a listed key) is refused.
 */
const asymmetricJwtAlgorithms = ["ES256", "RS256"];

/** What a user JWT of Supabase Auth carries as its audience. */
const userJwtAudience = "authenticated";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bearerToken(req: Request): string {
  const header = req.headers.get("Authorization") ?? "";
  const match = header.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw new AdrailError("unauthorized", "missing bearer token");
  return match[1];
}

/** The project's JWT secret as an HS256 key, imported once per isolate rather than per request. */
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    hmacKeys.set(secret, key);
  }
  return key;
}

/**
 * A JWT signed with the project's keys under a pinned algorithm, its `exp` (when it has one) not
 * past: what Supabase's gateway checks for verify_jwt (the local gateway uses this very check).
 * `options` add the functions' own rules (required claims, audience, issuer). Throws jose's error.
 */
export async function verifyProjectJwt(
  token: string,
  { secret, jwks }: JwtKeys,
  options: Omit<jose.JWTVerifyOptions, "algorithms"> = {},
): Promise<jose.JWTPayload> {
  if (jose.decodeProtectedHeader(token).alg === "HS256") {
    if (!secret) throw new jose.errors.JOSEAlgNotAllowed("HS256 needs the project's JWT secret");
    return (await jose.jwtVerify(token, await hmacKey(secret), {
      ...options,
      algorithms: ["HS256"],
    }))
      .payload;
  }
  if (!jwks) throw new jose.errors.JOSEAlgNotAllowed("no JWKS to verify this JWT with");
  const keySet = jose.createLocalJWKSet(jwks as jose.JSONWebKeySet);
  return (await jose.jwtVerify(token, keySet, { ...options, algorithms: asymmetricJwtAlgorithms }))
    .payload;
}

/** Why a JWT was refused, for the caller: which claim, never the token or a key. */
function refusal(error: unknown): AdrailError {
  if (error instanceof jose.errors.JWTExpired) {
    return new AdrailError("unauthorized", "the JWT has expired");
  }
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    return new AdrailError(
      "unauthorized",
      `the JWT's "${error.claim}" claim is ${
        error.reason === "missing" ? "missing" : "not accepted"
      }`,
    );
  }
  return new AdrailError("unauthorized", "invalid JWT");
}

/**
 * Verifies a caller's JWT with the project's keys (read first: a missing key is a ConfigError,
 * not a 401). Every JWT must expire (`exp`).
 */
async function verifiedClaims(
  token: string,
  options: Pick<jose.JWTVerifyOptions, "audience" | "issuer"> = {},
): Promise<jose.JWTPayload> {
  const keys = jwtKeys();
  try {
    return await verifyProjectJwt(token, keys, { ...options, requiredClaims: ["exp"] });
  } catch (error) {
    throw refusal(error);
  }
}

/** What the caller is about to do: anything that changes state (Meta's or adrail's) is a write. */
export type Access = { write: boolean };

/**
 * The signed-in user, or 401: a JWT of the project that expires, whose audience is
 * `authenticated` and whose issuer is the configured one (JWT_ISSUER, when set), naming a user.
 * Rejects the anon and service keys: they name no user. An anonymous sign-in (`is_anonymous`)
 * may read but not write: 403 for a write.
 */
export async function authenticateUser(req: Request, access: Access): Promise<AuthenticatedUser> {
  const claims = await verifiedClaims(bearerToken(req), {
    audience: userJwtAudience,
    issuer: jwtIssuer(),
  });
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || !uuid.test(claims.sub)) {
    throw new AdrailError("unauthorized", "the JWT does not name a signed-in user");
  }
  if (access.write && claims.is_anonymous === true) {
    throw new AdrailError(
      "forbidden",
      "an anonymous sign-in may read but not change anything: sign in with an account first",
    );
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

/** Whether the request carries pg_cron's secret: 401 when it carries another. */
async function fromCron(req: Request): Promise<boolean> {
  const given = req.headers.get("x-cron-secret");
  if (given === null) return false;
  const secret = cronSecret();
  if (secret && await sameSecret(given, secret)) return true;
  throw new AdrailError("unauthorized", "invalid cron secret");
}

/**
 * Functions that users call and pg_cron schedules (facebook-ads-sync): pg_cron's x-cron-secret,
 * or else a signed-in user exactly as authenticateUser checks one. verify_jwt is off for them
 * (the secret is no JWT), so this is the only check of the user's JWT.
 */
export async function authenticateUserOrCron(
  req: Request,
  access: Access,
): Promise<{ caller: "cron" } | { caller: "user"; user: AuthenticatedUser }> {
  if (await fromCron(req)) return { caller: "cron" };
  return { caller: "user", user: await authenticateUser(req, access) };
}

/**
 * Service-only functions (safety-net): the service-role key, or pg_cron's x-cron-secret header.
 * 401 without either; 403 for a valid user JWT, which is not enough.
 */
export async function authenticateService(req: Request): Promise<"service_role" | "cron"> {
  const secret = cronSecret();
  const given = req.headers.get("x-cron-secret");
  if (given && secret && await sameSecret(given, secret)) return "cron";
  let claims: jose.JWTPayload;
  try {
    claims = await verifiedClaims(bearerToken(req));
  } catch (error) {
    if (!(error instanceof AdrailError) || error.code !== "unauthorized") throw error;
    throw new AdrailError("unauthorized", "the service-role key or the cron secret is required");
  }
  if (claims.role !== "service_role") {
    throw new AdrailError("forbidden", "only the service role or pg_cron may call this function");
  }
  return "service_role";
}
