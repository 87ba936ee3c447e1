// Which URLs a webhook may be sent to. adrail POSTs to the URL from inside its own network, so a
// URL is a way to make adrail send requests (server-side request forgery): only https, no
// credentials in it, no IP literal of a private, loopback, link-local or otherwise internal range
// (nor any IPv6 literal), no `localhost` or name under .localhost, .local, .internal or
// .home.arpa. A public name can still resolve to an internal address (DNS rebinding): the
// deliverer follows no redirects and keeps nothing of an answer but its status, so such a URL
// cannot read an internal service. On the local stack (ADRAIL_LOCAL_STACK_FUNCTIONS=1 in the
// functions' environment) a loopback http URL is allowed too, for tests and the demo.
import { localStack } from "../platform/config.ts";

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16, 198.18/15, 224+. */
function internalIpv4(host: string): boolean {
  const match = ipv4.exec(host);
  if (!match) return false;
  const [a, b, c] = match.slice(1, 4).map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 0 && c === 0) ||
    (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19));
}

/** Any IPv6 literal: the internal ranges (::1, fc00::/7, fe80::/10, mapped v4) are most of them. */
function ipv6Literal(host: string): boolean {
  return host.startsWith("[");
}

/** Names that only mean something inside a network (cloud metadata services use .internal). */
function internalName(host: string): boolean {
  return host === "localhost" || /\.(localhost|local|internal|home\.arpa)$/.test(host);
}

function loopbackHost(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The URL as it will be stored, or why it is refused. */
export function checkWebhookUrl(given: string): WebhookUrlCheck {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return { ok: false, reason: "is not a URL" };
  }
  // The URL parser has written any IPv4 form (decimal, hex, short) as a dotted quad already.
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (url.username || url.password) return { ok: false, reason: "must not hold credentials" };
  if (localStack() && loopbackHost(host) && ["http:", "https:"].includes(url.protocol)) {
    return { ok: true, url: url.href };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "must be https" };
  if (internalName(host) || internalIpv4(host) || ipv6Literal(host)) {
    return { ok: false, reason: "must not name a loopback, private or link-local address" };
  }
  return { ok: true, url: url.href };
}
