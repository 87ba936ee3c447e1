// Structured logs: one JSON object a line, on stderr, never stdout (the demo's and the
// benchmark's output stay theirs; Supabase keeps both streams). Each line carries the context
// it was written in: the request id, the job, the ad account, set once with `withLogContext`
// where they become known and carried through every await below it (AsyncLocalStorage), so no
// module passes a logger around. A line's `level` field is its level: warn and info lines both
// go out through console.warn, the only stderr writer besides console.error.
//
// Never pass a token or a request body here. Even so, no secret is written: values under
// secret-looking keys are replaced, and so is, anywhere in a line, every secret registered with
// `maskSecrets` (the Meta tokens and app secrets a Graph client holds, the functions' own
// secrets) and anything shaped like a token (Meta's, a JWT, a bearer credential).
import { AsyncLocalStorage } from "node:async_hooks";

type Level = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** What a line is about, where known. */
export type LogContext = {
  /** The invocation's request id (x-request-id, sb-request-id, or a fresh one). */
  requestId?: string;
  function?: string;
  /** A creation-worker run. */
  runId?: string;
  jobId?: number;
  /** The ad account's platform id (act_...), as requests name it. */
  adAccountId?: string;
};

const context = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `fields` added to the context of every line it logs, awaits included. */
export function withLogContext<T>(fields: LogContext, work: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, work);
}

/** The context lines are written in now. */
export function logContext(): LogContext {
  return context.getStore() ?? {};
}

const secretKey = /token|secret|authorization|password|apikey|proof/i;
const redacted = "[redacted]";

/** Token shapes: Meta's access tokens, JWTs, bearer credentials, secrets in a query string. */
const secretShapes = [
  /\bEAA[A-Za-z0-9_-]{6,}/g,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g,
  /\b(Bearer\s+)[^\s"\\,]+/gi,
  /\b((?:access_token|appsecret_proof|client_secret)=)[^&\s"\\]+/gi,
];

/** Secret values seen by this instance, as they appear inside a JSON string, oldest first. */
const masked = new Set<string>();

/** Shorter values would mask ordinary words; no secret adrail handles is this short. */
const minMaskedLength = 8;

/**
 * The most secrets kept (each line is searched for every one): far more than one instance's
 * accounts; a secret registered again (each time it is used) becomes the newest.
 */
const maxMasked = 1_000;

/** Registers secrets to be replaced wherever they would appear in a line. */
export function maskSecrets(...secrets: (string | undefined)[]): void {
  for (const secret of secrets) {
    if (!secret || secret.length < minMaskedLength) continue;
    const inJson = JSON.stringify(secret).slice(1, -1);
    masked.delete(inJson);
    masked.add(inJson);
    if (masked.size > maxMasked) masked.delete(masked.values().next().value!);
  }
}

function scrub(line: string): string {
  let clean = line;
  for (const secret of masked) clean = clean.replaceAll(secret, redacted);
  for (const shape of secretShapes) {
    clean = clean.replace(
      shape,
      (_, prefix) => `${typeof prefix === "string" ? prefix : ""}${redacted}`,
    );
  }
  return clean;
}

/** The line as written: JSON, with every secret replaced. */
function formatLine(level: Level, message: string, fields: LogFields): string {
  const line = JSON.stringify(
    { level, time: new Date().toISOString(), message, ...logContext(), ...fields },
    (key, value) => key !== "" && secretKey.test(key) && value !== null ? redacted : value,
  );
  return scrub(line);
}

function write(level: Level, message: string, fields: LogFields): void {
  const line = formatLine(level, message, fields);
  if (level === "error") console.error(line);
  else console.warn(line);
}

export const log = {
  info: (message: string, fields: LogFields = {}) => write("info", message, fields),
  warn: (message: string, fields: LogFields = {}) => write("warn", message, fields),
  error: (message: string, fields: LogFields = {}) => write("error", message, fields),
};
