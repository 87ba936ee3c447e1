// The ad account a request acts on: the caller's role checked by the database, token decrypted, a
// Graph client ready. Wherever a body names an ad account it is by its platform id (act_...).
// Which role may do what is the database's (private.account_role_actions); this module only names
// the actions and turns the database's refusals into answers: an account that does not exist and
// one the caller may not see are the same 404, a member whose role does not allow the action 403.
import { graphSettings } from "../platform/config.ts";
import { db, DbErrorCode, sqlState } from "../platform/db.ts";
import { AdrailError } from "../platform/errors.ts";
import { GraphClient } from "../meta/graph-client.ts";
import { usageRecorder } from "../meta/meta-usage.ts";
import { extendSyncLease } from "../sync/sync-leases.ts";
import { decryptSecret, secretSlots } from "../platform/token-crypto.ts";

export type AdAccountRole = "owner" | "approver" | "launcher" | "viewer";

/** The actions of private.account_role_actions (a test checks the two lists agree). */
export const accountActions = [
  "read",
  "sync",
  "launch",
  "manage_own_jobs",
  "manage_all_jobs",
  "approve",
  "manage_members",
  "manage_token",
  "manage_settings",
  "manage_webhook",
] as const;
export type AccountAction = (typeof accountActions)[number];

export type AdAccountAccess = {
  id: string;
  platformAccountId: string;
  graph: GraphClient;
};

/** An ad account's row as the database holds it: its secrets still sealed. */
export type StoredAccount = {
  id: string;
  platform: string;
  platform_account_id: string;
  access_token_ciphertext: string;
  app_secret_ciphertext: string | null;
};

/** The account's secrets opened and a Graph client made with them. */
export async function withGraphClient(account: StoredAccount): Promise<AdAccountAccess> {
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
      onUsage: usageRecorder(account.id),
    }),
  };
}

/**
 * The database's access refusals as answers: ADR04 (no such `thing`, or not the caller's: the
 * same words for both) is not_found, ADR06 (the caller's role) forbidden with `refusal`.
 * Anything else is returned as it is.
 */
export function accessRefusal(error: unknown, thing: string, refusal: string): unknown {
  if (sqlState(error) === DbErrorCode.notFound) {
    return new AdrailError("not_found", `${thing} not found`);
  }
  if (sqlState(error) === DbErrorCode.roleForbids) return new AdrailError("forbidden", refusal);
  return error;
}

/**
 * The account, if `userId`'s role on it allows `action`: not_found when it does not exist or the
 * user may not see it, forbidden when the user's role does not allow the action.
 */
export async function adAccountForMember(
  userId: string,
  platformAccountId: string,
  action: AccountAction,
): Promise<AdAccountAccess> {
  const [account] = await db()<StoredAccount[]>`
    select id, platform, platform_account_id, access_token_ciphertext, app_secret_ciphertext
    from public.ad_account_for_member(${userId}, 'facebook', ${platformAccountId}, ${action})`
    .catch((error) => {
      throw accessRefusal(
        error,
        `ad account ${platformAccountId}`,
        `your role on ad account ${platformAccountId} does not allow ${action}`,
      );
    });
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

/**
 * The account of a scheduled sync, found by its lease (which the sync then holds): not_found when
 * the lease is another account's.
 */
export async function scheduledSyncAccount(
  platformAccountId: string,
  leaseId: string,
): Promise<AdAccountAccess> {
  const access = await adAccountById(await extendSyncLease(leaseId));
  if (access.platformAccountId !== platformAccountId) {
    throw new AdrailError("not_found", `ad account ${platformAccountId} not found`);
  }
  return access;
}
