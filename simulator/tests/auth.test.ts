import assert from "node:assert/strict";
import { appsecretProof } from "../auth.ts";
import { TOKEN, withSim } from "./helpers.ts";

Deno.test("appsecret_proof is required when the account has an app secret", () =>
  withSim(async (h) => {
    await h.account("act_1", { appSecret: "s3cret" });
    const missing = await h.graph("GET", "act_1");
    assert.match(missing.body.error.message, /require an appsecret_proof/);
    const wrong = await h.graph("GET", "act_1", { appsecret_proof: "00" });
    assert.match(wrong.body.error.message, /Invalid appsecret_proof/);
    const proof = await appsecretProof(TOKEN, "s3cret");
    // Known answer, computed independently with Node's crypto.createHmac("sha256", "s3cret").
    assert.equal(proof, "e2417ea95a3581d48ac38ab2199f6df1a6c6504a2768d46b0c145e46724f2f8d");
    const ok = await h.graph("GET", "act_1", { appsecret_proof: proof, fields: "name" });
    assert.equal(ok.status, 200);
    const batch = await h.batch([{ method: "GET", relative_url: "act_1?fields=name" }], {
      appsecret_proof: proof,
    });
    assert.equal(batch.items[0]?.code, 200);
  }));

Deno.test("accounts without an app secret need no proof", () =>
  withSim(async (h) => {
    await h.account();
    assert.equal((await h.graph("GET", "act_1")).status, 200);
  }));

Deno.test("a proof a batch item carries itself is checked too: a wrong one refuses that item", () =>
  withSim(async (h) => {
    await h.account("act_1", { appSecret: "s3cret" });
    const proof = await appsecretProof(TOKEN, "s3cret");
    const batch = await h.batch([
      { method: "GET", relative_url: `act_1?fields=name&appsecret_proof=${proof}` },
      { method: "GET", relative_url: "act_1?fields=name&appsecret_proof=00" },
      { method: "POST", relative_url: "act_1/campaigns", body: "name=x&appsecret_proof=00" },
    ], { appsecret_proof: proof });
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.items.map((item) => item?.code), [200, 400, 400]);
    assert.match(batch.items[1]?.body.error.message, /Invalid appsecret_proof/);
    assert.match(batch.items[2]?.body.error.message, /Invalid appsecret_proof/);
    const state = await h.control("GET", "state?account=act_1");
    assert.equal(state.objects.length, 0, "the refused item created nothing");
  }));
