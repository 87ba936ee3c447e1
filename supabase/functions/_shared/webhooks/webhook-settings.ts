// An ad account's completion webhook, set by an owner: the URL (webhook-url.ts decides which are
// allowed) and a signing secret made here, answered once and stored only encrypted (token-crypto.ts,
// bound to the account's webhook_secret_ciphertext column). Setting it again makes a new secret;
// a null URL removes the webhook.
import { z } from "zod";
import { accessRefusal } from "../accounts/ad-account-access.ts";
import { db } from "../platform/db.ts";
import { AdrailError } from "../platform/errors.ts";
import { encryptSecret, secretSlots } from "../platform/token-crypto.ts";
import { checkWebhookUrl } from "./webhook-url.ts";
import { signatureHeader } from "./webhook-signature.ts";

/** The events a webhook receives (webhook_outbox.event_type). */
export const webhookEvents = [
  "job.completed",
  "job.failed",
  "job.rolled_back",
  "job.awaiting_confirmation",
  "job.rollback_blocked",
  "sync.completed",
  "sync.failed",
] as const;

export const SetWebhookBody = z.object({
  adAccountId: z.string().regex(/^act_[0-9]{1,20}$/, "must look like act_<digits>"),
  url: z.string().max(2048).nullable(),
}).strict();
export type SetWebhookInput = z.infer<typeof SetWebhookBody>;

export type WebhookSetting = {
  adAccountId: string;
  url: string | null;
  /** Shown this once: only its ciphertext is kept. */
  secret?: string;
  signatureHeader: string;
  events: readonly string[];
};

const platform = "facebook";

function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")}`
    .replace(/=+$/, "");
}

export async function setAccountWebhook(
  userId: string,
  input: SetWebhookInput,
): Promise<WebhookSetting> {
  let url: string | null = null;
  if (input.url !== null) {
    const check = checkWebhookUrl(input.url);
    if (!check.ok) {
      throw new AdrailError("invalid_body", "the request body is invalid", {
        issues: [{ path: "url", message: `the webhook URL ${check.reason}` }],
      });
    }
    url = check.url;
  }
  const [account] = await db()<{ id: string }[]>`
    select id from public.ad_accounts
    where platform = ${platform} and platform_account_id = ${input.adAccountId}`;
  const secret = url === null ? undefined : newSigningSecret();
  const ciphertext = secret === undefined
    ? null
    : await encryptSecret(secret, secretSlots(platform, input.adAccountId).webhookSecret);
  await db()`
    select public.set_ad_account_webhook(${userId}, ${account?.id ?? null}, ${url}, ${ciphertext})`
    .catch((error) => {
      throw accessRefusal(
        error,
        `ad account ${input.adAccountId}`,
        `your role on ad account ${input.adAccountId} does not allow manage_webhook`,
      );
    });
  return {
    adAccountId: input.adAccountId,
    url,
    ...(secret === undefined ? {} : { secret }),
    signatureHeader,
    events: webhookEvents,
  };
}
