// token-crypto.ts on its own: the stored format and its key id, the binding of each ciphertext
// to its account and column, the keyring (decrypt-only keys), legacy ciphertexts, and errors
// that name the place and the key, never a secret or a key.
import assert from "node:assert/strict";
import { ConfigError } from "../../functions/_shared/platform/config.ts";
import {
  decryptSecret,
  encryptSecret,
  SecretDecryptionError,
  secretSlots,
} from "../../functions/_shared/platform/token-crypto.ts";
import { keyIdOfHex, legacyCiphertext, randomKey } from "../_support/token-keys.ts";

const oldKey = randomKey();
const newKey = randomKey();
const secret = `EAAB-secret-${crypto.randomUUID()}`;
const slots = secretSlots("facebook", "act_1001");
const otherAccount = secretSlots("facebook", "act_1002");

/** Runs `fn` with these keys configured, then puts the settings back. */
async function withKeys(current: string, keyring: string, fn: () => Promise<void>) {
  const saved = ["TOKEN_ENCRYPTION_KEY", "TOKEN_ENCRYPTION_KEYRING"].map((name) =>
    [name, Deno.env.get(name)] as const
  );
  Deno.env.set("TOKEN_ENCRYPTION_KEY", current);
  Deno.env.set("TOKEN_ENCRYPTION_KEYRING", keyring);
  try {
    await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/** The error decrypting throws, checked to name no secret and no key. */
async function decryptionError(stored: string, slot = slots.accessToken) {
  const error = await decryptSecret(stored, slot).then(
    () => assert.fail("it decrypted"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof SecretDecryptionError, String(error));
  assert.equal(error.code, "internal");
  for (const leak of [secret, oldKey, newKey]) assert.ok(!error.message.includes(leak));
  return error;
}

Deno.test("v1:<key id>:<base64>, the key id from the key itself, a fresh IV each time", async () => {
  await withKeys(oldKey, "", async () => {
    const first = await encryptSecret(secret, slots.accessToken);
    const second = await encryptSecret(secret, slots.accessToken);
    assert.match(first, new RegExp(`^v1:${await keyIdOfHex(oldKey)}:[A-Za-z0-9+/]+=*$`));
    assert.notEqual(first, second);
    assert.ok(!first.includes(secret));
    assert.equal(await decryptSecret(first, slots.accessToken), secret);
    // The same key written in base64 is the same key, with the same id.
    const base64 = btoa(String.fromCharCode(...oldKey.match(/../g)!.map((h) => parseInt(h, 16))));
    await withKeys(base64, "", async () => {
      assert.equal(await decryptSecret(first, slots.accessToken), secret);
    });
  });
});

Deno.test("a ciphertext opens only in its own account and column", async () => {
  await withKeys(oldKey, "", async () => {
    const stored = await encryptSecret(secret, slots.accessToken);
    const moved = await decryptionError(stored, otherAccount.accessToken);
    assert.equal(moved.problem, "rejected");
    assert.match(moved.message, /access_token_ciphertext of facebook ad account act_1002/);
    assert.equal((await decryptionError(stored, slots.appSecret)).problem, "rejected");
    assert.equal(
      (await decryptionError(stored, secretSlots("tiktok", "act_1001").accessToken)).problem,
      "rejected",
    );
    // One byte of the ciphertext changed: refused too.
    const bytes = Uint8Array.from(atob(stored.split(":")[2]), (c) => c.charCodeAt(0));
    bytes[bytes.length - 1] ^= 1;
    const altered = `${stored.split(":").slice(0, 2).join(":")}:${
      btoa(String.fromCharCode(...bytes))
    }`;
    assert.equal((await decryptionError(altered)).problem, "rejected");
  });
});

Deno.test("keys of TOKEN_ENCRYPTION_KEYRING decrypt; only TOKEN_ENCRYPTION_KEY encrypts", async () => {
  let underOld = "";
  await withKeys(oldKey, "", async () => {
    underOld = await encryptSecret(secret, slots.accessToken);
  });
  await withKeys(newKey, ` ${randomKey()}, ${oldKey} `, async () => {
    assert.equal(await decryptSecret(underOld, slots.accessToken), secret);
    const rewritten = await encryptSecret(secret, slots.accessToken);
    assert.ok(rewritten.startsWith(`v1:${await keyIdOfHex(newKey)}:`));
  });
  await withKeys(newKey, "", async () => {
    const dropped = await decryptionError(underOld);
    assert.equal(dropped.problem, "unknown_key");
    assert.match(dropped.message, new RegExp(`under key ${await keyIdOfHex(oldKey)}, which is`));
  });
});

Deno.test("legacy ciphertexts (no key id, no associated data) still open under any configured key", async () => {
  const legacy = await legacyCiphertext(secret, oldKey);
  await withKeys(oldKey, "", async () => {
    assert.equal(await decryptSecret(legacy, slots.accessToken), secret);
  });
  await withKeys(newKey, oldKey, async () => {
    assert.equal(await decryptSecret(legacy, slots.accessToken), secret);
  });
  await withKeys(newKey, "", async () => {
    assert.equal((await decryptionError(legacy)).problem, "rejected");
  });
  await withKeys(oldKey, "", async () => {
    assert.equal((await decryptionError("not a ciphertext!")).problem, "malformed");
    assert.equal((await decryptionError("v2:00000000:AAAA")).problem, "malformed");
  });
});

Deno.test("a malformed key in TOKEN_ENCRYPTION_KEYRING is a configuration error naming it, not its value", async () => {
  const malformed = "LEAK-CANARY-not-a-key";
  await withKeys(oldKey, `${newKey},${malformed}`, async () => {
    const error = await encryptSecret(secret, slots.accessToken).then(
      () => assert.fail("it encrypted"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ConfigError);
    assert.equal(error.setting, "TOKEN_ENCRYPTION_KEYRING");
    assert.equal(error.problem, "malformed");
    assert.ok(!error.message.includes(malformed));
  });
});
