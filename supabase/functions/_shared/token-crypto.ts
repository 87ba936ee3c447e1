// Access tokens at rest: AES-256-GCM (WebCrypto) under TOKEN_ENCRYPTION_KEY, stored as
// base64(iv || ciphertext || tag). A fresh 96-bit IV per encryption, as GCM requires.
import { tokenEncryptionKey } from "./config.ts";

const ivBytes = 12;

function keyBytes(encoded: string): Uint8Array {
  const bytes = /^[0-9a-f]{64}$/i.test(encoded)
    ? Uint8Array.from(encoded.match(/../g)!, (h) => parseInt(h, 16))
    : Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  if (bytes.length !== 32) {
    throw new Error("TOKEN_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64");
  }
  return bytes;
}

let cachedKey: Promise<CryptoKey> | undefined;

function key(): Promise<CryptoKey> {
  cachedKey ??= crypto.subtle.importKey(
    "raw",
    keyBytes(tokenEncryptionKey()),
    "AES-GCM",
    false,
    ["encrypt", "decrypt"],
  );
  return cachedKey;
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

export async function encryptSecret(plain: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv },
      await key(),
      new TextEncoder().encode(plain),
    ),
  );
  const out = new Uint8Array(ivBytes + sealed.length);
  out.set(iv);
  out.set(sealed, ivBytes);
  return toBase64(out);
}

export async function decryptSecret(stored: string): Promise<string> {
  const bytes = Uint8Array.from(atob(stored), (c) => c.charCodeAt(0));
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, ivBytes) },
    await key(),
    bytes.slice(ivBytes),
  );
  return new TextDecoder().decode(plain);
}
