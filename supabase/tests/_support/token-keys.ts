// Keys and ciphertexts for the token-encryption tests: a fresh key, and a secret in the legacy
// format, as adrail stored it before key ids and associated data existed (base64(iv ||
// ciphertext || tag), AES-256-GCM, nothing bound), to show such rows are still read and rotated.

/** A fresh 32-byte key, as 64 hex digits (the form TOKEN_ENCRYPTION_KEY takes). */
export function randomKey(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (digits) => parseInt(digits, 16));
}

/** `plain` in the legacy format under `keyHex`. */
export async function legacyCiphertext(plain: string, keyHex: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", hexBytes(keyHex), "AES-GCM", false, [
    "encrypt",
  ]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plain)),
  );
  return btoa(String.fromCharCode(...iv, ...sealed));
}

/** The key id adrail stores with a ciphertext: the first 8 hex digits of SHA-256 of the key. */
export async function keyIdOfHex(keyHex: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", hexBytes(keyHex)));
  return Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
}
