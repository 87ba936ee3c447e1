// Connecting an ad account: the token is checked against Meta, stored only encrypted, and the
// caller becomes its owner. Listing: the accounts the caller is a member of.
import { z } from "zod";
import { graphSettings } from "./config.ts";
import { db, sqlState } from "./db.ts";
import { AdrailError, metaError } from "./errors.ts";
import { GraphClient } from "./graph-client.ts";
import { retryRead } from "./retry.ts";
import { encryptSecret, secretSlots } from "./token-crypto.ts";

export const ConnectAdAccountBody = z.object({
  platformAccountId: z.string().regex(/^act_[0-9]{1,20}$/, "must look like act_<digits>"),
  // It travels in an HTTP header: printable ASCII only (Meta's tokens are letters and digits).
  accessToken: z.string().min(10).max(4096).regex(/^[\x21-\x7e]+$/, "printable ASCII, no spaces"),
  appSecret: z.string().min(8).max(256).optional(),
}).strict();
export type ConnectAdAccountInput = z.infer<typeof ConnectAdAccountBody>;

export type AdAccountView = {
  id: string;
  platformAccountId: string;
  name: string | null;
  currency: string | null;
  accountStatus: number | null;
  role: string;
  /** The object limits pre-creation verification holds launches to (ad_accounts columns). */
  limits: AccountObjectLimits;
};

/** Live (non-deleted) objects a launch may bring the account up to. */
export type AccountObjectLimits = { campaigns: number; adSets: number; ads: number };

type MetaAdAccount = { id: string; name?: string; currency?: string; account_status?: number };

export async function connectAdAccount(
  userId: string,
  input: ConnectAdAccountInput,
): Promise<AdAccountView> {
  const graph = new GraphClient({
    ...graphSettings(),
    accessToken: input.accessToken,
    appSecret: input.appSecret,
  });
  const read = await retryRead(() =>
    graph.get<MetaAdAccount>(`/${input.platformAccountId}`, {
      fields: "id,name,account_status,currency",
    })
  );
  // A refusal is meta_rejected; a rate limit or an outage that outlasts the retries is
  // meta_unavailable (try again), never a verdict on the token.
  if (!read.ok) throw metaError(read.error, "Meta rejected the access token for this ad account");

  const account = read.data;
  const stored = await storeConnectedAccount(userId, input, account).catch((error) => {
    // A JWT can outlive its user (deleted since it was issued): no user, no account.
    if (sqlState(error) === "23503") {
      throw new AdrailError("unauthorized", "the signed-in user no longer exists");
    }
    throw error;
  });
  return {
    id: stored.id,
    platformAccountId: input.platformAccountId,
    name: account.name ?? null,
    currency: account.currency ?? null,
    accountStatus: account.account_status ?? null,
    role: "owner",
    limits: stored.limits,
  };
}

/** Upserts the account with its token encrypted, and makes the user its owner, in one transaction. */
async function storeConnectedAccount(
  userId: string,
  input: ConnectAdAccountInput,
  account: MetaAdAccount,
): Promise<{ id: string; limits: AccountObjectLimits }> {
  const slots = secretSlots("facebook", input.platformAccountId);
  const tokenCiphertext = await encryptSecret(input.accessToken, slots.accessToken);
  const appSecretCiphertext = input.appSecret
    ? await encryptSecret(input.appSecret, slots.appSecret)
    : null;
  return await db().begin(async (sql) => {
    const [saved] = await sql<{ id: string; limits: AccountObjectLimits }[]>`
      insert into public.ad_accounts (
        user_id, platform, platform_account_id, name, currency, account_status,
        access_token_ciphertext, app_secret_ciphertext, token_validated_at
      ) values (
        ${userId}, 'facebook', ${input.platformAccountId}, ${account.name ?? null},
        ${account.currency ?? null}, ${account.account_status ?? null},
        ${tokenCiphertext}, ${appSecretCiphertext}, now()
      )
      on conflict (platform, platform_account_id) do update set
        name = excluded.name, currency = excluded.currency, account_status = excluded.account_status,
        access_token_ciphertext = excluded.access_token_ciphertext,
        app_secret_ciphertext = excluded.app_secret_ciphertext,
        token_validated_at = excluded.token_validated_at
      returning id, jsonb_build_object(
        'campaigns', campaign_limit, 'adSets', ad_set_limit, 'ads', ad_limit) as limits`;
    await sql`
      insert into public.ad_account_members (ad_account_id, user_id, role)
      values (${saved.id}, ${userId}, 'owner')
      on conflict (ad_account_id, user_id) do update set role = 'owner'`;
    return saved;
  });
}

export async function listAdAccounts(userId: string): Promise<AdAccountView[]> {
  return await db()<AdAccountView[]>`
    select a.id, a.platform_account_id as "platformAccountId", a.name, a.currency,
           a.account_status as "accountStatus", m.role,
           jsonb_build_object('campaigns', a.campaign_limit, 'adSets', a.ad_set_limit,
             'ads', a.ad_limit) as limits
    from public.ad_accounts a
    join public.ad_account_members m on m.ad_account_id = a.id
    where m.user_id = ${userId}
    order by a.created_at`;
}
