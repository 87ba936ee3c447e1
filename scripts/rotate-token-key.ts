// deno task rotate-token-key: re-encrypts every stored ad account secret (token, app secret,
// webhook signing secret) that is not under the current TOKEN_ENCRYPTION_KEY (rows under a key of
// TOKEN_ENCRYPTION_KEYRING, and legacy rows written before key ids existed) under it, with its
// account and column as associated data.
//
//   TOKEN_ENCRYPTION_KEY=<new> TOKEN_ENCRYPTION_KEYRING=<old> SUPABASE_DB_URL=<direct db url> \
//     deno task rotate-token-key [--batch-size=200]
//
// The same modules as the functions (token-crypto.ts, config.ts, db.ts), so the same settings.
// Rows go in batches, by id; each row is updated only if it still holds the ciphertexts that
// were read, so a reconnect that lands meanwhile is never overwritten (it is counted instead).
// Idempotent: a second run finds nothing to do. It prints counts and account ids, never a
// secret, and exits 1 when a row is left under another key (see README, "Rotating the token
// encryption key").
import { AdrailError } from "../supabase/functions/_shared/platform/errors.ts";
import { closeDb, db, type Sql } from "../supabase/functions/_shared/platform/db.ts";
import {
  ciphertextPrefix,
  currentKeyId,
  type DecryptionProblem,
  decryptSecret,
  encryptSecret,
  type SecretColumn,
  SecretDecryptionError,
  type SecretSlot,
  secretSlots,
} from "../supabase/functions/_shared/platform/token-crypto.ts";

export type RotationReport = {
  /** The key everything is now under. */
  keyId: string;
  /** Rows found already under it, untouched. */
  alreadyCurrent: number;
  reencrypted: number;
  /** Rows written again (a reconnect) between this run's read and its update: left as written. */
  changedMeanwhile: number;
  /** Rows that could not be decrypted, left as they are. */
  failed: { platformAccountId: string; column: SecretColumn; problem: DecryptionProblem }[];
  /** Rows still not under the current key when the run ends (0 when it is done). */
  remaining: number;
};

type Row = {
  id: string;
  platform: string;
  platform_account_id: string;
  access_token_ciphertext: string;
  app_secret_ciphertext: string | null;
  webhook_secret_ciphertext: string | null;
};

type Rewrite = {
  id: string;
  old_token: string;
  new_token: string;
  old_secret: string | null;
  new_secret: string | null;
  old_webhook_secret: string | null;
  new_webhook_secret: string | null;
};

/** Rows whose secrets are all under the key whose ciphertexts start with `prefix`. */
function underKey(sql: Sql, prefix: string) {
  return sql`(starts_with(access_token_ciphertext, ${prefix})
    and (app_secret_ciphertext is null or starts_with(app_secret_ciphertext, ${prefix}))
    and (webhook_secret_ciphertext is null or starts_with(webhook_secret_ciphertext, ${prefix})))`;
}

/** The secret decrypted and encrypted again under the current key, in the same slot. */
async function reencrypt(stored: string, slot: SecretSlot): Promise<string> {
  return await encryptSecret(await decryptSecret(stored, slot), slot);
}

async function rewriteOf(row: Row, failed: RotationReport["failed"]): Promise<Rewrite | null> {
  const slots = secretSlots(row.platform, row.platform_account_id);
  try {
    return {
      id: row.id,
      old_token: row.access_token_ciphertext,
      new_token: await reencrypt(row.access_token_ciphertext, slots.accessToken),
      old_secret: row.app_secret_ciphertext,
      new_secret: row.app_secret_ciphertext
        ? await reencrypt(row.app_secret_ciphertext, slots.appSecret)
        : null,
      old_webhook_secret: row.webhook_secret_ciphertext,
      new_webhook_secret: row.webhook_secret_ciphertext
        ? await reencrypt(row.webhook_secret_ciphertext, slots.webhookSecret)
        : null,
    };
  } catch (error) {
    if (!(error instanceof SecretDecryptionError)) throw error;
    failed.push({
      platformAccountId: row.platform_account_id,
      column: error.slot.column,
      problem: error.problem,
    });
    return null;
  }
}

/** Re-encrypts, `batchSize` rows at a time, every row not under the current key. */
export async function rotateTokenKey(sql: Sql, batchSize: number): Promise<RotationReport> {
  const keyId = await currentKeyId();
  const prefix = ciphertextPrefix(keyId);
  const [{ alreadyCurrent }] = await sql<{ alreadyCurrent: number }[]>`
    select count(*)::int as "alreadyCurrent" from public.ad_accounts
    where ${underKey(sql, prefix)}`;
  const report: RotationReport = {
    keyId,
    alreadyCurrent,
    reencrypted: 0,
    changedMeanwhile: 0,
    failed: [],
    remaining: 0,
  };
  let after: string | null = null;
  for (;;) {
    const rows: Row[] = await sql<Row[]>`
      select id, platform, platform_account_id, access_token_ciphertext, app_secret_ciphertext,
             webhook_secret_ciphertext
      from public.ad_accounts
      where not ${underKey(sql, prefix)} and (${after}::uuid is null or id > ${after}::uuid)
      order by id
      limit ${batchSize}`;
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    const rewrites = (await Promise.all(rows.map((row) => rewriteOf(row, report.failed))))
      .filter((rewrite) => rewrite !== null);
    if (rewrites.length === 0) continue;
    // One statement per batch; a row whose ciphertexts changed since they were read is skipped.
    const updated = await sql`
      update public.ad_accounts a
      set access_token_ciphertext = r.new_token, app_secret_ciphertext = r.new_secret,
          webhook_secret_ciphertext = r.new_webhook_secret
      from jsonb_to_recordset(${sql.json(rewrites)})
        as r(id uuid, old_token text, new_token text, old_secret text, new_secret text,
             old_webhook_secret text, new_webhook_secret text)
      where a.id = r.id and a.access_token_ciphertext = r.old_token
        and a.app_secret_ciphertext is not distinct from r.old_secret
        and a.webhook_secret_ciphertext is not distinct from r.old_webhook_secret
      returning a.id`;
    report.reencrypted += updated.count;
    report.changedMeanwhile += rewrites.length - updated.count;
  }
  const [{ remaining }] = await sql<{ remaining: number }[]>`
    select count(*)::int as remaining from public.ad_accounts where not ${underKey(sql, prefix)}`;
  report.remaining = remaining;
  return report;
}

/** --batch-size=N (rows per read and update), 200 by default. */
function batchSizeArgument(args: string[]): number | undefined {
  const given = args.find((arg) => arg.startsWith("--batch-size="));
  if (given === undefined) return 200;
  const size = Number(given.slice("--batch-size=".length));
  return Number.isInteger(size) && size > 0 ? size : undefined;
}

if (import.meta.main) {
  const name = "rotate-token-key";
  const batchSize = batchSizeArgument(Deno.args);
  if (batchSize === undefined) {
    console.error(`${name}: --batch-size takes a positive integer`);
    Deno.exit(2);
  }
  try {
    const report = await rotateTokenKey(db(), batchSize);
    for (const failure of report.failed) {
      console.error(
        `${name}: ${failure.platformAccountId} ${failure.column} not re-encrypted: ${failure.problem}`,
      );
    }
    console.log(
      `${name}: key ${report.keyId}: ${report.reencrypted} re-encrypted, ` +
        `${report.alreadyCurrent} already under it, ${report.changedMeanwhile} changed meanwhile, ` +
        `${report.failed.length} failed; ${report.remaining} left under other keys`,
    );
    if (report.remaining > 0) {
      const next = report.failed.length > 0
        ? "the accounts above do not decrypt: configure their key in TOKEN_ENCRYPTION_KEYRING, or have them reconnected"
        : "rows were written meanwhile under another key: run it again";
      console.error(`${name}: not done: ${next}. Drop no key while rows are left under it.`);
      Deno.exitCode = 1;
    }
  } catch (error) {
    // A missing or malformed setting: its name, never its value.
    if (!(error instanceof AdrailError)) throw error;
    console.error(`${name}: ${error.message}`);
    Deno.exitCode = 1;
  } finally {
    await closeDb();
  }
}
