// Connecting an ad account: the token is checked against Meta, stored only encrypted, and the
// caller becomes its owner; an owner reconnecting replaces the token (connect_ad_account decides).
// Listing: the accounts the caller is a member of.
import { z } from "zod";
import { graphSettings } from "../platform/config.ts";
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { AdrailError, metaError } from "../platform/errors.ts";
import { GraphClient } from "../meta/graph-client.ts";
import { retryRead } from "../meta/retry.ts";
import { encryptSecret, secretSlots } from "../platform/token-crypto.ts";

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

/** A connect's outcome: `created` for a new connection, false when its owner replaced the token. */
export type ConnectedAdAccount = { account: AdAccountView; created: boolean };

/**
 * Checks the token with Meta, then connects the account (the caller its owner) or, for an owner of
 * an account connected already, replaces its token. Nobody's membership changes: another member
 * is forbidden, a user of another team gets account_already_connected. Meta is asked first, so
 * only a token that reads the account on Meta learns whether adrail has it.
 */
export async function connectAdAccount(
  userId: string,
  input: ConnectAdAccountInput,
): Promise<ConnectedAdAccount> {
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
    throw connectRefusal(error, input.platformAccountId);
  });
  return {
    account: {
      id: stored.id,
      platformAccountId: input.platformAccountId,
      name: account.name ?? null,
      currency: account.currency ?? null,
      accountStatus: account.account_status ?? null,
      role: "owner",
      limits: stored.limits,
    },
    created: stored.created,
  };
}

function connectRefusal(error: unknown, platformAccountId: string): unknown {
  switch (sqlState(error)) {
    // A JWT can outlive its user (deleted since it was issued): no user, no account.
    case "23503":
      return new AdrailError("unauthorized", "the signed-in user no longer exists");
    case DbErrorCode.roleForbids:
      return new AdrailError(
        "forbidden",
        `only an owner of ad account ${platformAccountId} may replace its token`,
      );
    case DbErrorCode.connectedByOthers:
      return new AdrailError(
        "account_already_connected",
        `ad account ${platformAccountId} is already connected to adrail by another team: ask one of its owners to add you as a member`,
      );
    default:
      return error;
  }
}

/** The token encrypted, then connect_ad_account: a new account, or an owner's new token. */
async function storeConnectedAccount(
  userId: string,
  input: ConnectAdAccountInput,
  account: MetaAdAccount,
): Promise<{ id: string; created: boolean; limits: AccountObjectLimits }> {
  const slots = secretSlots("facebook", input.platformAccountId);
  const tokenCiphertext = await encryptSecret(input.accessToken, slots.accessToken);
  const appSecretCiphertext = input.appSecret
    ? await encryptSecret(input.appSecret, slots.appSecret)
    : null;
  const [stored] = await db()<{ id: string; created: boolean; limits: AccountObjectLimits }[]>`
    select (c.ad_account).id, c.created, jsonb_build_object(
             'campaigns', (c.ad_account).campaign_limit, 'adSets', (c.ad_account).ad_set_limit,
             'ads', (c.ad_account).ad_limit) as limits
    from public.connect_ad_account(
      ${userId}, 'facebook', ${input.platformAccountId}, ${account.name ?? null},
      ${account.currency ?? null}, ${account.account_status ?? null}, ${tokenCiphertext},
      ${appSecretCiphertext}) c`;
  return stored;
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
