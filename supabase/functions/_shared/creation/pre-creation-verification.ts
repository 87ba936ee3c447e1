// Layer 1, before any write to Meta, in one batch: the token works, the account is reachable and
// not disabled, has not reached the spending limit set on it in Meta (spend_cap, amount_spent;
// a launch whose daily budget exceeds what is left is warned), no live campaign has the same name, the launch fits under the account's object
// limits (ad_accounts.campaign_limit, ad_set_limit, ad_limit), and Meta accepts the campaign with
// execution_options=["validate_only"]. The batch only reads (validate_only creates nothing), so a
// transient failure or a lost answer is retried in process, a few times with short backoff; a rate
// limit, or a failure that outlasts the retries, is no verdict: the outcome is "unavailable" and
// the caller is told to try again. Every outcome is logged in pre_creation_verifications.
import type { AdAccountAccess } from "../accounts/ad-account-access.ts";
import type { AccountObjectLimits } from "../accounts/ad-accounts.ts";
import type { CampaignCreateRequest } from "./creation-request.ts";
import { db } from "../platform/db.ts";
import { liveEffectiveStatuses, writableAccountStatuses } from "../meta/effective-statuses.ts";
import type { BatchOperation } from "../meta/graph-client.ts";
import type { GraphError, GraphResult } from "../meta/graph-errors.ts";
import { backoffDelayMs, readBackoff } from "../meta/retry.ts";

/** Tries of the verification batch while Meta fails transiently (waits under 1 s in between). */
export const verificationAttempts = 3;

export type VerificationOutcome = {
  /** The pre_creation_verifications row. */
  id: number;
  canProceed: boolean;
  /**
   * Set when Meta did not answer usefully (rate limit, timeout, transient error) and nothing else
   * refused the launch: no verdict, try again later.
   */
  unavailable?: GraphError;
  errors: string[];
  warnings: string[];
};

type Counted = { data: unknown[]; summary?: { total_count: number } };
type BatchAnswer = GraphResult<GraphResult<unknown>[]>;

const objectKinds = [
  { key: "campaigns", column: "campaign_limit", label: "campaigns" },
  { key: "adSets", column: "ad_set_limit", label: "ad sets" },
  { key: "ads", column: "ad_limit", label: "ads" },
] as const;

function failures(batch: BatchAnswer): GraphError[] {
  const results = batch.ok ? batch.data : [batch];
  return results.flatMap((r) => r.ok ? [] : [r.error]);
}

const isTransient = (error: GraphError) =>
  error.class === "TEMPORARY" || error.class === "UNKNOWN_OUTCOME";

/**
 * Which of Meta's non-answers to report: a rate limit first (it says how long to wait), the
 * longest one; else the first transient failure.
 */
function worstNonAnswer(errors: GraphError[]): GraphError | undefined {
  const limits = errors.filter((e) => e.class === "RATE_LIMIT");
  if (limits.length > 0) {
    return limits.reduce((a, b) => (b.retryAfterMs ?? 0) > (a.retryAfterMs ?? 0) ? b : a);
  }
  return errors.find(isTransient);
}

/** Sends the read-only batch again while every failure in it is transient (never on a rate limit). */
async function readChecks(
  access: AdAccountAccess,
  operations: BatchOperation[],
): Promise<BatchAnswer> {
  for (let attempt = 1;; attempt++) {
    const batch = await access.graph.batch(operations);
    const failed = failures(batch);
    if (attempt >= verificationAttempts || failed.length === 0 || !failed.every(isTransient)) {
      return batch;
    }
    await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, readBackoff)));
  }
}

/** The launch's daily budget: its ad sets times the template's daily_budget (minor units). */
function launchDailyBudget(request: CampaignCreateRequest): number {
  const perAdSet = Number(request.adSets.template.daily_budget ?? 0);
  return Number.isSafeInteger(perAdSet) && perAdSet > 0 ? perAdSet * request.adSets.count : 0;
}

type SpendingCheck = {
  spendCap: number | null;
  amountSpent: number | null;
  error?: string;
  warning?: string;
};

/**
 * Meta's spending limit on the account: spend_cap (minor units, "0" = none) against amount_spent
 * (since the cap was set). Reached: an error (Meta stops delivery); less left than the launch's
 * daily budget: a warning.
 */
function spendingLimit(account: unknown, request: CampaignCreateRequest): SpendingCheck {
  const { spend_cap, amount_spent } = account as { spend_cap?: string; amount_spent?: string };
  const minorUnits = (value?: string) => /^[0-9]{1,15}$/.test(value ?? "") ? Number(value) : null;
  const spendCap = minorUnits(spend_cap);
  const amountSpent = minorUnits(amount_spent);
  if (!spendCap || amountSpent === null) return { spendCap, amountSpent };
  const left = spendCap - amountSpent;
  if (left <= 0) {
    return {
      spendCap,
      amountSpent,
      error: `the ad account has reached its spending limit on Meta ` +
        `(spend_cap ${spendCap}, amount_spent ${amountSpent})`,
    };
  }
  const daily = launchDailyBudget(request);
  if (daily <= left) return { spendCap, amountSpent };
  return {
    spendCap,
    amountSpent,
    warning:
      `the ad account's spending limit on Meta leaves ${left}, less than the launch's daily budget of ${daily}`,
  };
}

export async function verifyBeforeCreation(
  access: AdAccountAccess,
  limits: AccountObjectLimits,
  userId: string,
  request: CampaignCreateRequest,
): Promise<VerificationOutcome> {
  const started = performance.now();
  const act = access.platformAccountId;
  const counted = (edge: string): BatchOperation => ({
    method: "GET",
    path: `/${act}/${edge}`,
    params: { fields: "id", limit: 1, summary: true, effective_status: liveEffectiveStatuses },
  });
  const batch = await readChecks(access, [
    {
      method: "GET",
      path: `/${act}`,
      params: { fields: "account_status,name,spend_cap,amount_spent" },
    },
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
      isWrite: false,
      params: { ...request.campaign, execution_options: ["validate_only"] },
    },
  ]);

  const errors: string[] = [];
  const warnings: string[] = [];
  const row = {
    token_valid: null as boolean | null,
    account_accessible: null as boolean | null,
    account_suspended: null as boolean | null,
    spend_cap: null as number | null,
    amount_spent: null as number | null,
    duplicate_campaign_exists: null as boolean | null,
    at_account_limit: null as boolean | null,
    counts: { campaigns: null, adSets: null, ads: null } as Record<
      keyof AccountObjectLimits,
      number | null
    >,
  };

  if (!batch.ok) {
    if (batch.error.class === "PERMANENT") {
      row.token_valid = false;
      errors.push(`Meta refused the access token: ${batch.error.message}`);
    }
  } else {
    const [account, duplicates, campaigns, adSets, ads, validation] = batch.data;
    row.token_valid = true;
    if (!account.ok) {
      if (account.error.class === "PERMANENT") {
        row.account_accessible = false;
        errors.push(`the ad account cannot be read: ${account.error.message}`);
      }
    } else {
      row.account_accessible = true;
      const status = (account.data as { account_status?: number }).account_status ?? 0;
      row.account_suspended = !writableAccountStatuses.includes(status);
      if (row.account_suspended) {
        errors.push(`the ad account is not active (account_status ${status})`);
      }
      const spending = spendingLimit(account.data, request);
      row.spend_cap = spending.spendCap;
      row.amount_spent = spending.amountSpent;
      if (spending.error) errors.push(spending.error);
      if (spending.warning) warnings.push(spending.warning);
    }
    if (duplicates.ok) {
      row.duplicate_campaign_exists = (duplicates.data as Counted).data.length > 0;
      if (row.duplicate_campaign_exists) {
        errors.push(`a live campaign named "${request.campaign.name}" already exists`);
      }
    } else if (duplicates.error.class === "PERMANENT") {
      errors.push(
        `the account's live campaigns could not be searched by name: ${duplicates.error.message}`,
      );
    }

    // A count Meta gave no answer for is no verdict (below); one it refused for good, or answered
    // without a total, leaves the check to Meta's own caps, with a warning.
    const results = { campaigns, adSets, ads };
    let unreadable = false;
    let overLimit = false;
    for (const { key, column, label } of objectKinds) {
      const result = results[key];
      const live = result.ok ? (result.data as Counted).summary?.total_count ?? null : null;
      row.counts[key] = live;
      if (live === null) {
        unreadable ||= result.ok || result.error.class === "PERMANENT";
        continue;
      }
      const adding = key === "campaigns"
        ? 1
        : key === "adSets"
        ? request.adSets.count
        : request.adSets.count * request.ads.perAdSet;
      if (live + adding > limits[key]) {
        overLimit = true;
        errors.push(
          `the launch would exceed the account's limit of ${limits[key]} live ${label} ` +
            `(ad_accounts.${column}): ` +
            `${live} live + ${adding} new = ${live + adding}`,
        );
      }
    }
    if (unreadable) warnings.push("the account's object counts could not be read");
    row.at_account_limit = Object.values(row.counts).every((c) => c === null) ? null : overLimit;

    if (!validation.ok && validation.error.class === "PERMANENT") {
      errors.push(`Meta rejects the campaign: ${validation.error.message}`);
    }
  }

  // Meta's non-answers: a verdict found elsewhere stands; without one, nothing is decided.
  const nonAnswer = worstNonAnswer(failures(batch));
  const unavailable = errors.length === 0 ? nonAnswer : undefined;
  if (nonAnswer && errors.length > 0) {
    warnings.push(`some checks got no answer from Meta (${nonAnswer.class})`);
  }
  const logged = [...errors];
  if (unavailable) {
    logged.push(
      `Meta did not answer the verification (${unavailable.class}): ${unavailable.message}`,
    );
  }
  const canProceed = errors.length === 0 && !unavailable;

  const sql = db();
  const [saved] = await sql<{ id: number }[]>`
    insert into public.pre_creation_verifications (
      user_id, ad_account_id, campaign_name, can_proceed, verification_time_ms, account_accessible,
      account_suspended, duplicate_campaign_exists, at_account_limit, token_valid, warnings, errors,
      current_campaign_count, account_limit, current_ad_set_count, ad_set_limit, current_ad_count,
      ad_limit, spend_cap, amount_spent
    ) values (
      ${userId}, ${access.id}, ${request.campaign.name}, ${canProceed},
      ${Math.round(performance.now() - started)}, ${row.account_accessible},
      ${row.account_suspended}, ${row.duplicate_campaign_exists}, ${row.at_account_limit},
      ${row.token_valid}, ${sql.json(warnings)}, ${sql.json(logged)},
      ${row.counts.campaigns}, ${limits.campaigns}, ${row.counts.adSets}, ${limits.adSets},
      ${row.counts.ads}, ${limits.ads}, ${row.spend_cap}, ${row.amount_spent}
    )
    returning id::int`;
  return { id: saved.id, canProceed, unavailable, errors, warnings };
}
