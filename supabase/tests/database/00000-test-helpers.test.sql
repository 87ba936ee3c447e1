-- Test helpers, in the style of basejump's supabase_test_helpers: create users, act as them.
-- Runs first (file name order) and keeps its functions: every later test file uses them.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

create or replace function tests.create_supabase_user(identifier text) returns uuid
language sql
set search_path = ''
as $$
  insert into auth.users (id, email, raw_user_meta_data)
  values (gen_random_uuid(), identifier || '@test.adrail', jsonb_build_object('test_identifier', identifier))
  returning id
$$;
comment on function tests.create_supabase_user(text) is 'Creates an auth user known to the tests by identifier.';

create or replace function tests.get_supabase_uid(identifier text) returns uuid
language sql stable security definer
set search_path = ''
as $$
  select id from auth.users where raw_user_meta_data ->> 'test_identifier' = identifier
$$;
comment on function tests.get_supabase_uid(text) is 'The id of the test user with this identifier.';

create or replace function tests.authenticate_as(identifier text) returns void
language plpgsql
set search_path = ''
as $$
declare
  uid uuid := tests.get_supabase_uid(identifier);
begin
  if uid is null then
    raise exception 'test user % does not exist', identifier;
  end if;
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims',
    jsonb_build_object('sub', uid, 'role', 'authenticated', 'email', identifier || '@test.adrail')::text, true);
end;
$$;
comment on function tests.authenticate_as(text) is 'Acts as the test user for the rest of the transaction, as PostgREST would.';

create or replace function tests.authenticate_as_anon() returns void
language sql
set search_path = ''
as $$
  select set_config('role', 'anon', true), set_config('request.jwt.claims', '{"role":"anon"}', true)
$$;

create or replace function tests.authenticate_as_service_role() returns void
language sql
set search_path = ''
as $$
  select set_config('role', 'service_role', true),
         set_config('request.jwt.claims', '{"role":"service_role"}', true)
$$;

create or replace function tests.clear_authentication() returns void
language sql
set search_path = ''
as $$
  select set_config('role', 'postgres', true), set_config('request.jwt.claims', '', true)
$$;

create or replace function tests.create_ad_account(owner_identifier text, platform_account_id text)
returns uuid
language sql
set search_path = ''
as $$
  with account as (
    insert into public.ad_accounts (user_id, platform_account_id, name, account_status, access_token_ciphertext)
    values (tests.get_supabase_uid(owner_identifier), platform_account_id, platform_account_id, 1, 'ciphertext')
    returning id
  ), member as (
    insert into public.ad_account_members (ad_account_id, user_id, role)
    select id, tests.get_supabase_uid(owner_identifier), 'owner' from account
  )
  select id from account
$$;
comment on function tests.create_ad_account(text, text) is 'An ad account owned (and so visible) by the test user.';

create or replace function tests.get_ad_account_id(platform_account_id text) returns uuid
language sql stable security definer
set search_path = ''
as $$
  select a.id from public.ad_accounts a where a.platform_account_id = get_ad_account_id.platform_account_id
$$;
comment on function tests.get_ad_account_id(text) is
  'The id of an ad account by its platform id, whoever is acting (security definer: RLS does not hide it).';

create or replace function tests.add_ad_account_member(platform_account_id text, identifier text, role text default 'viewer')
returns void
language sql
set search_path = ''
as $$
  insert into public.ad_account_members (ad_account_id, user_id, role)
  values (tests.get_ad_account_id(platform_account_id), tests.get_supabase_uid(identifier), role)
$$;
comment on function tests.add_ad_account_member(text, text, text) is 'Makes the test user a member of the ad account.';

-- No pinned search_path here: pgTAP's functions call each other unqualified.
create or replace function tests.rls_enabled(testing_schema text) returns text
language sql
as $$
  select is(
    (select count(*)::integer from pg_catalog.pg_class c
     join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = testing_schema and c.relkind in ('r', 'p') and not c.relrowsecurity),
    0,
    'every table in the ' || testing_schema || ' schema has row level security enabled'
  )
$$;
comment on function tests.rls_enabled(text) is 'basejump''s check: no table of the schema has row level security off.';

create or replace function tests.advance_status(tbl regclass, row_id bigint, variadic statuses text[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  next_status text;
begin
  foreach next_status in array statuses loop
    execute format('update %s set status = $1 where id = $2', tbl) using next_status, row_id;
  end loop;
end;
$$;
comment on function tests.advance_status(regclass, bigint, text[]) is
  'Moves a row of a state-machine table through the given statuses one update at a time (each step must be legal).';

create or replace function tests.advance_job(job_id bigint, variadic statuses text[]) returns void
language plpgsql
set search_path = ''
as $$
declare
  next_status text;
  job public.campaign_creation_jobs;
  actor text;
begin
  -- A member's move (a rollback decision, a reopening) is made as the job's requester, an
  -- approval decision as another member who may approve.
  foreach next_status in array statuses loop
    select * into job from public.campaign_creation_jobs j where j.id = advance_job.job_id;
    select t.actor into actor from private.state_transitions t
    where t.machine = 'campaign_creation_job' and t.from_status = job.status and t.to_status = next_status;
    perform set_config('adrail.acting_user', case actor
      when 'manage_own_jobs' then job.user_id::text
      when 'approve' then (
        select m.user_id::text from public.ad_account_members m
        where m.ad_account_id = job.ad_account_id and m.user_id <> job.user_id
          and private.account_role_allows(m.ad_account_id, m.user_id, 'approve')
        order by m.user_id limit 1)
      else '' end, true);
    update public.campaign_creation_jobs j set status = next_status where j.id = advance_job.job_id;
    perform set_config('adrail.acting_user', '', true);
  end loop;
end;
$$;
comment on function tests.advance_job(bigint, text[]) is
  'Moves a creation job through the given statuses one update at a time (each step must be legal): a worker''s move as the worker, a member''s as its requester, an approval decision as another member who may approve.';

create or replace function tests.advance_slot(slot_id bigint, variadic statuses text[]) returns void
language sql
set search_path = ''
as $$ select tests.advance_status('public.entity_creation_slots', slot_id, variadic statuses) $$;
comment on function tests.advance_slot(bigint, text[]) is 'tests.advance_status for an entity creation slot.';

create or replace function tests.affected_rows(statement text) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  n bigint;
begin
  execute statement;
  get diagnostics n = row_count;
  return n;
end;
$$;
comment on function tests.affected_rows(text) is
  'Runs an insert/update/delete as the current role and returns how many rows it affected (RLS: 0 when refused).';

create or replace function tests.cron_command(job text) returns text
language plpgsql
set search_path = ''
as $$
declare
  found_command text;
begin
  -- pg_cron lives in one database of a cluster: elsewhere its schema is missing.
  if to_regclass('cron.job') is null then
    return null;
  end if;
  execute 'select command from cron.job where jobname = $1' into found_command using job;
  return found_command;
end;
$$;
comment on function tests.cron_command(text) is
  'The command pg_cron runs for the named job; null when there is no such job or no pg_cron here.';

create or replace function tests.service_role_only(fn regprocedure) returns boolean
language sql
set search_path = ''
as $$
  select not has_function_privilege('authenticated', fn, 'execute')
     and not has_function_privilege('anon', fn, 'execute')
     and has_function_privilege('service_role', fn, 'execute')
$$;
comment on function tests.service_role_only(regprocedure) is
  'Whether the service role may execute the function and neither anon nor authenticated may.';

grant execute on all functions in schema tests to anon, authenticated, service_role;

begin;
select plan(1);
select has_function('tests', 'authenticate_as', array['text'], 'test helpers are installed');
select * from finish();
rollback;
