// POST /ad-accounts connects an ad account (token checked with Meta, stored encrypted, caller
// becomes owner: 201) or lets its owner replace the token (200); GET /ad-accounts lists the
// caller's accounts.
import { authenticateUser } from "../_shared/auth.ts";
import { connectAdAccount, ConnectAdAccountBody, listAdAccounts } from "../_shared/ad-accounts.ts";
import { AdrailError } from "../_shared/errors.ts";
import { json, parseJsonBody, serveJson, subPath } from "../_shared/http.ts";
import { takeQuota } from "../_shared/request-limits.ts";

Deno.serve(serveJson("ad-accounts", async (req) => {
  const user = await authenticateUser(req, { write: req.method !== "GET" });
  if (subPath(req, "ad-accounts") !== "/") throw new AdrailError("not_found", "no such route");
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
