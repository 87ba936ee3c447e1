// POST /facebook-ads-sync { adAccountId, since?, until? }: final syncs owed, entities, daily
// metrics, then the final syncs the run uncovered, for one account the caller's role may sync,
// within the user's and the account's sync limits, and while no other sync of it runs.
// pg_cron calls it too, through pg_net with x-cron-secret and { adAccountId, leaseId }: a scheduled
// sync whose lease private.start_due_ads_syncs took. verify_jwt is off for this function (the
// cron secret is no JWT): authenticateUserOrCron verifies the user's JWT itself.
import { adAccountForMember, scheduledSyncAccount } from "../_shared/accounts/ad-account-access.ts";
import {
  FacebookAdsSyncBody,
  metricsRange,
  ScheduledSyncBody,
  syncAdAccount,
} from "../_shared/sync/ads-sync.ts";
import { authenticateUserOrCron } from "../_shared/platform/auth.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson, subPath } from "../_shared/platform/http.ts";
import { takeQuota } from "../_shared/platform/request-limits.ts";
import { claimUserSync } from "../_shared/sync/sync-leases.ts";

Deno.serve(serveJson("facebook-ads-sync", async (req) => {
  // A sync writes what it reads from Meta (entities, metrics, final syncs).
  const auth = await authenticateUserOrCron(req, { write: true });
  if (subPath(req, "facebook-ads-sync") !== "/") {
    throw new AdrailError("not_found", "no such route");
  }
  if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
  if (auth.caller === "cron") {
    const input = await parseJsonBody(req, ScheduledSyncBody);
    const access = await scheduledSyncAccount(input.adAccountId, input.leaseId);
    return json(200, await syncAdAccount(access, metricsRange({}), input.leaseId));
  }
  await takeQuota("sync", { userId: auth.user.id });
  const input = await parseJsonBody(req, FacebookAdsSyncBody);
  const access = await adAccountForMember(auth.user.id, input.adAccountId, "sync");
  await takeQuota("sync", { adAccountId: access.id });
  const leaseId = await claimUserSync(access.id);
  return json(200, await syncAdAccount(access, metricsRange(input), leaseId));
}));
