// POST /creation-worker {concurrency?}: runs due creation jobs. pg_cron calls it every minute
// through pg_net with x-cron-secret (verify_jwt is off for this function: the cron secret is not
// a JWT); the service role may call it too. It answers at once and works in the background:
// pg_net waits seconds for an answer, a run may take minutes.
import { authenticateService } from "../_shared/platform/auth.ts";
import { startWorkerInBackground, WorkerBody } from "../_shared/creation/creation-worker.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson } from "../_shared/platform/http.ts";

Deno.serve(serveJson("creation-worker", async (req) => {
  await authenticateService(req);
  if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
  const options = await parseJsonBody(req, WorkerBody, {});
  const runId = startWorkerInBackground(options);
  return json(200, { started: true, runId });
}));
