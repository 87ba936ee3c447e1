// Bulk launches. User JWT:  POST /campaign-create (Idempotency-Key header optional) -> 202,
//   GET /campaign-create/jobs/:id, POST /campaign-create/jobs/:id/rollback {confirm},
//   POST /campaign-create/jobs/:id/verify, POST /campaign-create/jobs/:id/approve,
//   POST /campaign-create/jobs/:id/reject {reason}.
// Each launch, approval, confirmed rollback and verify request starts a worker run in the
// background; the creation-worker function (pg_cron) resumes released jobs.
import { z } from "zod";
import { authenticateUser } from "../_shared/platform/auth.ts";
import {
  decideApproval,
  decideRollback,
  jobProgress,
  launchCampaign,
  requestVerification,
} from "../_shared/creation/campaign-jobs.ts";
import { CampaignCreateBody } from "../_shared/creation/creation-request.ts";
import { requestCreationRun } from "../_shared/creation/creation-worker.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson, subPath } from "../_shared/platform/http.ts";
import { takeQuota } from "../_shared/platform/request-limits.ts";

const IdempotencyKey = z.string().min(1).max(200).regex(
  /^[\x21-\x7e]+$/,
  "printable ASCII, no spaces",
);
const RollbackBody = z.object({ confirm: z.boolean() }).strict();
/** A verify request or an approval carries nothing: no body, or `{}`. */
const EmptyBody = z.object({}).strict();
const RejectBody = z.object({
  reason: z.string().trim().min(1).max(1000).refine(
    (text) => !text.includes("\u0000") && text.isWellFormed(),
    "may not contain U+0000 or an unpaired surrogate",
  ),
}).strict();

function idempotencyKey(req: Request): string | undefined {
  const key = req.headers.get("Idempotency-Key");
  if (key === null) return undefined;
  const parsed = IdempotencyKey.safeParse(key);
  if (!parsed.success) {
    throw new AdrailError("invalid_body", "invalid Idempotency-Key header", {
      issues: parsed.error.issues.map((i) => ({ path: "Idempotency-Key", message: i.message })),
    });
  }
  return parsed.data;
}

Deno.serve(serveJson("campaign-create", async (req) => {
  const path = subPath(req, "campaign-create");
  // Reads are GETs; a launch, a rollback decision and a verify request change state.
  const user = await authenticateUser(req, { write: req.method !== "GET" });
  if (path === "/" && req.method === "POST") {
    await takeQuota("launch", { userId: user.id });
    const key = idempotencyKey(req);
    const launch = await launchCampaign(user.id, await parseJsonBody(req, CampaignCreateBody), key);
    // A launch awaiting approval has nothing for a worker until it is approved.
    if (!launch.replayed && launch.status !== "awaiting_approval") {
      await requestCreationRun("launch");
    }
    return json(202, launch);
  }
  const route = path.match(/^\/jobs\/([0-9]{1,18})(\/rollback|\/verify|\/approve|\/reject)?$/);
  if (!route) throw new AdrailError("not_found", "no such route");
  const jobId = Number(route[1]);
  if (req.method === "GET" && !route[2]) {
    await takeQuota("read", { userId: user.id });
    return json(200, await jobProgress(user.id, jobId));
  }
  if (req.method === "POST" && route[2] === "/rollback") {
    await takeQuota("job_action", { userId: user.id });
    const { confirm } = await parseJsonBody(req, RollbackBody);
    const progress = await decideRollback(user.id, jobId, confirm);
    if (confirm) await requestCreationRun("rollback confirmed");
    return json(200, progress);
  }
  if (req.method === "POST" && route[2] === "/verify") {
    await takeQuota("job_action", { userId: user.id });
    await parseJsonBody(req, EmptyBody, {});
    const progress = await requestVerification(user.id, jobId);
    await requestCreationRun("verification requested");
    return json(200, progress);
  }
  if (req.method === "POST" && route[2] === "/approve") {
    await takeQuota("job_action", { userId: user.id });
    await parseJsonBody(req, EmptyBody, {});
    const answer = await decideApproval(user.id, jobId, { approve: true });
    if (!answer.replayed) await requestCreationRun("approved");
    return json(200, answer);
  }
  if (req.method === "POST" && route[2] === "/reject") {
    await takeQuota("job_action", { userId: user.id });
    const { reason } = await parseJsonBody(req, RejectBody);
    return json(200, await decideApproval(user.id, jobId, { approve: false, reason }));
  }
  throw new AdrailError("method_not_allowed", "method not allowed on this route");
}));
