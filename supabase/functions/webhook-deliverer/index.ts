// POST /webhook-deliverer {}: delivers the webhook outbox's due events. pg_cron calls it every
// minute through pg_net with x-cron-secret (verify_jwt is off for this function: the cron secret
// is not a JWT); the service role may call it too. It answers at once and delivers in the
// background: a run waits for short retries.
import { authenticateService } from "../_shared/platform/auth.ts";
import { runInBackground } from "../_shared/platform/background-task.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson } from "../_shared/platform/http.ts";
import { withLogContext } from "../_shared/platform/log.ts";
import { DelivererBody, runWebhookDeliverer } from "../_shared/webhooks/webhook-delivery.ts";

Deno.serve(serveJson("webhook-deliverer", async (req) => {
  await authenticateService(req);
  if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
  await parseJsonBody(req, DelivererBody, {});
  const runId = crypto.randomUUID();
  withLogContext(
    { runId },
    () => runInBackground("webhook deliverer", () => runWebhookDeliverer(runId)),
  );
  return json(200, { started: true, runId });
}));
