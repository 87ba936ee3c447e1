// Secrets at rest (an ad account's access token and app secret): AES-256-GCM (WebCrypto), stored
// as
//
//   v1:<key id>:<base64(iv || ciphertext || tag)>
//
// - A fresh 96-bit IV per encryption, as GCM requires.
// - The key id is computed from the key (the first 8 hex digits of SHA-256 of its 32 bytes), never
//   configured, so no setting can mislabel a key; it names the key without revealing it.
// - The associated data binds each ciphertext to the account and column it was written for
//   (`adrail:ad_accounts:<platform>:<platform account id>:<column>`): copied to another account's
//   row or to the other column, it fails to decrypt instead of lending one account's token to
//   another. The platform account id is the account's identity (unique per platform, never
//   changed) and is known before the row exists, unlike its uuid.
// - TOKEN_ENCRYPTION_KEY encrypts; it and the keys of TOKEN_ENCRYPTION_KEYRING decrypt, which is
//   what lets a key be rotated without downtime (README, "Rotating the token encryption key").
// - Ciphertexts written before key ids existed ("legacy": bare base64, no associated data) are
//   still read, under whichever configured key opens them; the rotation command rewrites them.
import { tokenEncryptionKeys } from "./config.ts";
import { AdrailError } from "./errors.ts";

/** The columns of public.ad_accounts that hold a secret. */
export type SecretColumn =
  | "access_token_ciphertext"
  | "app_secret_ciphertext"
  | "webhook_secret_ciphertext";

/** Where a secret is stored: its ciphertext is bound to exactly this place. */
export type SecretSlot = { platform: string; platformAccountId: string; column: SecretColumn };

/** The secret slots of an ad account's row. */
export function secretSlots(
  platform: string,
  platformAccountId: string,
): { accessToken: SecretSlot; appSecret: SecretSlot; webhookSecret: SecretSlot } {
  return {
    accessToken: { platform, platformAccountId, column: "access_token_ciphertext" },
    appSecret: { platform, platformAccountId, column: "app_secret_ciphertext" },
    webhookSecret: { platform, platformAccountId, column: "webhook_secret_ciphertext" },
  };
}

const formatVersion = "v1";
const ivBytes = 12;

type Key = { id: string; key: CryptoKey };
type Keyring = { current: Key; byId: Map<string, Key> };

/** Why a stored secret did not decrypt (never what it is). */
export type DecryptionProblem =
  /** Encrypted under a key that is not configured (dropped before the rotation finished). */
  | "unknown_key"
  /** The key is there but the ciphertext does not open: altered, or written for another slot. */
  | "rejected"
  /** Not a ciphertext adrail writes. */
  | "malformed";

/**
 * A stored secret that cannot be decrypted. A 500 for the caller; the log names the account,
 * the column, the key id and the problem, never a secret.
 */
export class SecretDecryptionError extends AdrailError {
  override readonly name = "SecretDecryptionError";

  constructor(readonly slot: SecretSlot, readonly problem: DecryptionProblem, keyId?: string) {
    const where = `${slot.column} of ${slot.platform} ad account ${slot.platformAccountId}`;
    const reason = {
      unknown_key:
        `is encrypted under key ${keyId}, which is neither TOKEN_ENCRYPTION_KEY nor in TOKEN_ENCRYPTION_KEYRING`,
      rejected: keyId
        ? `does not decrypt under key ${keyId}: altered, or written for another account or column`
        : "decrypts under none of the configured keys",
      malformed: "is not a ciphertext adrail wrote",
    }[problem];
    super("internal", `${where} ${reason}`);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The id a key is stored under: the first 8 hex digits of SHA-256 of its bytes. */
async function keyIdOf(keyBytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", keyBytes)).slice(0, 4));
}

// Imported keys by their bytes (hex): each key is imported once per process, whatever the
// settings say at the time of each call.
const imported = new Map<string, Promise<Key>>();

function importKey(keyBytes: Uint8Array): Promise<Key> {
  const material = hex(keyBytes);
  let key = imported.get(material);
  if (!key) {
    key = (async () => ({
      id: await keyIdOf(keyBytes),
      key: await crypto.subtle.importKey("raw", keyBytes, "AES-GCM", false, [
        "encrypt",
        "decrypt",
      ]),
    }))();
    imported.set(material, key);
  }
  return key;
}

/** The configured keys (a malformed or missing setting throws ConfigError, naming it). */
async function keyring(): Promise<Keyring> {
  const settings = tokenEncryptionKeys();
  const current = await importKey(settings.current);
  const others = await Promise.all(settings.others.map(importKey));
  // The current key first: legacy ciphertexts, which name no key, are most likely under it.
  return { current, byId: new Map([current, ...others].map((k) => [k.id, k])) };
}

function associatedData(slot: SecretSlot): Uint8Array {
  return new TextEncoder().encode(
    `adrail:ad_accounts:${slot.platform}:${slot.platformAccountId}:${slot.column}`,
  );
}

/** The id of the key new ciphertexts are written under (TOKEN_ENCRYPTION_KEY's). */
export async function currentKeyId(): Promise<string> {
  return (await keyring()).current.id;
}

/** The prefix of every ciphertext written under the key with this id. */
export function ciphertextPrefix(keyId: string): string {
  return `${formatVersion}:${keyId}:`;
}

/** Encrypts `plain` under TOKEN_ENCRYPTION_KEY, bound to `slot`. */
export async function encryptSecret(plain: string, slot: SecretSlot): Promise<string> {
  const { current } = await keyring();
  const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: associatedData(slot) },
      current.key,
      new TextEncoder().encode(plain),
    ),
  );
  const out = new Uint8Array(ivBytes + sealed.length);
  out.set(iv);
  out.set(sealed, ivBytes);
  return `${ciphertextPrefix(current.id)}${toBase64(out)}`;
}

/** AES-GCM open; undefined when the tag does not verify (wrong key, data or ciphertext). */
async function open(
  key: Key,
  bytes: Uint8Array,
  additionalData?: Uint8Array,
): Promise<string | undefined> {
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes.slice(0, ivBytes),
        ...(additionalData ? { additionalData } : {}),
      },
      key.key,
      bytes.slice(ivBytes),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

/**
 * The secret stored in `slot`. Throws SecretDecryptionError when it cannot be read (its key is
 * not configured; it was altered, or copied from another slot; it is not a ciphertext at all).
 */
export async function decryptSecret(stored: string, slot: SecretSlot): Promise<string> {
  const ring = await keyring();
  const versioned = /^v1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/.exec(stored);
  if (versioned) {
    const [, keyId, body] = versioned;
    const key = ring.byId.get(keyId);
    if (!key) throw new SecretDecryptionError(slot, "unknown_key", keyId);
    const bytes = fromBase64(body);
    const plain = bytes && await open(key, bytes, associatedData(slot));
    if (plain === undefined) throw new SecretDecryptionError(slot, "rejected", keyId);
    return plain;
  }
  const legacy = /^[A-Za-z0-9+/]+={0,2}$/.test(stored) ? fromBase64(stored) : undefined;
  if (!legacy) throw new SecretDecryptionError(slot, "malformed");
  // Legacy: no key id and no associated data; every configured key is tried.
  for (const key of ring.byId.values()) {
    const plain = await open(key, legacy);
    if (plain !== undefined) return plain;
  }
  throw new SecretDecryptionError(slot, "rejected");
}
