// The test command's secret scan (dev/lib/secret-scan.ts) finds each kind of secret the tests use,
// wherever it sits in a line, and nothing in a line without one.
import assert from "node:assert/strict";
import { findSecrets } from "../../../dev/lib/secret-scan.ts";
import { localJwtSecret, localTokenEncryptionKey } from "../../../dev/lib/local-env.ts";

Deno.test("the secret scan finds tokens, app secrets and the local keys, masked", () => {
  const lines = [
    `{"level":"error","message":"graph call","url":"/v27.0/act_1?access_token=EAAB-test-1234abcd"}`,
    `{"status":200,"body":"{\\"appSecret\\":\\"app-secret-9f1c\\"}"}`,
    `TOKEN_ENCRYPTION_KEY=${localTokenEncryptionKey}`,
    `secret ${localJwtSecret} in a test's output`,
  ];
  const hits = findSecrets("traffic", lines.join("\n"));
  assert.deepEqual(hits.map((h) => h.kind), [
    "Meta access token",
    "app secret",
    "token encryption key",
    "JWT secret",
  ]);
  for (const hit of hits) {
    assert.ok(!hit.excerpt.includes("EAAB-test-1234abcd") && !hit.excerpt.includes("9f1c"));
  }
  assert.match(hits[0].excerpt, /access_token=<Meta access token>"}$/);
});

Deno.test("the secret scan finds nothing where there is none", () => {
  const clean = `{"level":"info","message":"creation job run","jobId":7,"status":"completed"}\n` +
    `{"status":401,"body":"{\\"code\\":401,\\"message\\":\\"Invalid JWT\\"}"}`;
  assert.deepEqual(findSecrets("traffic", clean), []);
});
