// Configuration comes from the environment only: Supabase's own variables plus adrail's.
// Each setting is read when it is needed, so a function fails on the first request that needs a
// missing one, naming it, and a module never needs settings it does not use.

export class ConfigError extends Error {}

function required(name: string, ...fallbacks: string[]): string {
  for (const key of [name, ...fallbacks]) {
    const value = Deno.env.get(key);
    if (value) return value;
  }
  throw new ConfigError(`missing environment variable ${name}`);
}

/** Direct Postgres URL: SUPABASE_DB_URL on Supabase, DATABASE_URL elsewhere. */
export function databaseUrl(): string {
  return required("SUPABASE_DB_URL", "DATABASE_URL");
}

export type GraphSettings = { baseUrl: string; version: string };

/** Where Meta's Graph API is: the real one by default, the simulator in tests and the demo. */
export function graphSettings(): GraphSettings {
  return {
    baseUrl: (Deno.env.get("GRAPH_BASE_URL") ?? "https://graph.facebook.com").replace(/\/+$/, ""),
    version: Deno.env.get("GRAPH_API_VERSION") ?? "v21.0",
  };
}

export type JwtKeys = {
  /** HS256 secret of the project's (legacy) JWTs. */
  secret?: string;
  /** JSON Web Key Set of the project's asymmetric signing keys. */
  jwks?: { keys: JsonWebKey[] };
};

/**
 * The keys user JWTs are verified with. Custom secrets may not start with SUPABASE_: JWT_SECRET.
 * SUPABASE_JWKS comes as a key set ({"keys": [...]}) or as a bare array of keys: both are taken.
 */
export function jwtKeys(): JwtKeys {
  const jwks = Deno.env.get("SUPABASE_JWKS");
  let keySet: JwtKeys["jwks"];
  if (jwks) {
    const parsed = JSON.parse(jwks);
    keySet = Array.isArray(parsed) ? { keys: parsed } : parsed;
  }
  return {
    secret: Deno.env.get("SUPABASE_JWT_SECRET") ?? Deno.env.get("JWT_SECRET"),
    jwks: keySet,
  };
}

/** 32 bytes, as 64 hex digits or base64: the key access tokens are encrypted under. */
export function tokenEncryptionKey(): string {
  return required("TOKEN_ENCRYPTION_KEY");
}

/** The secret pg_cron sends (x-cron-secret) to call service-only functions; unset = no cron access. */
export function cronSecret(): string | undefined {
  return Deno.env.get("CRON_SECRET") || undefined;
}
