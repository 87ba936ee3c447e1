// Configuration comes from the environment only: Supabase's own variables plus adrail's.
// Read lazily, so a function fails on the first request that needs a setting, with its name,
// rather than at import.

export type Config = {
  databaseUrl: string;
  graphBaseUrl: string;
  graphApiVersion: string;
  /** HS256 secret of the project's (legacy) JWTs; when unset, SUPABASE_JWKS must be. */
  jwtSecret?: string;
  /** JSON Web Key Set of the project's asymmetric signing keys. */
  jwks?: string;
  tokenEncryptionKey: string;
  cronSecret?: string;
};

export class ConfigError extends Error {}

function required(name: string, ...fallbacks: string[]): string {
  for (const key of [name, ...fallbacks]) {
    const value = Deno.env.get(key);
    if (value) return value;
  }
  throw new ConfigError(`missing environment variable ${name}`);
}

export function loadConfig(): Config {
  return {
    databaseUrl: required("SUPABASE_DB_URL", "DATABASE_URL"),
    graphBaseUrl: (Deno.env.get("GRAPH_BASE_URL") ?? "https://graph.facebook.com").replace(
      /\/+$/,
      "",
    ),
    graphApiVersion: Deno.env.get("GRAPH_API_VERSION") ?? "v21.0",
    jwtSecret: Deno.env.get("SUPABASE_JWT_SECRET") ?? Deno.env.get("JWT_SECRET"),
    jwks: Deno.env.get("SUPABASE_JWKS"),
    tokenEncryptionKey: required("TOKEN_ENCRYPTION_KEY"),
    cronSecret: Deno.env.get("CRON_SECRET"),
  };
}
