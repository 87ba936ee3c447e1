// POST /ad-accounts connects an ad account (token checked with Meta, stored encrypted, caller
// becomes owner: 201) or lets its owner replace the token (200); GET /ad-accounts lists the
// caller's accounts; POST /ad-accounts/webhook { adAccountId, url } sets (or, url null, removes)
// the account's completion webhook, for its owners: the signing secret is answered this once.
import { authenticateUser } from "../_shared/platform/auth.ts";
import {
  connectAdAccount,
  ConnectAdAccountBody,
  listAdAccounts,
} from "../_shared/accounts/ad-accounts.ts";
import { AdrailError } from "../_shared/platform/errors.ts";
import { json, parseJsonBody, serveJson, subPath } from "../_shared/platform/http.ts";
import { takeQuota } from "../_shared/platform/request-limits.ts";
import { setAccountWebhook, SetWebhookBody } from "../_shared/webhooks/webhook-settings.ts";

Deno.serve(serveJson("ad-accounts", async (req) => {
  const user = await authenticateUser(req, { write: req.method !== "GET" });
  const route = subPath(req, "ad-accounts");
  if (route === "/webhook") {
    if (req.method !== "POST") throw new AdrailError("method_not_allowed", "use POST");
    await takeQuota("connect", { userId: user.id });
    const input = await parseJsonBody(req, SetWebhookBody);
    return json(200, await setAccountWebhook(user.id, input));
  }
  if (route !== "/") throw new AdrailError("not_found", "no such route");
  if (req.method === "GET") {
    await takeQuota("read", { userId: user.id });
    return json(200, { accounts: await listAdAccounts(user.id) });
  }
  if (req.method === "POST") {
    await takeQuota("connect", { userId: user.id });
    const input = await parseJsonBody(req, ConnectAdAccountBody);
    const { account, created } = await connectAdAccount(user.id, input);
    return json(created ? 201 : 200, account);
  }
  throw new AdrailError("method_not_allowed", "use GET or POST");
}));
