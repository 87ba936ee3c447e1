// The user's side of bulk launches: start one (verification, then the job and all its slots in
// one transaction, its budget reserved or the job left awaiting approval), follow its progress,
// approve or reject a launch awaiting approval, answer a rollback confirmation, ask for a
// re-check. The work itself is the creation worker's. Failures are AdrailErrors; the HTTP layer
// answers them.
import {
  accessRefusal,
  type AdAccountAccess,
  withGraphClient,
} from "../accounts/ad-account-access.ts";
import type { AccountObjectLimits } from "../accounts/ad-accounts.ts";
import type { JobStatus } from "./job-states.ts";
import { type CampaignCreateRequest, requestedEntities, requestHash } from "./creation-request.ts";
import {
  db,
  DbErrorCode,
  type EntityType,
  type Sql,
  sqlState,
  type Transaction,
} from "../platform/db.ts";
import { AdrailError, metaUnavailable } from "../platform/errors.ts";
import { verifyBeforeCreation } from "./pre-creation-verification.ts";
import {
  activeJobsRefusal,
  assertQuotaAllowed,
  type QuotaAnswer,
} from "../platform/request-limits.ts";

export type LaunchAnswer = {
  jobId: number;
  status: JobStatus;
  replayed: boolean;
  warnings: string[];
};

/** An object on Meta, as a job knows it. */
export type JobObject = { type: EntityType; id: string };

/** The approver's decision on a launch that waited for approval. */
export type ApprovalState = {
  /** The launch waited for approval (its account requires it, its requester may not approve). */
  required: boolean;
  decision: "approved" | "rejected" | null;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
};

/** The launch's daily budget in the account's ledger (minor units); null before it is reserved. */
export type BudgetState = { reserved: number | null; released: boolean };

/** One kind of object of a job: slots asked for, created, read back, and creates sent again. */
export type EntityProgress = {
  requested: number;
  created: number;
  verified: number;
  retries: number;
};

/** Why a job is not claimable yet (next_run_at ahead). */
export type WaitReason = "rate_limit" | "meta_outage" | "rollback_blocked" | "retry_backoff";

/** A job's progress: what GET .../jobs/:id, rollback, verify, approve and reject answer (docs/contract.md). */
export type JobProgress = {
  jobId: number;
  status: JobStatus;
  adAccountId: string;
  campaignName: string;
  facebookCampaignId: string | null;
  dryRun: boolean;
  requested: { adSets: number; ads: number };
  created: { adSets: number; ads: number };
  /** Slots read back from Meta and found there. */
  verified: number;
  /** Times read-back found a slot reported created but missing on Meta. */
  silentFailures: number;
  slots: { pending: number; creating: number; created: number; failed: number; rolledBack: number };
  retries: { used: number; budget: number };
  /** The same counts per kind of object (a dry run's slots, all zero but `requested`). */
  entities: { campaign: EntityProgress; adSets: EntityProgress; ads: EntityProgress };
  /** While an unfinished job waits for its next run: until when, and why; else null. */
  waiting: { until: string; reason: WaitReason } | null;
  rollback: {
    policy: "auto" | "confirm";
    triggered: boolean;
    reason: string | null;
    at: string | null;
  };
  lastError: string | null;
  approval: ApprovalState;
  budget: BudgetState;
  /** Objects still live on Meta although the job will not complete; [] otherwise. */
  liveEntities: JobObject[];
  /** Why the rollback cannot proceed, while the job is rollback_blocked; else null. */
  blockedReason: string | null;
  /** Objects in the job's campaign that adrail did not create (never deleted by adrail). */
  unownedObjects: (JobObject & { name: string | null })[];
  nextRunAt: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
};

type JobRow = { id: number; status: JobStatus; request_hash: string };

function conflict(key: string): AdrailError {
  return new AdrailError(
    "idempotency_conflict",
    `Idempotency-Key ${key} was already used with another request`,
  );
}

/** What public.admit_campaign_launch answers: the account, or the replayed job, or a refusal. */
type AdmissionRow = {
  account_id: string;
  account_platform: string;
  access_token_ciphertext: string;
  app_secret_ciphertext: string | null;
  campaign_limit: number;
  ad_set_limit: number;
  ad_limit: number;
  replayed_job_id: number | null;
  replayed_status: JobStatus | null;
  replayed_request_hash: string | null;
  refused_action: "launch" | "requested_entities" | null;
  retry_after_seconds: number | null;
  refused_scope: QuotaAnswer["scope"];
  refused_quota: number | null;
  refused_window_seconds: number | null;
};

/** A launch let through to its verification, or the job its idempotency key already names. */
type Admission =
  | { kind: "admitted"; access: AdAccountAccess; limits: AccountObjectLimits }
  | { kind: "replay"; job: JobRow };

/**
 * Everything a launch asks of the database before it verifies, in one call: the account (not_found,
 * forbidden), the job a replayed key names, the room for one more job and the quotas
 * (rate_limited).
 */
async function admitLaunch(
  userId: string,
  request: CampaignCreateRequest,
  idempotencyKey: string | undefined,
): Promise<Admission> {
  const account = request.adAccountId;
  const [row] = await db()<AdmissionRow[]>`
    select account_id, account_platform, access_token_ciphertext, app_secret_ciphertext,
      campaign_limit, ad_set_limit, ad_limit, replayed_job_id::int, replayed_status,
      replayed_request_hash, refused_action, retry_after_seconds, refused_scope, refused_quota,
      refused_window_seconds
    from public.admit_campaign_launch(
      ${userId}, ${account}, ${idempotencyKey ?? null}, ${requestedEntities(request)})`
    .catch((error) => {
      throw activeJobsRefusal(
        accessRefusal(
          error,
          `ad account ${account}`,
          `your role on ad account ${account} does not allow launch`,
        ),
      );
    });
  if (row.replayed_job_id !== null) {
    return {
      kind: "replay",
      job: {
        id: row.replayed_job_id,
        status: row.replayed_status!,
        request_hash: row.replayed_request_hash!,
      },
    };
  }
  if (row.refused_action !== null) {
    assertQuotaAllowed(row.refused_action, {
      allowed: false,
      retry_after_seconds: row.retry_after_seconds!,
      scope: row.refused_scope,
      quota: row.refused_quota,
      window_seconds: row.refused_window_seconds,
    }, row.refused_action === "launch" ? 1 : requestedEntities(request));
  }
  const access = await withGraphClient({
    id: row.account_id,
    platform: row.account_platform,
    platform_account_id: account,
    access_token_ciphertext: row.access_token_ciphertext,
    app_secret_ciphertext: row.app_secret_ciphertext,
  });
  return {
    kind: "admitted",
    access,
    limits: { campaigns: row.campaign_limit, adSets: row.ad_set_limit, ads: row.ad_limit },
  };
}

/**
 * Verifies, then creates the job. A replayed idempotency key answers its job again, unverified.
 * Before anything is verified, the limits: jobs under way, launches of the account, entities
 * asked for (rate_limited). Meta not answering the verification (rate limit, outage) creates
 * nothing: meta_unavailable.
 */
export async function launchCampaign(
  userId: string,
  request: CampaignCreateRequest,
  idempotencyKey?: string,
): Promise<LaunchAnswer> {
  const hash = await requestHash(request);
  const admission = await admitLaunch(userId, request, idempotencyKey);
  if (admission.kind === "replay") {
    const { job } = admission;
    if (job.request_hash !== hash) throw conflict(idempotencyKey!);
    return { jobId: job.id, status: job.status, replayed: true, warnings: [] };
  }
  const { access, limits } = admission;

  const verification = await verifyBeforeCreation(access, limits, userId, request);
  if (verification.unavailable) {
    throw metaUnavailable(
      verification.unavailable,
      "Meta did not answer the pre-creation verification; nothing was created, try again later",
    );
  }
  if (!verification.canProceed) {
    throw new AdrailError(
      "verification_failed",
      "pre-creation verification failed: nothing was created",
      { reasons: verification.errors, warnings: verification.warnings },
    );
  }

  const sql = db();
  try {
    // The job, its slots and the verification's link to it, in one statement.
    const [job] = await sql<JobRow[]>`
      with job as (
        select id, status, request_hash from public.create_campaign_creation_job(
          ${userId}, ${access.id}, ${request.campaign.name}, ${request.adSets.count}, ${request.ads.perAdSet},
          ${sql.json(request)}, ${hash}, ${idempotencyKey ?? null}, ${request.rollbackPolicy},
          ${request.retryBudget}, ${request.dryRun})
      ), linked as (
        update public.pre_creation_verifications v set job_id = job.id
        from job where v.id = ${verification.id}
      )
      select id::int, status, request_hash from job`;
    return { jobId: job.id, status: job.status, replayed: false, warnings: verification.warnings };
  } catch (error) {
    if (sqlState(error) === DbErrorCode.idempotencyConflict) throw conflict(idempotencyKey!);
    throw budgetRefusal(error) ?? activeJobsRefusal(error);
  }
}

/** ADR10 as an answer: the launch's daily budget does not fit under the account's cap. */
function budgetRefusal(error: unknown): AdrailError | undefined {
  if (sqlState(error) !== DbErrorCode.budgetCapExceeded) return undefined;
  const budget = JSON.parse((error as { detail: string }).detail) as {
    cap: number;
    reserved: number;
    requested: number;
  };
  return new AdrailError(
    "budget_cap_exceeded",
    `the launch's daily budget of ${budget.requested} does not fit under the account's daily budget cap of ${budget.cap}: ${budget.reserved} is reserved, ${
      budget.cap - budget.reserved
    } free`,
    { budget },
  );
}

type ProgressRow = {
  job_id: string;
  status: JobStatus;
  platform_account_id: string;
  campaign_name: string;
  facebook_campaign_id: string | null;
  dry_run: boolean;
  requested_ad_sets: number;
  requested_ads: number;
  ad_sets_created: number;
  ads_created: number;
  slots_verified: number;
  slots_pending: number;
  slots_creating: number;
  slots_created: number;
  slots_failed: number;
  slots_rolled_back: number;
  silent_failures: number;
  retry_count: number;
  retry_budget: number;
  rollback_policy: "auto" | "confirm";
  rollback_triggered: boolean;
  rollback_reason: string | null;
  rollback_at: Date | null;
  last_error: string | null;
  approval_required: boolean;
  decision: "approved" | "rejected" | null;
  decided_by: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
  budget_reserved: string | null;
  budget_released: boolean;
  live_entities: JobObject[];
  by_type: Partial<Record<EntityType, EntityProgress>>;
  wait_reason: WaitReason | null;
  unowned_objects: { entity_type: EntityType; facebook_id: string; name?: string | null }[];
  next_run_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
};

const iso = (at: Date | null) => at?.toISOString() ?? null;
const none: EntityProgress = { requested: 0, created: 0, verified: 0, retries: 0 };

function progressOf(row: ProgressRow): JobProgress {
  return {
    jobId: Number(row.job_id),
    status: row.status,
    adAccountId: row.platform_account_id,
    campaignName: row.campaign_name,
    facebookCampaignId: row.facebook_campaign_id,
    dryRun: row.dry_run,
    requested: { adSets: row.requested_ad_sets, ads: row.requested_ads },
    created: { adSets: row.ad_sets_created, ads: row.ads_created },
    verified: row.slots_verified,
    silentFailures: row.silent_failures,
    slots: {
      pending: row.slots_pending,
      creating: row.slots_creating,
      created: row.slots_created,
      failed: row.slots_failed,
      rolledBack: row.slots_rolled_back,
    },
    retries: { used: row.retry_count, budget: row.retry_budget },
    entities: {
      campaign: row.by_type.campaign ?? none,
      adSets: row.by_type.ad_set ?? none,
      ads: row.by_type.ad ?? none,
    },
    waiting: row.wait_reason && row.next_run_at
      ? { until: row.next_run_at.toISOString(), reason: row.wait_reason }
      : null,
    rollback: {
      policy: row.rollback_policy,
      triggered: row.rollback_triggered,
      reason: row.rollback_reason,
      at: iso(row.rollback_at),
    },
    lastError: row.last_error,
    approval: {
      required: row.approval_required,
      decision: row.decision,
      decidedBy: row.decided_by,
      decidedAt: iso(row.decided_at),
      reason: row.decision_reason,
    },
    budget: {
      reserved: row.budget_reserved === null ? null : Number(row.budget_reserved),
      released: row.budget_released,
    },
    liveEntities: row.live_entities,
    blockedReason: row.status === "rollback_blocked" ? row.last_error : null,
    unownedObjects: row.unowned_objects.map((o) => ({
      type: o.entity_type,
      id: o.facebook_id,
      name: o.name ?? null,
    })),
    nextRunAt: iso(row.next_run_at),
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Checks, in the database, that the user may act on the job: `read` (any member of its account)
 * or `manage` (verify it, decide its rollback: its requester as a launcher, anyone else as an
 * approver or owner; private.account_role_actions). not_found when there is no such job or it is
 * not one of the user's accounts' jobs (the same answer), forbidden when the role does not allow it.
 */
async function checkJobAccess(
  sql: Sql | Transaction,
  userId: string,
  jobId: number,
  action: "read" | "manage",
): Promise<string> {
  const [job] = await sql<{ ad_account_id: string }[]>`
    select ad_account_id from public.job_for_member(${userId}, ${jobId}, ${action})`.catch(
    (error) => {
      throw jobAccessRefusal(error, jobId);
    },
  );
  return job.ad_account_id;
}

/** checkJobAccess's refusals as answers (not_found, forbidden). */
function jobAccessRefusal(error: unknown, jobId: number): unknown {
  return accessRefusal(error, `job ${jobId}`, `your role does not allow managing job ${jobId}`);
}

/**
 * The job's progress. Counts come from the view campaign_creation_job_progress; live entities only
 * for a job the view creation_jobs_with_live_entities lists (one that will not complete but still
 * owns objects).
 */
async function progressOfJob(sql: Sql | Transaction, jobId: number): Promise<JobProgress> {
  const [row] = await sql<ProgressRow[]>`
    select * from public.campaign_creation_job_progress_of(${jobId})`;
  return progressOf(row);
}

export async function jobProgress(userId: string, jobId: number): Promise<JobProgress> {
  return await db().begin(async (sql) => {
    await checkJobAccess(sql, userId, jobId, "read");
    return await progressOfJob(sql, jobId);
  });
}

/**
 * A rollback decision, a verify request or an approval decision counts against the account's
 * job_action limit, taken once the user may act on the job (`action`, as checkJobAccess checks
 * it; `refusal` answers its errors): both in one statement, before the action's own. Never
 * inside the action's transaction: the account's bucket row would stay locked until its commit,
 * queuing every other action on the account behind this one.
 */
async function takeJobActionQuota(
  userId: string,
  jobId: number,
  action: "read" | "manage",
  refusal: (error: unknown, jobId: number) => unknown,
): Promise<void> {
  const [answer] = await db()<QuotaAnswer[]>`
    select q.allowed, q.retry_after_seconds, q.scope, q.quota, q.window_seconds
    from public.job_for_member(${userId}, ${jobId}, ${action}) j
    cross join lateral public.take_request_quota('job_action', null, j.ad_account_id) q`
    .catch((error) => {
      throw refusal(error, jobId);
    });
  assertQuotaAllowed("job_action", answer);
}

export async function decideRollback(
  userId: string,
  jobId: number,
  confirm: boolean,
): Promise<JobProgress> {
  await takeJobActionQuota(userId, jobId, "manage", jobAccessRefusal);
  return await db().begin(async (sql) => {
    try {
      await sql`select public.decide_job_rollback(${jobId}, ${userId}, ${confirm})`;
    } catch (error) {
      if (sqlState(error) === DbErrorCode.illegalTransition) {
        throw new AdrailError(
          "not_awaiting_confirmation",
          `job ${jobId} is not waiting for a rollback decision`,
        );
      }
      throw error;
    }
    return await progressOfJob(sql, jobId);
  });
}

/** A completed job is read back and repaired; a dry run is left as it is (it creates nothing). */
export async function requestVerification(userId: string, jobId: number): Promise<JobProgress> {
  await takeJobActionQuota(userId, jobId, "manage", jobAccessRefusal);
  return await db().begin(async (sql) => {
    await sql`select public.request_job_verification(${jobId}, ${userId})`;
    return await progressOfJob(sql, jobId);
  });
}

/** What approve and reject answer: the job's progress, and whether the decision was taken before. */
export type DecisionAnswer = JobProgress & { replayed: boolean };

/** The database's refusals of an approval decision as answers. */
function decisionRefusal(error: unknown, jobId: number): unknown {
  switch (sqlState(error)) {
    case DbErrorCode.ownApproval:
      return new AdrailError(
        "forbidden",
        `you requested job ${jobId}: another approver approves it`,
      );
    case DbErrorCode.approvalConflict: {
      const current = JSON.parse((error as { detail: string }).detail) as {
        status: JobStatus;
        decision: "approved" | "rejected" | null;
      };
      return new AdrailError("approval_conflict", (error as Error).message, current);
    }
    default:
      return budgetRefusal(error) ??
        accessRefusal(error, `job ${jobId}`, `your role does not allow deciding job ${jobId}`);
  }
}

/**
 * An approver's decision on a launch awaiting approval, one statement (the database's approve_
 * or reject_campaign_creation_job, its own transaction): approving reserves the launch's budget
 * and makes the job due for the worker. The same decision again replays it (replayed: true); the
 * other one is approval_conflict with the job's status and decision. No transaction around it:
 * the job's row and the account's budget stay locked only while the function runs, not for a
 * round trip to this isolate and back (50 approvals of an account at once queue on them). The
 * progress is read once the decision is committed.
 */
export async function decideApproval(
  userId: string,
  jobId: number,
  decision: { approve: true } | { approve: false; reason: string },
): Promise<DecisionAnswer> {
  await takeJobActionQuota(userId, jobId, "read", decisionRefusal);
  const sql = db();
  const [{ replayed }] = await (decision.approve
    ? sql<{ replayed: boolean }[]>`
        select replayed from public.approve_campaign_creation_job(${jobId}, ${userId})`
    : sql<{ replayed: boolean }[]>`
        select replayed from public.reject_campaign_creation_job(${jobId}, ${userId}, ${decision.reason})`)
    .catch((error) => {
      throw decisionRefusal(error, jobId);
    });
  return { ...await progressOfJob(sql, jobId), replayed };
}
