/**
 * Request parameters. Clients written from Meta's docs send form-encoded bodies in which
 * JSON-valued parameters (batch, targeting, filtering, time_range...) are JSON strings;
 * others send JSON bodies. Both, plus the query string, end up in one Params map.
 */

import { errors } from "./errors.ts";

export type Params = Record<string, unknown>;

export function parseBody(text: string, contentType: string): Params {
  if (!text.trim()) return {};
  if (contentType.includes("application/json") || /^\s*\{/.test(text)) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
    } catch {
      // Not JSON after all: fall through to form decoding.
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export async function readParams(
  req: Request,
  url: URL,
): Promise<{ params: Params; bodyText: string }> {
  const bodyText = req.body ? await req.text() : "";
  const params: Params = {
    ...Object.fromEntries(url.searchParams),
    ...parseBody(bodyText, req.headers.get("content-type") ?? ""),
  };
  return { params, bodyText };
}

/** A parameter as a string (numbers too), or undefined. */
export function stringParam(params: Params, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** A JSON-valued parameter: parsed when it came as a string, as-is when it came as JSON. */
export function jsonParam(params: Params, name: string): unknown {
  const v = params[name];
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    throw errors.invalidParam(`Param ${name} must be a valid JSON value`);
  }
}

/** A list parameter given as a JSON array or a comma-separated string. */
export function listParam(params: Params, name: string): string[] | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(String);
  const s = String(v).trim();
  if (s.startsWith("[")) {
    const parsed = jsonParam(params, name);
    if (!Array.isArray(parsed)) throw errors.invalidParam(`Param ${name} must be an array`);
    return parsed.map(String);
  }
  return s.split(",").map((x) => x.trim()).filter(Boolean);
}

/** `fields=a,b,c`; nested selections such as insights{...} are not supported and dropped. */
export function fieldsParam(params: Params): string[] | undefined {
  return listParam(params, "fields")?.map((f) => f.replace(/[{.].*$/, ""));
}

export function hasExecutionOption(params: Params, option: string): boolean {
  return (listParam(params, "execution_options") ?? []).includes(option);
}

/** Query string for paging links, JSON-encoding structured values as Meta's own links do. */
export function encodeQuery(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) q.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  return q.toString();
}
