-- Abuse limits (20261202130000_abuse_limits.sql): the defaults of adrail_limits and its
-- constraints; take_request_quota's token buckets (a burst of quota, then one request per
-- window / quota; nothing taken when refused; overrides before defaults; user and account all or
-- nothing; costs; quota 0); the active_jobs limits on every new creation job (ADR09 with its
-- DETAIL, the pre-check, replays; checked when the job's transaction commits); and that only the
-- service role reaches any of it.
-- now() is fixed inside this transaction: time passing is written into the buckets by hand.
begin;
select plan(52);

select tests.create_supabase_user('al_user') as user_id \gset
select tests.create_supabase_user('al_other') as other_id \gset
select tests.create_ad_account('al_user', 'act_91000901') as acct \gset
select tests.create_ad_account('al_user', 'act_91000902') as acct2 \gset

-- ---------------------------------------------------------------------------------------------
-- The limits table
-- ---------------------------------------------------------------------------------------------
select set_eq(
  $$ select action, scope, quota, window_seconds from public.adrail_limits
     where user_id is null and ad_account_id is null $$,
  $$ values ('read', 'user', 600, 60), ('connect', 'user', 30, 3600),
            ('launch', 'user', 30, 60), ('launch', 'account', 10, 60),
            ('sync', 'user', 30, 60), ('sync', 'account', 10, 60),
            ('job_action', 'user', 60, 60), ('job_action', 'account', 30, 60),
            ('requested_entities', 'user', 20000, 3600),
            ('requested_entities', 'account', 10000, 3600),
            ('active_jobs', 'user', 25, null), ('active_jobs', 'account', 10, null) $$,
  'the defaults, one per action and scope');
select throws_ok(
  $$ insert into public.adrail_limits (action, scope, quota, window_seconds) values ('launch', 'user', 5, 60) $$,
  '23505', null, 'one default per action and scope');
select throws_ok(
  format($$ insert into public.adrail_limits (action, scope, user_id, quota, window_seconds) values ('launch', 'account', %L, 5, 60) $$, :'user_id'),
  '23514', null, 'an account override names an ad account, not a user');
select throws_ok(
  format($$ insert into public.adrail_limits (action, scope, ad_account_id, quota, window_seconds) values ('connect', 'account', %L, 5, 60) $$, :'acct'),
  '23514', null, 'read and connect are per user only');
select throws_ok(
  format($$ insert into public.adrail_limits (action, scope, user_id, quota) values ('launch', 'user', %L, 5) $$, :'user_id'),
  '23514', null, 'a request limit has a window');
select throws_ok(
  format($$ insert into public.adrail_limits (action, scope, user_id, quota, window_seconds) values ('active_jobs', 'user', %L, 5, 60) $$, :'user_id'),
  '23514', null, 'active_jobs has none');
select throws_ok(
  format($$ insert into public.adrail_limits (action, scope, user_id, quota, window_seconds) values ('launch', 'user', %L, -1, 60) $$, :'user_id'),
  '23514', null, 'a quota is 0 or more');
select lives_ok(
  format($$ insert into public.adrail_limits (action, scope, user_id, quota, window_seconds) values ('launch', 'user', %L, 3, 60) $$, :'user_id'),
  'an override for one user');

-- ---------------------------------------------------------------------------------------------
-- take_request_quota: token buckets
-- ---------------------------------------------------------------------------------------------
create temp table al_answers (n serial, allowed boolean, retry_after_seconds integer, scope text, quota integer, window_seconds integer) on commit drop;
insert into al_answers (allowed, retry_after_seconds, scope, quota, window_seconds)
select (public.take_request_quota('launch', :'user_id')).* from generate_series(1, 4);
select results_eq(
  $$ select allowed, retry_after_seconds, scope, quota, window_seconds from al_answers order by n $$,
  $$ values (true, 0, null::text, null::int, null::int), (true, 0, null, null, null),
            (true, 0, null, null, null), (false, 20, 'user', 3, 60) $$,
  'the override (3 per 60 s): a burst of 3, then refused with 20 s to wait (60 s / 3)');
select is(
  (select used from public.request_rate_limits
   where action = 'launch' and scope = 'user' and subject_id = :'user_id'),
  3::double precision,
  'the bucket holds the 3 taken: the refused request took nothing');
update public.request_rate_limits set used_at = used_at - interval '20 seconds'
where action = 'launch' and scope = 'user' and subject_id = :'user_id';
select is((public.take_request_quota('launch', :'user_id')).allowed, true,
  '20 s later one request fits again');
select is((public.take_request_quota('launch', :'user_id')).allowed, false, 'and only one');
update public.adrail_limits set quota = 10 where action = 'launch' and user_id = :'user_id';
select is((public.take_request_quota('launch', :'user_id')).allowed, true,
  'a raised limit applies at once: what was used counts against the new quota');
update public.adrail_limits set quota = 3 where action = 'launch' and user_id = :'user_id';
select is((public.take_request_quota('launch', :'other_id')).allowed, true,
  'another user has the default (30 per 60 s), its own bucket');

-- User and account together: all or nothing.
insert into public.adrail_limits (action, scope, ad_account_id, quota, window_seconds)
values ('launch', 'account', :'acct', 1, 60);
select is((public.take_request_quota('launch', null, :'acct')).allowed, true, 'the account''s one launch');
select results_eq(
  $$ select allowed, scope, quota from public.take_request_quota('launch', null, $$ || quote_literal(:'acct') || $$) $$,
  $$ values (false, 'account', 1) $$,
  'its second is refused by the account''s limit');
select is((public.take_request_quota('sync', :'other_id', :'acct')).allowed, true,
  'each action has its own buckets');
update public.adrail_limits set quota = 0 where action = 'sync' and scope = 'user' and user_id is null;
select results_eq(
  $$ select allowed, scope, retry_after_seconds from public.take_request_quota('sync', $$ || quote_literal(:'user_id') || $$, $$ || quote_literal(:'acct') || $$) $$,
  $$ values (false, 'user', 60) $$,
  'quota 0 refuses everything; the wait is the whole window');
select is(
  (select used from public.request_rate_limits
   where action = 'sync' and scope = 'account' and subject_id = :'acct'),
  1::double precision,
  'the account''s sync bucket holds only the one earlier sync: the refused one took nothing from it');

-- Costs (requested entities).
insert into public.adrail_limits (action, scope, ad_account_id, quota, window_seconds)
values ('requested_entities', 'account', :'acct2', 100, 3600);
select is((public.take_request_quota('requested_entities', :'user_id', :'acct2', 60)).allowed, true,
  'a cost of 60 out of 100');
select results_eq(
  $$ select allowed, retry_after_seconds, scope from public.take_request_quota('requested_entities', $$ || quote_literal(:'user_id') || $$, $$ || quote_literal(:'acct2') || $$, 60) $$,
  $$ values (false, 720, 'account') $$,
  'another 60 waits until 20 have flowed back (36 s each)');
select results_eq(
  $$ select allowed, retry_after_seconds from public.take_request_quota('requested_entities', $$ || quote_literal(:'user_id') || $$, $$ || quote_literal(:'acct2') || $$, 101) $$,
  $$ values (false, 3600) $$,
  'a cost above the quota never fits: the whole window');
select is(
  (select used from public.request_rate_limits
   where action = 'requested_entities' and scope = 'user' and subject_id = :'user_id'),
  60::double precision,
  'the user''s bucket holds only the 60 taken');

delete from public.adrail_limits where action = 'read' and user_id is null;
select is((public.take_request_quota('read', :'user_id')).allowed, true, 'no limit row at all: allowed');
select is_empty(
  $$ select 1 from public.request_rate_limits where action = 'read' $$,
  'and nothing recorded');
select throws_ok(
  format($$ select public.take_request_quota('active_jobs', %L) $$, :'user_id'),
  '22023', null, 'active_jobs is not a request action');
select throws_ok(
  format($$ select public.take_request_quota('launch', %L, null, 0) $$, :'user_id'),
  '22023', null, 'a cost is 1 or more');

-- ---------------------------------------------------------------------------------------------
-- active_jobs: every new creation job
-- ---------------------------------------------------------------------------------------------
insert into public.adrail_limits (action, scope, ad_account_id, quota) values ('active_jobs', 'account', :'acct', 2);
select (public.create_campaign_creation_job(:'user_id', :'acct', 'al 1', 1, 1, '{}', 'h', 'al-key-1')).id as j1 \gset
select (public.create_campaign_creation_job(:'user_id', :'acct', 'al 2', 1, 1, '{}', 'h')).id as j2 \gset
-- The check is deferred to the commit, where its locks are held only over its counts;
-- `set constraints ... immediate` runs it now, as the commit would.
savepoint before_third;
select lives_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'al 3', 1, 1, '{}', 'h') $$, :'user_id', :'acct'),
  'a third job over the account''s limit is inserted: the limit waits for the commit');
select throws_ok(
  'set constraints enforce_active_job_limits immediate',
  'ADR09', format('account %s would have 3 creation jobs under way, its limit is 2', :'acct'),
  'where it refuses the job');
rollback to savepoint before_third;
-- From here on each job is checked at its insert, as the commit of its own transaction would.
set constraints enforce_active_job_limits immediate;
select lives_ok(format($$ select public.check_creation_job_room(%L, %L) $$, :'user_id', :'acct2'),
  'the pre-check: room on the other account');
select throws_ok(
  format($$ select public.check_creation_job_room(%L, %L) $$, :'user_id', :'acct'),
  'ADR09', format('account %s would have 3 creation jobs under way, its limit is 2', :'acct'),
  'the pre-check: no room for a third on the account');
select throws_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'al 3', 1, 1, '{}', 'h') $$, :'user_id', :'acct'),
  'ADR09', format('account %s would have 3 creation jobs under way, its limit is 2', :'acct'),
  'a third job under way on the account is refused');
select is(
  (select count(*)::int from public.campaign_creation_jobs where ad_account_id = :'acct'), 2,
  'and not created');
create function pg_temp.al_detail(statement text) returns text language plpgsql as $$
declare
  detail text;
begin
  execute statement;
  return null;
exception when sqlstate 'ADR09' then
  get stacked diagnostics detail = pg_exception_detail;
  return detail;
end;
$$;
select is(
  pg_temp.al_detail(format($$ select public.create_campaign_creation_job(%L, %L, 'al 3', 1, 1, '{}', 'h') $$, :'user_id', :'acct'))::jsonb,
  '{"action": "active_jobs", "scope": "account", "quota": 2}'::jsonb,
  'ADR09 carries the limit in its DETAIL, as JSON');
select is(
  (public.create_campaign_creation_job(:'user_id', :'acct', 'al 1', 1, 1, '{}', 'h', 'al-key-1')).id,
  :'j1'::bigint,
  'an idempotent replay at the limit answers its job');
select is(
  (select count(*)::int from public.entity_creation_slots where job_id = :'j1'), 3,
  'and created nothing more');
select tests.advance_job(:'j2', 'verifying', 'completed');
select lives_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'al 3', 1, 1, '{}', 'h') $$, :'user_id', :'acct'),
  'a job that ended makes room');
select tests.advance_job(:'j1', 'failed');
select lives_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'al 4', 1, 1, '{}', 'h') $$, :'user_id', :'acct'),
  'so does a failed one (rolled_back likewise: every status but these three is under way)');

insert into public.adrail_limits (action, scope, user_id, quota) values ('active_jobs', 'user', :'other_id', 1);
select tests.add_ad_account_member('act_91000902', 'al_other', 'launcher');
select tests.add_ad_account_member('act_91000901', 'al_other', 'launcher');
select lives_ok(
  format($$ select public.create_campaign_creation_job(%L, %L, 'al o1', 1, 1, '{}', 'h') $$, :'other_id', :'acct2'),
  'a user with a limit of 1: the first job');
select is(
  pg_temp.al_detail(format($$ select public.create_campaign_creation_job(%L, %L, 'al o2', 1, 1, '{}', 'h') $$, :'other_id', :'acct2'))::jsonb,
  '{"action": "active_jobs", "scope": "user", "quota": 1}'::jsonb,
  'a second, on the same account, is refused by the user''s limit');
select throws_ok(
  format($$ select public.check_creation_job_room(%L, %L) $$, :'other_id', :'acct2'),
  'ADR09', null, 'the pre-check agrees');

-- ---------------------------------------------------------------------------------------------
-- Who may reach it
-- ---------------------------------------------------------------------------------------------
select is_empty(
  $$ select r.role, t.tbl, p.priv
     from (values ('anon'), ('authenticated')) r(role)
     cross join (values ('public.adrail_limits'), ('public.request_rate_limits')) t(tbl)
     cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) p(priv)
     where has_table_privilege(r.role, t.tbl, p.priv) $$,
  'clients may not read or change the limits or the buckets');
select is(
  (select count(*)::int from pg_class
   where oid in ('public.adrail_limits'::regclass, 'public.request_rate_limits'::regclass)
     and relrowsecurity),
  2, 'both have row level security on');
select function_privs_are('public', 'take_request_quota', array['text', 'uuid', 'uuid', 'integer'],
  'service_role', array['EXECUTE'], 'service_role can execute take_request_quota');
select function_privs_are('public', 'take_request_quota', array['text', 'uuid', 'uuid', 'integer'],
  'authenticated', array[]::text[], 'authenticated cannot execute take_request_quota');
select function_privs_are('public', 'check_creation_job_room', array['uuid', 'uuid'],
  'service_role', array['EXECUTE'], 'service_role can execute check_creation_job_room');
select function_privs_are('public', 'check_creation_job_room', array['uuid', 'uuid'],
  'authenticated', array[]::text[], 'authenticated cannot execute check_creation_job_room');
select function_privs_are('public', 'check_creation_job_room', array['uuid', 'uuid'],
  'anon', array[]::text[], 'anon cannot execute check_creation_job_room');
select tests.authenticate_as('al_user');
select throws_ok(
  format($$ select public.take_request_quota('launch', %L) $$, :'user_id'),
  '42501', 'permission denied for function take_request_quota',
  'a signed-in client cannot take (or reset) quota');
select throws_ok(
  $$ update public.adrail_limits set quota = 1000000 $$,
  '42501', 'permission denied for table adrail_limits',
  'nor raise a limit');
select throws_ok(
  $$ delete from public.request_rate_limits $$,
  '42501', 'permission denied for table request_rate_limits',
  'nor empty its buckets');
select tests.clear_authentication();
select is(
  (select quota from public.adrail_limits where action = 'launch' and user_id = :'user_id'), 3,
  'the override is as it was');

select * from finish();
rollback;
