// Tokens at rest, end to end over the real stack (functions over HTTP, the simulator, the real
// database), with `deno task rotate-token-key` run as an operator would:
// - a ciphertext copied to another account's row, or to the other column, does not decrypt: the
//   call answers a bare 500, nothing is done on Meta, no secret in the answer or the log;
// - a key rotation (stage the new key, rotate, promote, rotate again, drop the old key) with
//   accounts connected at every stage and one in the legacy format: every account still syncs
//   and launches under the new key alone, and a reconnect landing in the middle of a rotation is
//   never overwritten.
import assert from "node:assert/strict";
import { localTokenEncryptionKey } from "../../../dev/lib/local-env.ts";
import { encryptSecret, secretSlots } from "../../functions/_shared/platform/token-crypto.ts";
import {
  assertExactly,
  launch,
  launchBody,
  launched,
  objectsOnMeta,
  until,
} from "../_support/launches.ts";
import { databaseUrl, invokeResult, type TestStack, testWithStack } from "../_support/stack.ts";
import { keyIdOfHex, legacyCiphertext, randomKey } from "../_support/token-keys.ts";

const root = new URL("../../../", import.meta.url).pathname;

type Keys = { current: string; keyring?: string };

async function sync(stack: TestStack, owner: string, act: string) {
  const client = await stack.clientFor(owner);
  return await invokeResult(
    await client.functions.invoke("facebook-ads-sync", { body: { adAccountId: act } }),
  );
}

async function storedSecrets(stack: TestStack, act: string) {
  const [row] = await stack.sql<{ token: string; secret: string | null }[]>`
    select access_token_ciphertext as token, app_secret_ciphertext as secret
    from public.ad_accounts where platform_account_id = ${act}`;
  return row;
}

function keySettings(keys: Keys): Record<string, string> {
  return { TOKEN_ENCRYPTION_KEY: keys.current, TOKEN_ENCRYPTION_KEYRING: keys.keyring ?? "" };
}

/**
 * Restarts the functions with these keys, as `supabase secrets set` would, and gives this process
 * the same ones (it writes what the ad-accounts function would write).
 */
async function deployKeys(stack: TestStack, keys: Keys): Promise<void> {
  await stack.functions.close();
  await stack.functions.restart(keySettings(keys));
  for (const [name, value] of Object.entries(keySettings(keys))) Deno.env.set(name, value);
}

type Rotation = {
  code: number;
  output: string;
  keyId: string;
  reencrypted: number;
  alreadyCurrent: number;
  changedMeanwhile: number;
  failed: number;
  left: number;
};

/** `deno task rotate-token-key` with these keys, on the test database. */
async function rotate(keys: Keys, args: string[] = []): Promise<Rotation> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["task", "rotate-token-key", ...args],
    cwd: root,
    env: { ...keySettings(keys), DATABASE_URL: databaseUrl(), SUPABASE_DB_URL: databaseUrl() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
  const summary =
    /key ([0-9a-f]{8}): (\d+) re-encrypted, (\d+) already under it, (\d+) changed meanwhile, (\d+) failed; (\d+) left under other keys/
      .exec(output);
  assert.ok(summary, output);
  const [reencrypted, alreadyCurrent, changedMeanwhile, failed, left] = summary.slice(2).map(
    Number,
  );
  return {
    code: run.code,
    output,
    keyId: summary[1],
    reencrypted,
    alreadyCurrent,
    changedMeanwhile,
    failed,
    left,
  };
}

testWithStack(
  "a ciphertext copied to another account or column does not decrypt: 500, nothing leaked, nothing done",
  async (t, stack) => {
    const owner = await stack.createUser();
    const appSecret = `app-secret-${crypto.randomUUID()}`;
    const a = await stack.connectAdAccount(owner);
    const b = await stack.connectAdAccount(owner, { appSecret });
    const storedA = await storedSecrets(stack, a.id);
    const storedB = await storedSecrets(stack, b.id);
    const secrets = [a.token, b.token, appSecret];

    /** Sync and launch on `act` answer a bare 500 whose log line says which secret failed. */
    const refused = async (act: string, column: string) => {
      const answers = [
        await sync(stack, owner, act),
        await launch(stack, owner, launchBody(act, `moved ${act}`, 1, 1)),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 500, JSON.stringify(answer.body));
        assert.deepEqual(Object.keys(answer.body).sort(), ["error", "message", "requestId"]);
        assert.deepEqual([answer.body.error, answer.body.message], ["internal", "internal error"]);
        const logged = await until("the log line", () =>
          Promise.resolve(
            stack.functions.log().find((line) =>
              line.message === "unhandled error" && line.requestId === answer.body.requestId
            ),
          ), 10_000);
        assert.match(
          String(logged.error),
          new RegExp(
            `^SecretDecryptionError: ${column} of facebook ad account ${act} does not decrypt under key [0-9a-f]{8}: altered, or written for another account or column$`,
          ),
        );
      }
      const everything = JSON.stringify(answers) + JSON.stringify(stack.functions.log());
      for (const secret of secrets) assert.ok(!everything.includes(secret), "no secret leaked");
      const [{ jobs }] = await stack.sql`
        select count(*)::int as jobs from public.campaign_creation_jobs j
        join public.ad_accounts a on a.id = j.ad_account_id where a.platform_account_id = ${act}`;
      assert.equal(jobs, 0, "no job");
      assert.deepEqual(await objectsOnMeta(stack, act), [], "nothing on Meta");
    };

    await t.step("each account syncs with its own ciphertexts", async () => {
      for (const act of [a.id, b.id]) assert.equal((await sync(stack, owner, act)).status, 200);
    });

    await t.step("B's token ciphertext copied into A's row: refused", async () => {
      await stack.sql`
        update public.ad_accounts set access_token_ciphertext = ${storedB.token}
        where platform_account_id = ${a.id}`;
      await refused(a.id, "access_token_ciphertext");
    });

    await t.step("B's app secret ciphertext copied into B's token column: refused", async () => {
      await stack.sql`
        update public.ad_accounts set access_token_ciphertext = ${storedB.secret}
        where platform_account_id = ${b.id}`;
      await refused(b.id, "access_token_ciphertext");
    });

    await t.step("each ciphertext back in its place: both sync again", async () => {
      for (const [act, stored] of [[a.id, storedA], [b.id, storedB]] as const) {
        await stack.sql`
          update public.ad_accounts set access_token_ciphertext = ${stored.token}
          where platform_account_id = ${act}`;
        assert.equal((await sync(stack, owner, act)).status, 200);
      }
    });
  },
);

testWithStack(
  "key rotation: stage, rotate, promote, rotate again, drop the old key; every account still syncs and launches",
  async (t, stack) => {
    const oldKey = localTokenEncryptionKey;
    const newKey = randomKey();
    const [oldId, newId] = [await keyIdOfHex(oldKey), await keyIdOfHex(newKey)];
    const owner = await stack.createUser();
    const accounts: { id: string; token: string }[] = [];
    const connect = async (options?: { appSecret: string }) => {
      const account = await stack.connectAdAccount(owner, options);
      accounts.push(account);
      return account;
    };
    const underKey = async (act: string, keyId: string) => {
      const { token, secret } = await storedSecrets(stack, act);
      return token.startsWith(`v1:${keyId}:`) &&
        (secret === null || secret.startsWith(`v1:${keyId}:`));
    };
    const syncsAll = async () => {
      for (const { id } of accounts) {
        const answer = await sync(stack, owner, id);
        assert.equal(answer.status, 200, `${id}: ${JSON.stringify(answer.body)}`);
      }
    };

    try {
      await t.step("before: tokens under the old key, one still in the legacy format", async () => {
        const a = await connect();
        await connect({ appSecret: `app-secret-${crypto.randomUUID()}` });
        const legacy = await connect();
        await stack.sql`
          update public.ad_accounts
          set access_token_ciphertext = ${await legacyCiphertext(legacy.token, oldKey)}
          where platform_account_id = ${legacy.id}`;
        assert.ok(await underKey(a.id, oldId));
        await syncsAll();
      });

      await t.step(
        "stage: the new key decrypts only; a connect now is still under the old key",
        async () => {
          await deployKeys(stack, { current: oldKey, keyring: newKey });
          const staged = await connect();
          assert.ok(await underKey(staged.id, oldId));
          await syncsAll();
        },
      );

      await t.step(
        "rotate while the functions run staged; a reconnect landing meanwhile is kept",
        async () => {
          // A reconnect of the first account holds its row (what the ad-accounts function writes,
          // under the functions' current key, the old one) while the rotation runs: the rotation
          // reads the row, then waits for it; the reconnect commits; the rotation leaves it be.
          const [first] = accounts;
          const reconnected = await encryptSecret(
            first.token,
            secretSlots("facebook", first.id).accessToken,
          );
          let written!: () => void;
          let commit!: () => void;
          const rowWritten = new Promise<void>((resolve) => written = resolve);
          const commitNow = new Promise<void>((resolve) => commit = resolve);
          const reconnect = stack.sql.begin(async (tx) => {
            await tx`
            update public.ad_accounts set access_token_ciphertext = ${reconnected}
            where platform_account_id = ${first.id}`;
            written();
            await commitNow;
          });
          await rowWritten;
          // Two rows a batch: the rows after the held one still go, batch after batch.
          const rotation = rotate({ current: newKey, keyring: oldKey }, ["--batch-size=2"]);
          await until("the rotation waiting for the reconnected row", async () => {
            const [{ waiting }] = await stack.sql`
            select count(*)::int as waiting from pg_catalog.pg_stat_activity
            where wait_event_type = 'Lock' and query like '%update public.ad_accounts a%'`;
            return waiting > 0 ? true : undefined;
          }, 60_000);
          commit();
          await reconnect;
          const run = await rotation;

          assert.equal(run.keyId, newId);
          assert.equal(run.changedMeanwhile, 1, run.output);
          assert.ok(run.reencrypted >= accounts.length - 1, run.output);
          assert.equal(
            run.left,
            run.failed + 1,
            "only the reconnected row (and rows no key opens)",
          );
          assert.equal(run.code, 1, "not done: a row is left under the old key");
          assert.equal((await storedSecrets(stack, first.id)).token, reconnected, "kept");
          for (const { id } of accounts.slice(1)) {
            assert.ok(await underKey(id, newId), id);
            assert.ok(!run.output.includes(id), `${id} did not fail`);
          }
          // Staged functions read the rows now under the new key, and the kept one.
          await syncsAll();
        },
      );

      await t.step(
        "promote the new key, rotate again: nothing left; once more: nothing to do",
        async () => {
          await deployKeys(stack, { current: newKey, keyring: oldKey });
          const promoted = await connect();
          assert.ok(await underKey(promoted.id, newId));

          const again = await rotate({ current: newKey, keyring: oldKey });
          assert.deepEqual([again.reencrypted, again.changedMeanwhile, again.left], [
            1,
            0,
            again.failed,
          ], again.output);
          assert.equal(again.code, again.failed === 0 ? 0 : 1);
          for (const { id } of accounts) assert.ok(await underKey(id, newId), id);

          const idle = await rotate({ current: newKey, keyring: oldKey });
          assert.deepEqual([idle.reencrypted, idle.changedMeanwhile, idle.failed], [
            0,
            0,
            again.failed,
          ], idle.output);
          assert.ok(idle.alreadyCurrent >= accounts.length);
        },
      );

      await t.step("drop the old key: every account syncs and launches", async () => {
        await deployKeys(stack, { current: newKey });
        await syncsAll();
        const jobs = await Promise.all(
          accounts.map(({ id }) =>
            launched(stack, owner, launchBody(id, `after rotation ${id}`, 1))
          ),
        );
        for (const [index, jobId] of jobs.entries()) {
          assert.equal(await stack.jobSettled(jobId), "completed");
          await assertExactly(stack, accounts[index].id, 1, 1);
        }
      });
    } finally {
      // Back under the local key, for the test files that share this database.
      await rotate({ current: oldKey, keyring: newKey });
      for (const [name, value] of Object.entries(keySettings({ current: oldKey }))) {
        Deno.env.set(name, value);
      }
    }
  },
);
