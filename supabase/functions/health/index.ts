// GET /health: 200 when the platform keeps up, 503 when the database is unreachable, pg_cron has
// stopped ticking while creation jobs wait, or a job has waited too long. No JWT (verify_jwt off):
// it answers counts and ages only.
import { AdrailError } from "../_shared/platform/errors.ts";
import { checkHealth } from "../_shared/platform/health.ts";
import { json, serveJson } from "../_shared/platform/http.ts";

Deno.serve(serveJson("health", async (req) => {
  if (req.method !== "GET") throw new AdrailError("method_not_allowed", "use GET");
  const report = await checkHealth();
  return json(report.healthy ? 200 : 503, report, { "Cache-Control": "no-store" });
}));
