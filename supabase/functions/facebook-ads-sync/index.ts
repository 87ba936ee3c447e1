// POST /facebook-ads-sync { adAccountId, since?, until? }: final syncs owed, entities, daily
// metrics, then the final syncs the run uncovered, for one account the caller's role may sync,
// within the user's and the account's sync limits.
import { adAccountForMember } from "../_shared/ad-account-access.ts";
import { FacebookAdsSyncBody, metricsRange, syncAdAccount } from "../_shared/ads-sync.ts";
import { authenticateUser } from "../_shared/auth.ts";
import { AdrailError } from "../_shared/errors.ts";
import { json, parseJsonBody, serveJson, subPath } from "../_shared/http.ts";
import { takeQuota } from "../_shared/request-limits.ts";

Deno.serve(serveJson("facebook-ads-sync", async (req) => {
  // A sync writes what it reads from Meta (entities, metrics, final syncs).
  const user = await authenticateUser(req, { write: true });
  if (subPath(req, "facebook-ads-sync") !== "/") {
    throw new AdrailError("not_found", "no such route");
  }
  if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
  await takeQuota("sync", { userId: user.id });
  const input = await parseJsonBody(req, FacebookAdsSyncBody);
  const access = await adAccountForMember(user.id, input.adAccountId, "sync");
  await takeQuota("sync", { adAccountId: access.id });
  return json(200, await syncAdAccount(access, metricsRange(input)));
}));
