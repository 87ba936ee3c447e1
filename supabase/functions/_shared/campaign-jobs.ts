// The user's side of bulk launches: start one (verification, then the job and all its slots in
// one transaction), follow its progress, answer a rollback confirmation, ask for a re-check.
// The work itself is the creation worker's.
import { adAccountForMember, type AdAccountRole } from "./ad-account-access.ts";
import { type CampaignCreateRequest, requestHash } from "./creation-request.ts";
import { db, DbErrorCode, sqlState } from "./db.ts";
import { HttpError, metaFailure } from "./http.ts";
import { verifyBeforeCreation } from "./pre-creation-verification.ts";

const launchers: AdAccountRole[] = ["owner", "approver", "launcher"];

export type JobProgress = Record<string, unknown> & { job_id: number; status: string };

type JobRow = { id: number; status: string; request_hash: string };

async function jobForKey(userId: string, key: string): Promise<JobRow | undefined> {
  const [job] = await db()<JobRow[]>`
    select id::int, status, request_hash from public.campaign_creation_jobs
    where user_id = ${userId} and idempotency_key = ${key}`;
  return job;
}

function conflict(key: string): HttpError {
  return new HttpError(
    409,
    "idempotency_conflict",
    `Idempotency-Key ${key} was already used with another request`,
  );
}

/** Verifies, then creates the job. A replayed idempotency key answers its job again, unverified. */
export async function launchCampaign(
  userId: string,
  request: CampaignCreateRequest,
  idempotencyKey?: string,
): Promise<{ jobId: number; status: string; replayed: boolean; warnings: string[] }> {
  const access = await adAccountForMember(userId, request.adAccountId, launchers);
  const hash = await requestHash(request);
  if (idempotencyKey) {
    const existing = await jobForKey(userId, idempotencyKey);
    if (existing && existing.request_hash !== hash) throw conflict(idempotencyKey);
    if (existing) {
      return { jobId: existing.id, status: existing.status, replayed: true, warnings: [] };
    }
  }

  const verification = await verifyBeforeCreation(access, userId, request);
  if (verification.unreachable) {
    throw metaFailure(verification.unreachable, "Meta refused the pre-creation verification");
  }
  if (!verification.canProceed) {
    throw new HttpError(
      422,
      "verification_failed",
      "pre-creation verification failed: nothing was created",
      {
        reasons: verification.errors,
        warnings: verification.warnings,
      },
    );
  }

  const sql = db();
  try {
    const [job] = await sql<JobRow[]>`
      select id::int, status, request_hash from public.create_campaign_creation_job(
        ${userId}, ${access.id}, ${request.campaign.name}, ${request.adSets.count}, ${request.ads.perAdSet},
        ${sql.json(request)}, ${hash}, ${idempotencyKey ?? null}, ${request.rollbackPolicy},
        ${request.retryBudget}, ${request.dryRun})`;
    await sql`update public.pre_creation_verifications set job_id = ${job.id} where id = ${verification
      .id!}`;
    return { jobId: job.id, status: job.status, replayed: false, warnings: verification.warnings };
  } catch (error) {
    if (sqlState(error) === DbErrorCode.idempotencyConflict) throw conflict(idempotencyKey!);
    throw error;
  }
}

/** The job, if the user may see it: 404 when there is no such job, 403 when it is not theirs. */
async function jobOfMember(
  userId: string,
  jobId: number,
  roles?: AdAccountRole[],
): Promise<JobProgress> {
  const [progress] = await db()<(JobProgress & { member_role: string | null })[]>`
    select p.*, m.role as member_role
    from public.campaign_creation_job_progress p
    left join public.ad_account_members m on m.ad_account_id = p.ad_account_id and m.user_id = ${userId}
    where p.job_id = ${jobId}`;
  if (!progress) throw new HttpError(404, "not_found", `job ${jobId} not found`);
  if (!progress.member_role || (roles && !roles.includes(progress.member_role as AdAccountRole))) {
    throw new HttpError(403, "forbidden", `job ${jobId} is not one of your ad accounts' jobs`);
  }
  const { member_role: _, ...job } = progress;
  return job;
}

export async function jobProgress(userId: string, jobId: number): Promise<JobProgress> {
  return await jobOfMember(userId, jobId);
}

export async function decideRollback(
  userId: string,
  jobId: number,
  confirm: boolean,
): Promise<JobProgress> {
  await jobOfMember(userId, jobId, launchers);
  try {
    await db()`select public.decide_job_rollback(${jobId}, ${confirm})`;
  } catch (error) {
    if (sqlState(error) === DbErrorCode.illegalTransition) {
      throw new HttpError(
        409,
        "not_awaiting_confirmation",
        `job ${jobId} is not waiting for a rollback decision`,
      );
    }
    throw error;
  }
  return await jobProgress(userId, jobId);
}

export async function requestVerification(userId: string, jobId: number): Promise<JobProgress> {
  await jobOfMember(userId, jobId, launchers);
  await db()`select public.request_job_verification(${jobId})`;
  return await jobProgress(userId, jobId);
}
