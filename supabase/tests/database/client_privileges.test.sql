-- What client roles (anon, authenticated: PostgREST's roles) may not do, tried as PostgREST would
-- run it (set role plus the JWT's claims): read or write the ciphertext columns of ad_accounts,
-- TRUNCATE a table, put a TRIGGER on one or REFERENCE one. Each attempt is refused, and nothing
-- changed: every public table's rows, its triggers, and no table was created.
--
-- Account A (act_91000601): cp_owner (owner, token and app secret stored), cp_member (viewer).
-- Account B (act_91000602): cp_stranger (owner).
begin;
-- 22 checks, plus two for each table of public (refused truncate, unchanged rows).
select plan(22 + 2 * (
  select count(*)::int from pg_catalog.pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')));

select tests.create_supabase_user('cp_owner') as owner_id \gset
select tests.create_supabase_user('cp_member') as member_id \gset
select tests.create_supabase_user('cp_stranger') as stranger_id \gset
select tests.create_ad_account('cp_owner', 'act_91000601') as acct_a \gset
select tests.create_ad_account('cp_stranger', 'act_91000602') as acct_b \gset
select tests.add_ad_account_member('act_91000601', 'cp_member', 'viewer');
update public.ad_accounts
set access_token_ciphertext = 'v1:0badc0de:A-token', app_secret_ciphertext = 'v1:0badc0de:A-secret'
where id = :'acct_a';
insert into public.ad_metrics_daily (entity_type, platform_entity_id, ad_account_id, date, impressions)
values ('ad', 'cp-a-ad', :'acct_a', '2026-11-01', 10);

-- A schema a client may create tables in (none by default): the only way to try REFERENCES.
create schema cp_scratch;
grant usage, create on schema cp_scratch to authenticated;

-- Everything the attempts below could change, as the database owner sees it.
create temp table cp_before on commit drop as
select c.relname::text as tbl,
       (select count(*) from pg_catalog.pg_trigger t where t.tgrelid = c.oid) as triggers
from pg_catalog.pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p');
alter table cp_before add column fingerprint text;
do $$
declare
  t record;
begin
  for t in select tbl from cp_before loop
    execute format(
      'update cp_before set fingerprint = (select md5(coalesce(string_agg(x::text, %L order by x::text), %L)) from public.%I x) where tbl = %L',
      '|', '', t.tbl, t.tbl);
  end loop;
end;
$$;

create temp table cp_secret_columns (col text) on commit drop;
insert into cp_secret_columns values ('access_token_ciphertext'), ('app_secret_ciphertext'),
  ('webhook_secret_ciphertext');
grant select on cp_before, cp_secret_columns to authenticated, anon;

-- ---------------------------------------------------------------------------------------------
-- The grants
-- ---------------------------------------------------------------------------------------------
select is_empty(
  $$ select r.role, s.col, p.priv
     from (values ('anon'), ('authenticated')) r(role)
     cross join cp_secret_columns s
     cross join (values ('SELECT'), ('INSERT'), ('UPDATE')) p(priv)
     where has_column_privilege(r.role, 'public.ad_accounts', s.col, p.priv) $$,
  'no client role may select, insert or update a ciphertext column of ad_accounts');
select set_eq(
  $$ select a.attname::text from pg_catalog.pg_attribute a
     where a.attrelid = 'public.ad_accounts'::regclass and a.attnum > 0 and not a.attisdropped
       and has_column_privilege('authenticated', a.attrelid, a.attnum, 'SELECT') $$,
  $$ select a.attname::text from pg_catalog.pg_attribute a
     where a.attrelid = 'public.ad_accounts'::regclass and a.attnum > 0 and not a.attisdropped
       and a.attname not in (select col from cp_secret_columns) $$,
  'authenticated may select every other column of ad_accounts (RLS picks the rows)');
select ok(
  has_column_privilege('service_role', 'public.ad_accounts', 'access_token_ciphertext', 'SELECT')
    and has_column_privilege('service_role', 'public.ad_accounts', 'app_secret_ciphertext', 'UPDATE'),
  'the service role still reads and writes the ciphertext columns');
select is_empty(
  $$ select n.nspname, c.relname, r.role, p.priv
     from pg_catalog.pg_class c
     join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     cross join (values ('anon'), ('authenticated')) r(role)
     cross join (values ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
     where n.nspname in ('public', 'private') and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and has_table_privilege(r.role, c.oid, p.priv) $$,
  'anon and authenticated have no TRUNCATE, REFERENCES or TRIGGER on any table or view of public or private');
create table public.cp_created_later (id int);
select is_empty(
  $$ select r.role, p.priv
     from (values ('anon'), ('authenticated')) r(role)
     cross join (values ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
     where has_table_privilege(r.role, 'public.cp_created_later', p.priv) $$,
  'a table created later gets no TRUNCATE, REFERENCES or TRIGGER for clients either (default privileges)');
drop table public.cp_created_later;

-- ---------------------------------------------------------------------------------------------
-- Reading the secrets, as a member of A: refused, whichever way it is asked
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('cp_member');
select throws_ok(
  $$ select access_token_ciphertext from public.ad_accounts $$,
  '42501', 'permission denied for table ad_accounts',
  'member: selecting access_token_ciphertext is refused');
select throws_ok(
  $$ select app_secret_ciphertext from public.ad_accounts $$,
  '42501', 'permission denied for table ad_accounts',
  'member: selecting app_secret_ciphertext is refused');
select throws_ok(
  $$ select * from public.ad_accounts $$,
  '42501', 'permission denied for table ad_accounts',
  'member: select * (PostgREST''s select=*) is refused');
select throws_ok(
  $$ select to_jsonb(a) from public.ad_accounts a $$,
  '42501', 'permission denied for table ad_accounts',
  'member: the whole row as JSON is refused');
select throws_ok(
  $$ select id from public.ad_accounts where access_token_ciphertext like 'v1:%' $$,
  '42501', 'permission denied for table ad_accounts',
  'member: filtering on a ciphertext (a guessing oracle) is refused');
select results_eq(
  $$ select id, platform_account_id, name, account_status from public.ad_accounts $$,
  format($$ values (%L::uuid, 'act_91000601', 'act_91000601', 1) $$, :'acct_a'),
  'member: the other columns of their own account are readable, and only those rows');

select tests.authenticate_as_anon();
select throws_ok(
  $$ select access_token_ciphertext from public.ad_accounts $$,
  '42501', 'permission denied for table ad_accounts',
  'anon: selecting access_token_ciphertext is refused');
select results_eq(
  $$ select count(*)::int from public.ad_accounts $$, $$ values (0) $$,
  'anon: still sees no account at all');

-- ---------------------------------------------------------------------------------------------
-- Writing the secrets, as the owner of A: refused (no planting B's token in A, no overwriting)
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('cp_owner');
select throws_ok(
  $$ update public.ad_accounts set access_token_ciphertext = 'v1:0badc0de:planted' $$,
  '42501', 'permission denied for table ad_accounts',
  'owner: updating access_token_ciphertext is refused');
select throws_ok(
  $$ update public.ad_accounts set app_secret_ciphertext = null $$,
  '42501', 'permission denied for table ad_accounts',
  'owner: clearing app_secret_ciphertext is refused');
select throws_ok(
  format($$ insert into public.ad_accounts (user_id, platform_account_id, access_token_ciphertext)
            values (%L, 'act_91000699', 'v1:0badc0de:planted') $$, :'owner_id'),
  '42501', 'permission denied for table ad_accounts',
  'owner: inserting an account with a ciphertext is refused');

-- ---------------------------------------------------------------------------------------------
-- TRUNCATE (which no policy stops), as a member and as anon: refused on every table
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('cp_member');
select throws_ok(
  format('truncate public.%I', b.tbl), '42501', format('permission denied for table %s', b.tbl),
  format('member: truncate %s is refused', b.tbl))
from (select tbl from cp_before order by tbl) b;
select tests.authenticate_as_anon();
select throws_ok(
  'truncate public.ad_metrics_daily', '42501', 'permission denied for table ad_metrics_daily',
  'anon: truncate ad_metrics_daily is refused');

-- ---------------------------------------------------------------------------------------------
-- TRIGGER and REFERENCES, as a member
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('cp_member');
select throws_ok(
  $$ create trigger cp_hook before update on public.ad_accounts
     for each row execute function private.touch_updated_at() $$,
  '42501', 'permission denied for table ad_accounts',
  'member: putting a trigger (an existing function) on ad_accounts is refused');
select throws_ok(
  $$ create trigger cp_hook after insert on public.ad_metrics_daily
     for each row execute function private.touch_updated_at() $$,
  '42501', 'permission denied for table ad_metrics_daily',
  'member: putting a trigger on ad_metrics_daily is refused');
select throws_ok(
  $$ create table cp_scratch.probe (account_id uuid references public.ad_accounts (id)) $$,
  '42501', 'permission denied for table ad_accounts',
  'member: a foreign key to ad_accounts (an existence oracle around RLS) is refused');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- Nothing changed
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format('select md5(coalesce(string_agg(x::text, %L order by x::text), %L)), (select count(*) from pg_catalog.pg_trigger t where t.tgrelid = %L::regclass) from public.%I x',
    '|', '', 'public.' || quote_ident(b.tbl), b.tbl),
  format('values (%L, %s::bigint)', b.fingerprint, b.triggers),
  format('%s: rows and triggers unchanged after the refused attempts', b.tbl))
from (select * from cp_before order by tbl) b;
select is(
  (select access_token_ciphertext || ' ' || app_secret_ciphertext from public.ad_accounts where id = :'acct_a'),
  'v1:0badc0de:A-token v1:0badc0de:A-secret',
  'account A''s ciphertexts are the ones stored');
select is_empty(
  $$ select c.relname from pg_catalog.pg_class c where c.relnamespace = 'cp_scratch'::regnamespace $$,
  'no table was created by the refused foreign key');

select * from finish();
rollback;
