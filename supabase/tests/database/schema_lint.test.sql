-- Supabase's database linter (splinter), applied to the migrated schema: every lint at WARN or
-- ERROR that can apply to adrail, each written again here in our own SQL and named for the lint it
-- mirrors, so the hosted linter finds nothing above INFO but the one WARN explained at 0029.
-- Most checks are at least as strict as the lint: they cover adrail's schemas (public and
-- private), and the exposure checks take PostgREST's exposed schemas from supabase/config.toml
-- ([api] schemas: public).
--
-- Each lint is a temp view listing its offenders (`offender`), read twice: on the schema as
-- migrated, where it must be empty, then after one offender per lint is planted (all rolled
-- back), where it must name that offender, so no check passes because its query sees nothing.
--
-- Left out: the INFO lints (0004 no_primary_key, 0005 unused_index, 0008 rls_enabled_no_policy,
-- 0012 auth_allow_anonymous_sign_ins, 0020 table_bloat, 0030 autovacuum_disabled) except 0001
-- below; 0019 insecure_queue_exposed_in_api (pgmq: adrail has no queues); 0025
-- public_bucket_allows_listing (Storage: adrail has no buckets); 0031 unused_replication_slot
-- (the server's replication slots, not the schema).
begin;
select plan(48);

-- Deparsed policies name every schema (auth.uid(), not uid()) whatever the caller's search_path.
set local search_path = extensions;

create temp table sl_own_schemas (nsp name primary key) on commit drop;
insert into sl_own_schemas values ('public'), ('private');
-- What PostgREST serves (supabase/config.toml, [api] schemas).
create temp table sl_api_schemas (nsp name primary key) on commit drop;
insert into sl_api_schemas values ('public');
create temp table sl_client_roles (role name primary key) on commit drop;
insert into sl_client_roles values ('anon'), ('authenticated');

-- Relations and functions of adrail's schemas, and what the client roles may do with them.
create temp view sl_relations as
select c.oid, format('%I.%I', n.nspname, c.relname) as name, n.nspname, c.relkind,
       c.relrowsecurity, c.reloptions,
       exists (select 1 from sl_client_roles r where has_table_privilege(r.role, c.oid, 'SELECT'))
         as client_selectable
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname in (select nsp from sl_own_schemas);

create temp view sl_functions as
select p.oid, p.oid::regprocedure::text as name, p.prosecdef, p.proconfig
from pg_catalog.pg_proc p
where p.pronamespace in (select oid from pg_catalog.pg_namespace where nspname in (select nsp from sl_own_schemas));

-- Policies of adrail's tables, their expressions as text, and whether they bind a client role
-- (a policy for PUBLIC binds them too).
create temp view sl_policies as
select format('%s %I', r.name, p.polname) as name, r.name as table_name, r.relrowsecurity,
       p.polname, p.polpermissive, p.polcmd, p.polroles,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_expr,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check_expr,
       (p.polroles = '{0}' or exists (
         select 1 from sl_client_roles c where to_regrole(c.role)::oid = any (p.polroles))) as binds_clients
from pg_catalog.pg_policy p
join sl_relations r on r.oid = p.polrelid;

-- 0001 unindexed_foreign_keys (INFO): a foreign key whose columns do not lead a valid index, so
-- deleting a parent or joining on the key scans the child. Stricter than the lint: a partial
-- index counts only if its predicate is `<key column> IS NOT NULL` (which any lookup by the key
-- implies).
create temp view lint_0001 as
select format('%s %I', r.name, k.conname) as offender
from pg_catalog.pg_constraint k
join sl_relations r on r.oid = k.conrelid
where k.contype = 'f'
  and not exists (
    select 1 from pg_catalog.pg_index i
    where i.indrelid = k.conrelid and i.indisvalid
      and array(select unnest(i.indkey::int2[]) limit cardinality(k.conkey)) = k.conkey
      and (i.indpred is null
           or regexp_replace(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '[()]', '', 'g') in (
             select format('%I IS NOT NULL', a.attname) from pg_catalog.pg_attribute a
             where a.attrelid = k.conrelid and a.attnum = any (k.conkey))));

-- 0002 auth_users_exposed: a view or materialized view built on auth.users that a client may read.
create temp view lint_0002 as
select distinct r.name as offender
from pg_catalog.pg_depend d
join pg_catalog.pg_rewrite w on d.classid = 'pg_catalog.pg_rewrite'::regclass and w.oid = d.objid
join sl_relations r on r.oid = w.ev_class
where d.refobjid = 'auth.users'::regclass and r.relkind in ('v', 'm') and r.client_selectable;

-- 0003 auth_rls_initplan: a policy calling auth.uid(), auth.jwt(), auth.role(), auth.email() or
-- current_setting() outside a scalar subquery, so it runs once per row instead of once per query.
-- Every call must be wrapped, not only one of them.
create temp view lint_0003 as
select p.name as offender
from sl_policies p,
     lateral (select concat_ws(' ', p.using_expr, p.check_expr) as expr) e
where regexp_count(e.expr, '(auth\.(uid|jwt|role|email)|current_setting)\(')
      > regexp_count(e.expr, '\(\s*select\s+(auth\.(uid|jwt|role|email)|current_setting)\(', 1, 'i');

-- 0006 multiple_permissive_policies: two permissive policies for one role and one command, both
-- evaluated for every row. Roles that bypass RLS and Postgres's pg_* roles are not concerned.
create temp view lint_0006 as
select format('%s: %s %s (%s)', p.table_name, r.rolname, c.cmd,
              string_agg(quote_ident(p.polname), ', ' order by p.polname)) as offender
from sl_policies p
join pg_catalog.pg_roles r on p.polroles = '{0}' or r.oid = any (p.polroles)
cross join lateral unnest(case p.polcmd
  when '*' then array['select', 'insert', 'update', 'delete']
  when 'r' then array['select'] when 'a' then array['insert']
  when 'w' then array['update'] when 'd' then array['delete'] end) c(cmd)
where p.polpermissive and not r.rolbypassrls and r.rolname !~ '^pg_'
group by p.table_name, r.rolname, c.cmd
having count(*) > 1;

-- 0007 policy_exists_rls_disabled: policies on a table whose RLS is off (they do nothing).
create temp view lint_0007 as
select distinct p.table_name as offender from sl_policies p where not p.relrowsecurity;

-- 0009 duplicate_index: two indexes of one table alike in everything but their name.
create temp view lint_0009 as
select format('%s: %s', r.name, string_agg(i.indexrelid::regclass::text, ', ' order by i.indexrelid::regclass::text))
       as offender
from pg_catalog.pg_index i
join sl_relations r on r.oid = i.indrelid
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
group by r.name, ic.relam, i.indisunique, i.indkey::text, i.indclass::text, i.indcollation::text,
         i.indoption::text, pg_catalog.pg_get_expr(i.indexprs, i.indrelid),
         pg_catalog.pg_get_expr(i.indpred, i.indrelid)
having count(*) > 1;

-- 0010 security_definer_view: a view a client may read that runs as its owner (no
-- security_invoker), so the RLS of the tables under it does not apply to the client.
create temp view lint_0010 as
select r.name as offender
from sl_relations r
where r.relkind = 'v' and r.client_selectable
  and not exists (
    select 1 from unnest(r.reloptions) o
    where lower(o) in ('security_invoker=on', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=1'));

-- 0011 function_search_path_mutable: a function that takes its search_path from the caller.
create temp view lint_0011 as
select f.name as offender
from sl_functions f
where not exists (select 1 from unnest(f.proconfig) s where s like 'search_path=%');

-- 0013 rls_disabled_in_public: a table PostgREST serves without RLS.
create temp view lint_0013 as
select r.name as offender
from sl_relations r
where r.relkind in ('r', 'p') and not r.relrowsecurity and r.nspname in (select nsp from sl_api_schemas);

-- 0014 extension_in_public: an extension whose objects land in adrail's schemas (they belong in
-- `extensions`).
create temp view lint_0014 as
select e.extname::text as offender
from pg_catalog.pg_extension e
join pg_catalog.pg_namespace n on n.oid = e.extnamespace
where n.nspname in (select nsp from sl_own_schemas) and e.extname <> 'plpgsql';

-- 0015 rls_references_user_metadata: a policy reading the user metadata, which every user may
-- write for themselves (auth.jwt() -> 'user_metadata', auth.users.raw_user_meta_data).
create temp view lint_0015 as
select p.name as offender
from sl_policies p
where concat_ws(' ', p.using_expr, p.check_expr) ~* 'user_metadata|raw_user_meta_data';

-- 0016 materialized_view_in_api: a materialized view a client may read (RLS cannot guard it).
create temp view lint_0016 as
select r.name as offender from sl_relations r where r.relkind = 'm' and r.client_selectable;

-- 0017 foreign_table_in_api: a foreign table a client may read (RLS cannot guard it either).
create temp view lint_0017 as
select r.name as offender from sl_relations r where r.relkind = 'f' and r.client_selectable;

-- 0018 unsupported_reg_types: a column of a reg* type whose OIDs pg_upgrade cannot carry over,
-- which would block the project's Postgres upgrades.
create temp view lint_0018 as
select format('%s.%I %s', r.name, a.attname, a.atttypid::regtype) as offender
from pg_catalog.pg_attribute a
join sl_relations r on r.oid = a.attrelid
where a.attnum > 0 and not a.attisdropped
  and a.atttypid in ('regcollation'::regtype, 'regconfig'::regtype, 'regdictionary'::regtype,
                     'regnamespace'::regtype, 'regoper'::regtype, 'regoperator'::regtype,
                     'regproc'::regtype, 'regprocedure'::regtype);

-- 0021 fkey_to_auth_unique: a foreign key to a unique key of the auth schema other than a primary
-- key; Supabase Auth may change those constraints in its own upgrades.
create temp view lint_0021 as
select format('%s %I', r.name, k.conname) as offender
from pg_catalog.pg_constraint k
join sl_relations r on r.oid = k.conrelid
join pg_catalog.pg_class target on target.oid = k.confrelid
join pg_catalog.pg_index i on i.indexrelid = k.conindid
where k.contype = 'f' and target.relnamespace = 'auth'::regnamespace and not i.indisprimary;

-- 0022 extension_versions_outdated: an installed extension behind the version the server offers.
create temp view lint_0022 as
select format('%s %s (default %s)', e.name, e.installed_version, e.default_version) as offender
from pg_catalog.pg_available_extensions e
where e.installed_version <> e.default_version;

-- 0023 sensitive_columns_exposed: a column named for a credential, a personal identifier, a
-- payment, health or device detail or a key, that a client may read. Stricter than the lint,
-- which spares tables with RLS: no client may read such a column at all.
create temp view lint_0023 as
select format('%s.%I', r.name, a.attname) as offender
from pg_catalog.pg_attribute a
join sl_relations r on r.oid = a.attrelid
where a.attnum > 0 and not a.attisdropped
  and exists (select 1 from sl_client_roles c where has_column_privilege(c.role, r.oid, a.attnum, 'SELECT'))
  and replace(lower(a.attname), '-', '_') ~ ('^(' || concat_ws('|',
    -- credentials and sessions
    'password', 'passwd', 'pwd', 'passphrase', 'secret', 'secret_key', 'private_key', 'api_?key',
    'auth_key', 'auth_code', 'token', 'jwt', '(access|refresh|oauth|session|bearer)_token',
    'session_(id|key|secret)', '(recovery|backup|verification)_code', 'otp', 'two_factor',
    '2fa_(secret|code)',
    -- personal identifiers
    'ssn', 'social_security(_number)?', 'drivers?_license', 'license_number', 'passport_(number|id)',
    'national_id', 'tax_id',
    -- payments
    'credit_card', 'card_number', 'cvv', 'cvc', 'cvn', 'bank_account', 'account_number',
    'routing_number', 'iban', 'swift_code', 'bic',
    -- health
    'health_record', 'medical_record', 'patient_id', '(health_|medical_)?insurance(_number)?',
    'treatment',
    -- devices, keys, biometrics
    'mac_?address', 'macaddr', 'imei', 'device_uuid', '(pgp|gpg|ssh|license|activation)_key',
    'certificate', 'facial_recognition') || ')$');

-- 0024 rls_policy_always_true / permissive_rls_policy: a permissive policy binding a client role
-- that lets every row through: a tautological USING or WITH CHECK, a SELECT (or ALL) with no
-- USING, an INSERT with no WITH CHECK. Stricter than rls_policy_always_true, which spares
-- `for select using (true)`.
create temp view lint_0024 as
select p.name as offender
from sl_policies p,
     lateral (select regexp_replace(lower(coalesce(p.using_expr, '')), '[\s()]', '', 'g') as using_text,
                     regexp_replace(lower(coalesce(p.check_expr, '')), '[\s()]', '', 'g') as check_text) t
where p.polpermissive and p.binds_clients
  and (t.using_text in ('true', '1=1') or t.using_text ~ $$^('[^']*'(::\w+)?)=\1$$
       or t.check_text in ('true', '1=1') or t.check_text ~ $$^('[^']*'(::\w+)?)=\1$$
       or (p.using_expr is null and p.polcmd in ('r', '*'))
       or (p.check_expr is null and p.polcmd = 'a'));

-- 0025 pg17_deprecated_extensions: an extension Supabase's Postgres 17 images no longer carry.
create temp view lint_0025 as
select e.extname::text as offender
from pg_catalog.pg_extension e
where e.extname in ('plv8', 'timescaledb', 'adminpack');

-- 0026 pg_graphql_anon_table_exposed / 0027 pg_graphql_authenticated_table_exposed: with
-- pg_graphql installed, every relation a client role may read any column of is listed by
-- /graphql/v1 introspection. Hosted projects come with pg_graphql; adrail's migrations drop it
-- (20261204600100_drop_pg_graphql.sql: clients use PostgREST and the functions). The local server
-- has no pg_graphql, so here these checks can only fail if something installs it.
create temp view lint_0026_0027 as
select c.role, r.name as offender
from sl_relations r
cross join sl_client_roles c
where exists (select 1 from pg_catalog.pg_extension where extname = 'pg_graphql')
  and r.relkind in ('r', 'p', 'v', 'm', 'f')
  and exists (
    select 1 from pg_catalog.pg_attribute a
    where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
      and has_column_privilege(c.role, r.oid, a.attnum, 'SELECT'));

-- 0028 anon_security_definer_function_executable / 0029 authenticated_...: a security definer
-- function (it runs as its owner and bypasses RLS) that a client role may execute.
create temp view lint_0028_0029 as
select c.role, f.name as offender
from sl_functions f
cross join sl_client_roles c
where f.prosecdef and has_function_privilege(c.role, f.oid, 'EXECUTE');

-- 0030 invalid_index: an index left invalid (a failed concurrent build): maintained, never used.
create temp view lint_0030_invalid_index as
select i.indexrelid::regclass::text as offender
from pg_catalog.pg_index i
join sl_relations r on r.oid = i.indrelid
where not i.indisvalid;

-- 0030 rls_policy_null_auth_disjunct: a permissive read policy binding a client role that tests
-- an auth function (or current_setting(..., true)) for NULL: true for every session without a
-- user, so it opens every row to anon. Stricter than the lint, which looks at top-level ORs only:
-- any such test is flagged.
create temp view lint_0030_null_auth as
select p.name as offender
from sl_policies p
where p.polpermissive and p.binds_clients and p.polcmd in ('r', '*')
  and p.using_expr ~* (
    '(\(\s*select\s+)?(auth\.(uid|jwt|role)\(\)|current_setting\([^)]*,\s*true\))(\s+as\s+\w+\))?\s+is\s+null'
    || '|not\s*\(\s*(auth\.(uid|jwt|role)\(\)|current_setting\([^)]*,\s*true\))\s+is\s+not\s+null');

-- =============================================================================================
-- The schema as migrated
-- =============================================================================================
select cmp_ok((select count(*)::int from sl_policies), '>=', 15,
  'the policy lints below read adrail''s policies (at least the 15 of the base schema)');
select is_empty('select * from lint_0001',
  '0001 unindexed_foreign_keys (INFO): every foreign key in public or private leads a valid index');
select is_empty('select * from lint_0002',
  '0002 auth_users_exposed: no view a client may read is built on auth.users');
select is_empty('select * from lint_0003',
  '0003 auth_rls_initplan: every auth.uid()/auth.jwt()/current_setting() in a policy is wrapped in (select ...)');
select is_empty('select * from lint_0006',
  '0006 multiple_permissive_policies: at most one permissive policy per table, role and command');
select is_empty('select * from lint_0007',
  '0007 policy_exists_rls_disabled: no table in public or private has policies with RLS off');
select is_empty('select * from lint_0009',
  '0009 duplicate_index: no table in public or private has two identical indexes');
select is_empty('select * from lint_0010',
  '0010 security_definer_view: every view a client may read is security_invoker');
select is_empty('select * from lint_0011',
  '0011 function_search_path_mutable: no function in public or private has a mutable search_path');
select is_empty('select * from lint_0013',
  '0013 rls_disabled_in_public: RLS is on for every table PostgREST serves');
select is_empty('select * from lint_0014',
  '0014 extension_in_public: no extension is installed in public or private');
select is_empty('select * from lint_0015',
  '0015 rls_references_user_metadata: no policy reads user-editable metadata');
select is_empty('select * from lint_0016',
  '0016 materialized_view_in_api: no materialized view is readable by a client');
select is_empty('select * from lint_0017',
  '0017 foreign_table_in_api: no foreign table is readable by a client');
select is_empty('select * from lint_0018',
  '0018 unsupported_reg_types: no column in public or private has a reg* type pg_upgrade refuses');
select is_empty('select * from lint_0021',
  '0021 fkey_to_auth_unique: every foreign key to auth references a primary key');
select is_empty('select * from lint_0022',
  '0022 extension_versions_outdated: every installed extension is at its default version');
select is_empty('select * from lint_0023',
  '0023 sensitive_columns_exposed: no client may read a column named for a secret or personal data');
select is_empty('select * from lint_0024',
  '0024 rls_policy_always_true / permissive_rls_policy: no client policy lets every row through');
select is_empty('select * from lint_0025',
  '0025 pg17_deprecated_extensions: no extension Postgres 17 images drop is installed');
select is_empty($$ select offender from lint_0026_0027 where role = 'anon' $$,
  '0026 pg_graphql_anon_table_exposed: GraphQL introspection lists nothing to anon');
select is_empty($$ select offender from lint_0026_0027 where role = 'authenticated' $$,
  '0027 pg_graphql_authenticated_table_exposed: GraphQL introspection lists nothing to signed-in users');
select is_empty($$ select offender from lint_0028_0029 where role = 'anon' $$,
  '0028 anon_security_definer_function_executable: anon may execute no security definer function');
-- private.current_user_ad_account_ids() is the one exception, by design (the hosted linter, which
-- looks at every schema, shows it as a WARN): every policy calls it as the signed-in user, so
-- authenticated must execute it, and it must be security definer to read ad_account_members past
-- that table's own policy (which calls it: no recursion). It returns the caller's own account ids
-- only, and private is not served by PostgREST.
select set_eq(
  $$ select offender from lint_0028_0029 where role = 'authenticated' $$,
  $$ values ('private.current_user_ad_account_ids()') $$,
  '0029 authenticated_security_definer_function_executable: authenticated may execute no security definer function but private.current_user_ad_account_ids()');
select is_empty('select * from lint_0030_invalid_index',
  '0030 invalid_index: no index in public or private is invalid');
select is_empty('select * from lint_0030_null_auth',
  '0030 rls_policy_null_auth_disjunct: no client read policy is true when the auth functions are NULL');

-- =============================================================================================
-- One offender planted per lint: each check names it
-- =============================================================================================
create table public.sl_unguarded (
  id uuid primary key,
  owner_id uuid,
  ad_account_id uuid references public.ad_accounts (id),
  password text,
  handler regproc
);
grant select on public.sl_unguarded to anon;
create policy "sl policy without rls" on public.sl_unguarded for select to authenticated
  using (owner_id = (select auth.uid()));

create table public.sl_guarded (id uuid primary key, owner_id uuid);
alter table public.sl_guarded enable row level security;
create policy "sl unwrapped uid" on public.sl_guarded for select to authenticated
  using (owner_id = auth.uid());
create policy "sl second read" on public.sl_guarded for select to authenticated
  using (owner_id = (select auth.uid()));
create policy "sl metadata role" on public.sl_guarded for update to authenticated
  using (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin')
  with check (owner_id = (select auth.uid()));
create policy "sl open insert" on public.sl_guarded for insert to anon with check (true);
create policy "sl null uid" on public.sl_guarded for select to anon
  using ((select auth.uid()) is null or owner_id = (select auth.uid()));
create index sl_guarded_owner_a on public.sl_guarded (owner_id);
create index sl_guarded_owner_b on public.sl_guarded (owner_id);
create index sl_guarded_invalid on public.sl_guarded (id, owner_id);
-- What a failed `create index concurrently` leaves behind (rolled back with the rest).
update pg_catalog.pg_index set indisvalid = false where indexrelid = 'public.sl_guarded_invalid'::regclass;

create view public.sl_user_emails with (security_invoker = on) as select id, email from auth.users;
grant select on public.sl_user_emails to authenticated;
create view public.sl_owner_view as select id from public.sl_guarded;
grant select on public.sl_owner_view to anon;
create materialized view public.sl_matview as select 1 as x;
grant select on public.sl_matview to anon;
create foreign data wrapper sl_fdw;
create server sl_server foreign data wrapper sl_fdw;
create foreign table public.sl_foreign (x int) server sl_server;
grant select on public.sl_foreign to authenticated;

create function public.sl_mutable() returns int language sql as 'select 1';
create function public.sl_definer() returns int language sql security definer set search_path = ''
  as 'select 1';

create table auth.sl_identities (id uuid primary key, handle text unique);
create table public.sl_handles (handle text references auth.sl_identities (handle));

create extension "uuid-ossp" with schema public;
create extension citext with schema extensions version '1.5';
create extension adminpack;

select set_has('select offender from lint_0001',
  $$ values ('public.sl_unguarded sl_unguarded_ad_account_id_fkey') $$, '0001 names a foreign key with no index');
select set_has('select offender from lint_0002',
  $$ values ('public.sl_user_emails') $$, '0002 names a readable view on auth.users');
select set_has('select offender from lint_0003',
  $$ values ('public.sl_guarded "sl unwrapped uid"') $$, '0003 names a policy calling auth.uid() per row');
select set_has('select offender from lint_0006',
  $$ values ('public.sl_guarded: authenticated select ("sl second read", "sl unwrapped uid")') $$,
  '0006 names two permissive select policies for authenticated');
select set_has('select offender from lint_0007',
  $$ values ('public.sl_unguarded') $$, '0007 names a table with a policy and RLS off');
select set_has('select offender from lint_0009',
  $$ values ('public.sl_guarded: public.sl_guarded_owner_a, public.sl_guarded_owner_b') $$, '0009 names two identical indexes');
select set_has('select offender from lint_0010',
  $$ values ('public.sl_owner_view') $$, '0010 names a readable view without security_invoker');
select set_has('select offender from lint_0011',
  $$ values ('public.sl_mutable()') $$, '0011 names a function without a search_path');
select set_has('select offender from lint_0013',
  $$ values ('public.sl_unguarded') $$, '0013 names a public table without RLS');
select set_has('select offender from lint_0014',
  $$ values ('uuid-ossp') $$, '0014 names an extension installed in public');
select set_has('select offender from lint_0015',
  $$ values ('public.sl_guarded "sl metadata role"') $$, '0015 names a policy reading user_metadata');
select set_has('select offender from lint_0016',
  $$ values ('public.sl_matview') $$, '0016 names a readable materialized view');
select set_has('select offender from lint_0017',
  $$ values ('public.sl_foreign') $$, '0017 names a readable foreign table');
select set_has('select offender from lint_0018',
  $$ values ('public.sl_unguarded.handler regproc') $$, '0018 names a regproc column');
select set_has('select offender from lint_0021',
  $$ values ('public.sl_handles sl_handles_handle_fkey') $$, '0021 names a foreign key to an auth unique key');
select set_has('select offender from lint_0022',
  $$ values ('citext 1.5 (default 1.6)') $$, '0022 names an extension behind its default version');
select set_has('select offender from lint_0023',
  $$ values ('public.sl_unguarded.password') $$, '0023 names a readable password column');
select set_has('select offender from lint_0024',
  $$ values ('public.sl_guarded "sl open insert"') $$, '0024 names an insert policy with check (true)');
select set_has('select offender from lint_0025',
  $$ values ('adminpack') $$, '0025 names adminpack');
select set_has('select role, offender from lint_0028_0029',
  $$ values ('anon'::name, 'public.sl_definer()'), ('authenticated', 'public.sl_definer()') $$,
  '0028 and 0029 name a security definer function clients may execute');
select set_has('select offender from lint_0030_invalid_index',
  $$ values ('public.sl_guarded_invalid') $$, '0030 invalid_index names an invalid index');
select set_has('select offender from lint_0030_null_auth',
  $$ values ('public.sl_guarded "sl null uid"') $$, '0030 rls_policy_null_auth_disjunct names a policy true for anon');

select * from finish();
rollback;
