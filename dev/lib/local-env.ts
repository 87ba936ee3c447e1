// The local stack's fixed settings, like `supabase start`'s: a known JWT secret and the anon and
// service-role keys signed with it (HS256, as Supabase's legacy keys are). Local use only.
import * as jose from "jose";
import { defaultGraphApiVersion } from "../../supabase/functions/_shared/platform/config.ts";

export const localJwtSecret = "super-secret-jwt-token-with-at-least-32-characters-long";
export const localTokenEncryptionKey =
  "61647261696c2d6c6f63616c2d746f6b656e2d656e6372797074696f6e2d6b21";
export const localCronSecret = "adrail-local-cron-secret";
export const ports = { functions: 54321, simulator: 54330 } as const;

/** A JWT signed with the local secret; `claims` must carry `role` (and `sub` for a user). */
export async function signLocalJwt(
  claims: jose.JWTPayload,
  expiresIn: string | number = "1h",
): Promise<string> {
  return await new jose.SignJWT({
    iss: "supabase-demo",
    iat: Math.floor(Date.now() / 1000),
    ...claims,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(localJwtSecret));
}

/** The issuer of the local stack's user JWTs, as Supabase Auth's is `<project URL>/auth/v1`. */
export const localJwtIssuer = `http://127.0.0.1:${ports.functions}/auth/v1`;

/**
 * A user's access token as Supabase Auth issues it: role and audience `authenticated`, the
 * issuer, `is_anonymous`; `claims` override any of them.
 */
export async function signLocalUserJwt(
  userId: string,
  claims: jose.JWTPayload = {},
  expiresIn: string | number = "1h",
): Promise<string> {
  return await signLocalJwt({
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iss: localJwtIssuer,
    is_anonymous: false,
    ...claims,
  }, expiresIn);
}

/** The anon and service-role keys: the same every time, like `supabase status` prints. */
export async function localKeys(): Promise<{ anonKey: string; serviceRoleKey: string }> {
  const fixed = { iat: 1_700_000_000 };
  const until = 2_000_000_000;
  return {
    anonKey: await signLocalJwt({ role: "anon", ...fixed }, until),
    serviceRoleKey: await signLocalJwt({ role: "service_role", ...fixed }, until),
  };
}

/** The Graph API version the local stack's functions speak: adrail's one constant. */
export const graphApiVersion = defaultGraphApiVersion;

/** What Supabase would inject into the functions, plus adrail's own settings, for a local run. */
export function functionsEnv(databaseUrl: string, graphBaseUrl: string): Record<string, string> {
  return {
    SUPABASE_DB_URL: databaseUrl,
    GRAPH_BASE_URL: graphBaseUrl,
    GRAPH_API_VERSION: graphApiVersion,
    SUPABASE_JWT_SECRET: localJwtSecret,
    JWT_ISSUER: localJwtIssuer,
    TOKEN_ENCRYPTION_KEY: localTokenEncryptionKey,
    CRON_SECRET: localCronSecret,
    // Webhooks may go to this machine's receivers (loopback http): never on Supabase.
    ADRAIL_LOCAL_STACK_FUNCTIONS: "1",
  };
}
