// JWT checks over real HTTP, each hole attacked and refused with nothing changed in the database
// or on the simulated Meta: a JWT that never expires, an expired one, another audience, another
// issuer, an anonymous sign-in writing, and algorithm confusion (HS256 signed with the JWKS's
// public key, `none`, PS256 with a listed RSA key). Valid ES256 and RS256 user JWTs from the JWKS
// pass, and so does an anonymous sign-in reading.
import assert from "node:assert/strict";
import * as jose from "jose";
import { localJwtIssuer, localJwtSecret, signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import { launchBody, launched } from "../_support/launches.ts";
import { callFunction, refusedWithNothingChanged } from "../_support/refusals.ts";
import { nextAdAccountId, testWithStack } from "../_support/stack.ts";

/** The project's asymmetric signing keys, as Supabase publishes them in SUPABASE_JWKS. */
const ec = await jose.generateKeyPair("ES256", { extractable: true });
const rsa = await jose.generateKeyPair("RS256", { extractable: true });
const ecPublic = { ...await jose.exportJWK(ec.publicKey), kid: "ec-1", alg: "ES256", use: "sig" };
// No `alg` on the RSA key, as a JWK may omit it: only adrail's pinned algorithms then keep an
// RS-key token signed under another algorithm (PS256) out.
const rsaPublic = { ...await jose.exportJWK(rsa.publicKey), kid: "rsa-1", use: "sig" };
const jwks = JSON.stringify({ keys: [ecPublic, rsaPublic] });

/** A user's claims as Supabase Auth issues them. */
function userClaims(userId: string): jose.JWTPayload {
  return {
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    iss: localJwtIssuer,
    is_anonymous: false,
  };
}

async function signAsymmetric(
  claims: jose.JWTPayload,
  alg: string,
  key: jose.CryptoKey,
  kid: string,
): Promise<string> {
  return await new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: "JWT" })
    .setIssuedAt().setExpirationTime("1h").sign(key);
}

const gatewayRefusal = { status: 401, body: { code: 401, message: "Invalid JWT" } };
const adrailRefusal = (message: string) => ({
  status: 401,
  body: { error: "unauthorized", message },
});

testWithStack("JWT claims and algorithms", async (t, stack) => {
  const user = await stack.createUser();
  /** An ad account on the simulated Meta, not connected yet: a connect is the write attacked. */
  const metaAccount = async () => {
    const id = nextAdAccountId();
    const token = `EAAB-jwt-${crypto.randomUUID()}`;
    await stack.sim("/__sim/accounts", { id, token });
    return { id, token };
  };
  const connectWith = async (bearer: string) => {
    const meta = await metaAccount();
    return await refusedWithNothingChanged(
      stack,
      meta.id,
      () =>
        callFunction(stack, bearer, "ad-accounts", {
          body: { platformAccountId: meta.id, accessToken: meta.token },
        }),
    );
  };

  await t.step("a JWT without exp (it would never expire): 401 from adrail", async () => {
    const forever = await new jose.SignJWT(userClaims(user))
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(localJwtSecret));
    assert.deepEqual(
      await connectWith(forever),
      adrailRefusal('the JWT\'s "exp" claim is missing'),
      "the gateway lets it through (it checks only a present exp), adrail refuses it",
    );
  });

  await t.step("an expired JWT: 401 from the gateway, as hosted", async () => {
    assert.deepEqual(await connectWith(await signLocalUserJwt(user, {}, -60)), gatewayRefusal);
  });

  await t.step("another audience, or none: 401 from adrail", async () => {
    assert.deepEqual(
      await connectWith(await signLocalUserJwt(user, { aud: "anon" })),
      adrailRefusal('the JWT\'s "aud" claim is not accepted'),
    );
    assert.deepEqual(
      await connectWith(await signLocalUserJwt(user, { aud: undefined })),
      adrailRefusal('the JWT\'s "aud" claim is missing'),
    );
  });

  await t.step("another issuer (JWT_ISSUER is set), or none: 401 from adrail", async () => {
    assert.deepEqual(
      await connectWith(
        await signLocalUserJwt(user, { iss: "https://another-project.supabase.co/auth/v1" }),
      ),
      adrailRefusal('the JWT\'s "iss" claim is not accepted'),
    );
    assert.deepEqual(
      await connectWith(await signLocalUserJwt(user, { iss: undefined })),
      adrailRefusal('the JWT\'s "iss" claim is missing'),
    );
  });

  await t.step(
    "algorithm confusion: HS256 keyed with the JWKS's public key, alg none, PS256 with a listed RSA key: 401",
    async () => {
      for (const publicKey of [ecPublic, rsaPublic]) {
        const pem = await jose.exportSPKI(
          publicKey === ecPublic ? ec.publicKey : rsa.publicKey,
        );
        for (const secret of [pem, JSON.stringify(publicKey)]) {
          const confused = await new jose.SignJWT(userClaims(user))
            .setProtectedHeader({ alg: "HS256", kid: publicKey.kid, typ: "JWT" })
            .setExpirationTime("1h").sign(new TextEncoder().encode(secret));
          assert.deepEqual(await connectWith(confused), gatewayRefusal);
        }
      }
      const unsigned = new jose.UnsecuredJWT(userClaims(user)).setExpirationTime("1h").encode();
      assert.deepEqual(await connectWith(unsigned), gatewayRefusal);
      const pss = await jose.importJWK(
        { ...await jose.exportJWK(rsa.privateKey), alg: "PS256" },
        "PS256",
      ) as jose.CryptoKey;
      assert.deepEqual(
        await connectWith(await signAsymmetric(userClaims(user), "PS256", pss, "rsa-1")),
        gatewayRefusal,
        "a valid signature by a listed key, under an algorithm Supabase does not sign with",
      );
    },
  );

  await t.step("ES256 and RS256 user JWTs from the JWKS are accepted", async () => {
    for (
      const bearer of [
        await signAsymmetric(userClaims(user), "ES256", ec.privateKey, "ec-1"),
        await signAsymmetric(userClaims(user), "RS256", rsa.privateKey, "rsa-1"),
      ]
    ) {
      const answer = await callFunction(stack, bearer, "ad-accounts", { method: "GET" });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
  });

  await t.step(
    "an anonymous sign-in writing: 403 for a connect, a launch, a rollback, a verify and a sync; reading is allowed",
    async () => {
      const anonymous = await stack.createUser();
      const bearer = await signLocalUserJwt(anonymous, { is_anonymous: true });
      const meta = await metaAccount();
      const refusal = {
        status: 403,
        body: {
          error: "forbidden",
          message:
            "an anonymous sign-in may read but not change anything: sign in with an account first",
        },
      };
      assert.deepEqual(
        await refusedWithNothingChanged(
          stack,
          meta.id,
          () =>
            callFunction(stack, bearer, "ad-accounts", {
              body: { platformAccountId: meta.id, accessToken: meta.token },
            }),
        ),
        refusal,
      );

      // A member of an account (an operator added it) that has a completed job: still no writes.
      const { id: act } = await stack.connectAdAccount(user);
      const jobId = await launched(stack, user, launchBody(act, "Before the anonymous", 1));
      assert.equal(await stack.jobSettled(jobId), "completed");
      await stack.sql`
        insert into public.ad_account_members (ad_account_id, user_id, role)
        select id, ${anonymous}, 'launcher' from public.ad_accounts where platform_account_id = ${act}`;
      const writes: [string, unknown][] = [
        ["campaign-create", launchBody(act, "Anonymous launch", 1)],
        [`campaign-create/jobs/${jobId}/rollback`, { confirm: true }],
        [`campaign-create/jobs/${jobId}/verify`, undefined],
        ["facebook-ads-sync", { adAccountId: act }],
      ];
      for (const [path, body] of writes) {
        assert.deepEqual(
          await refusedWithNothingChanged(
            stack,
            act,
            () => callFunction(stack, bearer, path, { body }),
          ),
          refusal,
          path,
        );
      }
      const [job] = await stack.sql`
        select status from public.campaign_creation_jobs where id = ${jobId}`;
      assert.equal(job.status, "completed", "the job was not touched");

      const accounts = await callFunction(stack, bearer, "ad-accounts", { method: "GET" });
      assert.equal(accounts.status, 200);
      assert.deepEqual(
        (accounts.body.accounts as { platformAccountId: string }[]).map((a) => a.platformAccountId),
        [act],
      );
      const progress = await callFunction(stack, bearer, `campaign-create/jobs/${jobId}`, {
        method: "GET",
      });
      assert.equal(progress.status, 200, JSON.stringify(progress.body));
    },
  );

  await t.step("the same connect with a valid user JWT goes through (the control)", async () => {
    const meta = await metaAccount();
    const answer = await callFunction(stack, await signLocalUserJwt(user), "ad-accounts", {
      body: { platformAccountId: meta.id, accessToken: meta.token },
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  });
}, { SUPABASE_JWKS: jwks });
