// POST /safety-net { lookbackDays? }: every final sync still owed, across all accounts, and the
// creation jobs whose worker died. Service role or pg_cron's secret only.
import { authenticateService } from "../_shared/platform/auth.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson } from "../_shared/platform/http.ts";
import { runSafetyNet, SafetyNetBody } from "../_shared/sync/safety-net.ts";

Deno.serve(serveJson("safety-net", async (req) => {
  await authenticateService(req);
  if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
  const input = await parseJsonBody(req, SafetyNetBody);
  return json(200, await runSafetyNet(input.lookbackDays));
}));
