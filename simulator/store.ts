/** The simulated objects of Meta: ad accounts, campaigns, ad sets, ads, and their limits. */

import { errors } from "./errors.ts";

export type EntityType = "campaign" | "adset" | "ad";
export const ENTITY_TYPES: readonly EntityType[] = ["campaign", "adset", "ad"];

export type EntityStatus = "ACTIVE" | "PAUSED" | "DELETED" | "ARCHIVED";
export const ENTITY_STATUSES: readonly EntityStatus[] = ["ACTIVE", "PAUSED", "DELETED", "ARCHIVED"];

/**
 * Ad account `account_status` values as Meta defines them: 1 ACTIVE, 2 DISABLED, 3 UNSETTLED,
 * 7 PENDING_RISK_REVIEW, 8 PENDING_SETTLEMENT, 9 IN_GRACE_PERIOD, 100 PENDING_CLOSURE, 101 CLOSED,
 * 201 ANY_ACTIVE, 202 ANY_CLOSED (https://developers.facebook.com/docs/marketing-api/reference/ad-account).
 */
export const ACCOUNT_STATUSES = [1, 2, 3, 7, 8, 9, 100, 101, 201, 202] as const;
export type AccountStatus = typeof ACCOUNT_STATUSES[number];
/** Statuses under which the account still takes writes (ads keep running in the grace period). */
const WRITABLE_ACCOUNT_STATUSES: readonly number[] = [1, 9, 201];

export interface StatusChange {
  at: number;
  status: EntityStatus;
}

export interface Entity {
  id: string;
  type: EntityType;
  accountId: string;
  campaignId: string | null;
  adsetId: string | null;
  name: string;
  status: EntityStatus;
  /** Other parameters as the client sent them (objective, budgets, targeting, creative...). */
  params: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** Every status the entity had, oldest first: insights need "was it ACTIVE on day D". */
  history: StatusChange[];
}

/** Per-account object limits, counting non-deleted, non-archived objects like Meta does. */
export interface ObjectLimits {
  campaigns: number;
  adsets: number;
  ads: number;
  adsetsPerCampaign: number;
  adsPerAdset: number;
}

/**
 * Defaults from the ad account reference "Limits" (5,000 ad sets / ads per regular account);
 * 50 ads per ad set from reference/meta-marketing-api.md.
 */
export const DEFAULT_LIMITS: ObjectLimits = {
  campaigns: 5000,
  adsets: 5000,
  ads: 5000,
  adsetsPerCampaign: 5000,
  adsPerAdset: 50,
};

export interface Account {
  id: string;
  token: string;
  appSecret: string | null;
  status: AccountStatus;
  name: string;
  currency: string;
  /** Minor units (cents), 0 = no cap, as Meta's spend_cap. */
  spendCap: number;
  limits: ObjectLimits;
  createdAt: number;
  /** While the simulated clock is before this instant, every call is throttled. */
  throttledUntil: number;
  throttleCode: number;
  /** Instants of recent calls, for the usage headers. */
  calls: number[];
  /** Async insights (report runs, insights-report-runs.ts) and the size of a synchronous read. */
  insights: InsightsSettings;
}

export interface InsightsSettings {
  /** A synchronous /insights read of more rows than this fails (too much data); 0: no limit. */
  syncMaxRows: number;
  /** Status polls (GET /<report_run_id>) a report run takes to finish. */
  reportRunPolls: number;
  /** How many of the next report runs end "Job Failed". */
  failingReportRuns: number;
}

export const DEFAULT_INSIGHTS_SETTINGS: InsightsSettings = {
  syncMaxRows: 0,
  reportRunPolls: 2,
  failingReportRuns: 0,
};

/** An async insights report (POST /act_<id>/insights): its parameters and its progress. */
export interface ReportRun {
  id: string;
  accountId: string;
  params: Record<string, unknown>;
  createdAt: number;
  polls: number;
  /** Set when it was started: the run ends "Job Failed". */
  fails: boolean;
}

export function isLive(e: Entity): boolean {
  return e.status === "ACTIVE" || e.status === "PAUSED";
}

export function numericAccountId(accountId: string): string {
  return accountId.replace(/^act_/, "");
}

export class Store {
  readonly accounts = new Map<string, Account>();
  readonly entities = new Map<string, Entity>();
  readonly reportRuns = new Map<string, ReportRun>();
  // Ids look like Meta's and never repeat within one simulator, even across resets. They start
  // at a base derived from the seed: simulators with other seeds never hand out the same id (Meta's
  // ids are global), and one seed always gives the same ids, so metrics stay deterministic.
  #lastId: bigint;

  constructor(seed: number) {
    this.#lastId = 120210000000000000n + BigInt(seed >>> 0) * 100_000_000n;
  }

  nextId(): string {
    this.#lastId += 1n;
    return String(this.#lastId);
  }

  clear(): void {
    this.accounts.clear();
    this.entities.clear();
    this.reportRuns.clear();
  }

  accountIdsForToken(token: string): Set<string> {
    const ids = new Set<string>();
    for (const a of this.accounts.values()) if (a.token === token) ids.add(a.id);
    return ids;
  }

  /** Direct parent: the campaign of an ad set, the ad set of an ad. */
  parentOf(e: Entity): Entity | undefined {
    const parentId = e.type === "ad" ? e.adsetId : e.campaignId;
    return parentId ? this.entities.get(parentId) : undefined;
  }

  /** Entities ordered newest first, as Meta lists edges. */
  list(predicate: (e: Entity) => boolean): Entity[] {
    return [...this.entities.values()].filter(predicate).sort((a, b) =>
      a.id < b.id ? 1 : a.id > b.id ? -1 : 0
    );
  }

  count(predicate: (e: Entity) => boolean): number {
    let n = 0;
    for (const e of this.entities.values()) if (predicate(e)) n++;
    return n;
  }

  /** Throws Meta's error when the account takes no writes. */
  assertWritable(account: Account): void {
    if (!WRITABLE_ACCOUNT_STATUSES.includes(account.status)) {
      throw errors.accountNotActive(account.id, account.status);
    }
  }

  /** Throws when one more live object of this type would exceed the account's limits. */
  assertRoomFor(account: Account, type: EntityType, parentId: string | null): void {
    const inAccount = (e: Entity) => e.accountId === account.id && e.type === type && isLive(e);
    const { limits } = account;
    const checks: [boolean, number, string][] = type === "campaign"
      ? [[true, limits.campaigns, "campaigns in this ad account"]]
      : type === "adset"
      ? [
        [true, limits.adsets, "ad sets in this ad account"],
        [false, limits.adsetsPerCampaign, "ad sets in this campaign"],
      ]
      : [
        [true, limits.ads, "ads in this ad account"],
        [false, limits.adsPerAdset, "ads in this ad set"],
      ];
    for (const [accountWide, limit, what] of checks) {
      const n = this.count((e) =>
        inAccount(e) && (accountWide || (type === "adset" ? e.campaignId : e.adsetId) === parentId)
      );
      if (n >= limit) throw errors.limitReached(what, limit);
    }
  }
}
