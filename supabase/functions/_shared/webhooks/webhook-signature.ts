// Webhook signatures, Stripe-style: the header
//
//   X-Adrail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// signs the timestamp with the body, so a captured delivery cannot be replayed later under a new
// timestamp. Receivers verify with verifyWebhookSignature (this module has no other dependency:
// copy it, or import it), over the raw body bytes as received, before parsing them.

/** The header a delivery's signature travels in. */
export const signatureHeader = "X-Adrail-Signature";

/** How old a signed timestamp a receiver accepts by default (and how far in the future). */
export const defaultToleranceSeconds = 300;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The signature header's value for `body`, signed at `timestampSeconds`. */
export async function signWebhook(
  secret: string,
  body: string,
  timestampSeconds = Math.floor(Date.now() / 1000),
): Promise<string> {
  return `t=${timestampSeconds},v1=${await hmacHex(secret, `${timestampSeconds}.${body}`)}`;
}

/** Compares two strings in constant time for their length. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Whether `header` (the X-Adrail-Signature value) signs `body` (the raw request body) with
 * `secret`, at a timestamp within `toleranceSeconds` of now. Any v1 signature may match (there is
 * one today; several would let a secret be rotated).
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null,
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): Promise<boolean> {
  if (!header) return false;
  const parts = header.split(",").map((part) => part.trim().split("="));
  const timestamp = parts.find(([key]) => key === "t")?.[1];
  const signatures = parts.filter(([key]) => key === "v1").map(([, value]) => value ?? "");
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? defaultToleranceSeconds)) {
    return false;
  }
  const expected = await hmacHex(secret, `${timestamp}.${body}`);
  return signatures.some((signature) => sameText(signature, expected));
}
