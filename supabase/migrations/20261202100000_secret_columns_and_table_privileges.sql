-- Secrets out of the API's reach, and no table privilege that clients never need.
--
-- 1. The ciphertext columns of public.ad_accounts (access_token_ciphertext,
--    app_secret_ciphertext): no client role (anon, authenticated) may select, insert or update
--    them. Only the functions read and write them, over the direct database connection. A
--    table-level grant covers every column, so the table-level SELECT, INSERT and UPDATE are
--    revoked and granted again on each other column: RLS still decides which rows a member
--    reads (and still refuses every client write), as on every other table. Through PostgREST a
--    client names its columns; `select=*` is refused.
-- 2. TRUNCATE, REFERENCES and TRIGGER: no client needs them, and two of them act around RLS (a
--    TRUNCATE empties a table whatever its policies; a trigger runs on everyone's writes).
--    Revoked from anon and authenticated on every table and view of public, and from the
--    default privileges of the role running the migrations, so later tables do not get them.
--
-- Idempotent: revokes and grants can run again.

revoke select, insert, update on public.ad_accounts from anon, authenticated;

do $$
declare
  other_columns text;
begin
  select string_agg(quote_ident(a.attname), ', ' order by a.attnum)
  into other_columns
  from pg_catalog.pg_attribute a
  where a.attrelid = 'public.ad_accounts'::regclass
    and a.attnum > 0
    and not a.attisdropped
    and a.attname not in ('access_token_ciphertext', 'app_secret_ciphertext');
  execute format(
    'grant select (%1$s), insert (%1$s), update (%1$s) on public.ad_accounts to anon, authenticated',
    other_columns);
end;
$$;

revoke truncate, references, trigger on all tables in schema public from anon, authenticated;
alter default privileges in schema public
  revoke truncate, references, trigger on tables from anon, authenticated;

comment on column public.ad_accounts.access_token_ciphertext is
  'The Meta access token, AES-256-GCM: v1:<key id>:base64(iv || ciphertext || tag), the key id the first 8 hex digits of SHA-256 of the key (TOKEN_ENCRYPTION_KEY when written), the associated data adrail:ad_accounts:<platform>:<platform_account_id>:access_token_ciphertext. Rows written before key ids are bare base64 without associated data (deno task rotate-token-key rewrites them). Readable by no client role.';
comment on column public.ad_accounts.app_secret_ciphertext is
  'The app secret (appsecret_proof), when given: encrypted as access_token_ciphertext, its associated data ending in app_secret_ciphertext. Readable by no client role.';
