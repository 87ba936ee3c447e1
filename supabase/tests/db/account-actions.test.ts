// The actions in supabase/functions/_shared/accounts/ad-account-access.ts, checked against SQL: accountActions
// names exactly the actions private.account_role_actions knows (its check constraint), none missing,
// none extra, and every one of them is allowed to some role.
import assert from "node:assert/strict";
import postgres from "postgres";
import { accountActions } from "../../functions/_shared/accounts/ad-account-access.ts";
import { databaseUrl } from "../_support/stack.ts";

Deno.test("accountActions are the actions of private.account_role_actions", async () => {
  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  try {
    const [{ definition }] = await sql<{ definition: string }[]>`
      select pg_get_constraintdef(c.oid) as definition from pg_constraint c
      where c.conrelid = 'private.account_role_actions'::regclass and c.contype = 'c'
        and pg_get_constraintdef(c.oid) like '%action%'`;
    const known = [...definition.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]).sort();
    assert.deepEqual([...accountActions].sort(), known);
    const granted = await sql<{ action: string }[]>`
      select distinct action from private.account_role_actions order by action`;
    assert.deepEqual(granted.map((r) => r.action), known, "every action is some role's");
  } finally {
    await sql.end();
  }
});
