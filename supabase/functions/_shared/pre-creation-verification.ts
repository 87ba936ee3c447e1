// Layer 1, before any write to Meta, in one batch: the token works, the account is reachable and
// not disabled, no live campaign has the same name, there is room under the account's object
// limits, and Meta accepts the campaign with execution_options=["validate_only"]. A timeout is
// retried, never reported as a failure. Every outcome is logged in pre_creation_verifications.
import type { AdAccountAccess } from "./ad-account-access.ts";
import type { CampaignCreateRequest } from "./creation-request.ts";
import { db } from "./db.ts";
import { liveEffectiveStatuses } from "./effective-statuses.ts";
import type { GraphError } from "./graph-errors.ts";
import { retryRead } from "./retry.ts";

/** Meta's per-account caps on non-deleted objects of a regular account (Marketing API limits). */
export const accountLimits = { campaigns: 5000, adSets: 5000, ads: 5000 };

/** account_status values under which Meta accepts writes: active, in grace period, any active. */
const usableAccountStatuses = new Set([1, 9, 201]);

export type VerificationOutcome = {
  /** The pre_creation_verifications row (none when Meta could not be reached). */
  id?: number;
  canProceed: boolean;
  /** Whether it was Meta that could not be reached (then it is no verdict on the request). */
  unreachable?: GraphError;
  errors: string[];
  warnings: string[];
};

type Counted = { data: unknown[]; summary?: { total_count: number } };

export async function verifyBeforeCreation(
  access: AdAccountAccess,
  userId: string,
  request: CampaignCreateRequest,
): Promise<VerificationOutcome> {
  const started = performance.now();
  const act = access.platformAccountId;
  const counted = (edge: string) => ({
    method: "GET" as const,
    path: `/${act}/${edge}`,
    params: { fields: "id", limit: 1, summary: true, effective_status: liveEffectiveStatuses },
  });
  const batch = await retryRead(() =>
    access.graph.batch([
      { method: "GET", path: `/${act}`, params: { fields: "account_status,name" } },
      {
        method: "GET",
        path: `/${act}/campaigns`,
        params: {
          fields: "id,name",
          effective_status: liveEffectiveStatuses,
          filtering: [{ field: "name", operator: "EQUAL", value: request.campaign.name }],
        },
      },
      counted("campaigns"),
      counted("adsets"),
      counted("ads"),
      {
        method: "POST",
        path: `/${act}/campaigns`,
        isCreate: false,
        params: { ...request.campaign, execution_options: ["validate_only"] },
      },
    ])
  );

  const errors: string[] = [];
  const warnings: string[] = [];
  const row = {
    token_valid: null as boolean | null,
    account_accessible: null as boolean | null,
    account_suspended: null as boolean | null,
    duplicate_campaign_exists: null as boolean | null,
    at_account_limit: null as boolean | null,
    current_campaign_count: null as number | null,
  };
  let unreachable: GraphError | undefined;

  if (!batch.ok) {
    if (batch.error.class === "PERMANENT") {
      row.token_valid = false;
      errors.push(`Meta refused the access token: ${batch.error.message}`);
    } else {
      unreachable = batch.error;
    }
  } else {
    const [account, duplicates, campaigns, adSets, ads, validation] = batch.data;
    row.token_valid = true;
    if (!account.ok) {
      if (account.error.class === "PERMANENT") {
        row.account_accessible = false;
        errors.push(`the ad account cannot be read: ${account.error.message}`);
      } else unreachable = account.error;
    } else {
      row.account_accessible = true;
      const status = (account.data as { account_status?: number }).account_status ?? 0;
      row.account_suspended = !usableAccountStatuses.has(status);
      if (row.account_suspended) {
        errors.push(`the ad account is not active (account_status ${status})`);
      }
    }
    if (duplicates.ok) {
      row.duplicate_campaign_exists = (duplicates.data as Counted).data.length > 0;
      if (row.duplicate_campaign_exists) {
        errors.push(`a live campaign named "${request.campaign.name}" already exists`);
      }
    } else unreachable ??= duplicates.error;

    const count = (result: typeof campaigns) =>
      result.ok ? (result.data as Counted).summary?.total_count : undefined;
    const [campaignCount, adSetCount, adCount] = [count(campaigns), count(adSets), count(ads)];
    if (campaignCount === undefined || adSetCount === undefined || adCount === undefined) {
      warnings.push("the account's object counts could not be read");
    } else {
      row.current_campaign_count = campaignCount;
      const needed = {
        campaigns: campaignCount + 1,
        adSets: adSetCount + request.adSets.count,
        ads: adCount + request.adSets.count * request.ads.perAdSet,
      };
      const over = (Object.keys(needed) as (keyof typeof needed)[]).filter((k) =>
        needed[k] > accountLimits[k]
      );
      row.at_account_limit = over.length > 0;
      for (const kind of over) {
        errors.push(
          `the launch would exceed the account's limit of ${accountLimits[kind]} ${kind}`,
        );
      }
    }
    if (!validation.ok) {
      if (validation.error.class === "PERMANENT") {
        errors.push(`Meta rejects the campaign: ${validation.error.message}`);
      } else unreachable ??= validation.error;
    }
  }

  const canProceed = errors.length === 0 && !unreachable;
  if (unreachable) return { canProceed, unreachable, errors, warnings };
  const sql = db();
  const [logged] = await sql<{ id: number }[]>`
    insert into public.pre_creation_verifications (
      user_id, ad_account_id, campaign_name, can_proceed, verification_time_ms, account_accessible,
      account_suspended, duplicate_campaign_exists, at_account_limit, token_valid, warnings, errors,
      current_campaign_count, account_limit
    ) values (
      ${userId}, ${access.id}, ${request.campaign.name}, ${canProceed},
      ${
    Math.round(performance.now() - started)
  }, ${row.account_accessible}, ${row.account_suspended},
      ${row.duplicate_campaign_exists}, ${row.at_account_limit}, ${row.token_valid},
      ${sql.json(warnings)}, ${
    sql.json(errors)
  }, ${row.current_campaign_count}, ${accountLimits.campaigns}
    )
    returning id::int`;
  return { id: logged.id, canProceed, errors, warnings };
}
