// The ad account a request acts on: membership checked, token decrypted, a Graph client ready.
// Wherever a body names an ad account it is by its platform id (act_...), and only a member may
// act on it.
import { graphSettings } from "./config.ts";
import { db } from "./db.ts";
import { AdrailError } from "./errors.ts";
import { GraphClient } from "./graph-client.ts";
import { decryptSecret, secretSlots } from "./token-crypto.ts";

export type AdAccountRole = "owner" | "approver" | "launcher" | "viewer";

export type AdAccountAccess = {
  id: string;
  platformAccountId: string;
  graph: GraphClient;
};

type StoredAccount = {
  id: string;
  platform: string;
  platform_account_id: string;
  access_token_ciphertext: string;
  app_secret_ciphertext: string | null;
};

async function withGraphClient(account: StoredAccount): Promise<AdAccountAccess> {
  // Each ciphertext opens only in the row and column it was written for (token-crypto.ts).
  const slots = secretSlots(account.platform, account.platform_account_id);
  return {
    id: account.id,
    platformAccountId: account.platform_account_id,
    graph: new GraphClient({
      ...graphSettings(),
      accessToken: await decryptSecret(account.access_token_ciphertext, slots.accessToken),
      appSecret: account.app_secret_ciphertext
        ? await decryptSecret(account.app_secret_ciphertext, slots.appSecret)
        : undefined,
    }),
  };
}

/**
 * The account, if `userId` is a member in one of `roles`; `forbidden` otherwise (whether or not it
 * exists).
 */
export async function adAccountForMember(
  userId: string,
  platformAccountId: string,
  roles: AdAccountRole[] = ["owner", "approver", "launcher", "viewer"],
): Promise<AdAccountAccess> {
  const [account] = await db()<StoredAccount[]>`
    select a.id, a.platform, a.platform_account_id, a.access_token_ciphertext,
           a.app_secret_ciphertext
    from public.ad_accounts a
    join public.ad_account_members m on m.ad_account_id = a.id
    where a.platform = 'facebook' and a.platform_account_id = ${platformAccountId}
      and m.user_id = ${userId} and m.role = any(${roles})`;
  if (!account) {
    throw new AdrailError("forbidden", `${platformAccountId} is not one of your ad accounts`);
  }
  return await withGraphClient(account);
}

/** The account by its internal id, for service work (safety-net) that acts for every member. */
export async function adAccountById(id: string): Promise<AdAccountAccess> {
  const [account] = await db()<StoredAccount[]>`
    select id, platform, platform_account_id, access_token_ciphertext, app_secret_ciphertext
    from public.ad_accounts where id = ${id}`;
  if (!account) throw new AdrailError("not_found", `ad account ${id} not found`);
  return await withGraphClient(account);
}
