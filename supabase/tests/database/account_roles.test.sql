-- Roles of an ad account's members: what each may do (private.account_role_actions, the one
-- place), the checks the functions make before they act (ad_account_for_member, job_for_member),
-- connecting and reconnecting (connect_ad_account: nobody's membership ever changes), membership
-- changes by an owner only (set_ad_account_member, remove_ad_account_member; an account keeps an
-- owner), and the same attacks from a client, as PostgREST would run them: refused, nothing changed.
--
-- Account A (act_91001201): ar_owner (owner), ar_approver, ar_launcher, ar_viewer. Account B
-- (act_91001202): ar_stranger (owner). ar_newcomer is a member of nothing.
begin;
select plan(59);

select tests.create_supabase_user('ar_owner') as owner_id \gset
select tests.create_supabase_user('ar_approver') as approver_id \gset
select tests.create_supabase_user('ar_launcher') as launcher_id \gset
select tests.create_supabase_user('ar_viewer') as viewer_id \gset
select tests.create_supabase_user('ar_stranger') as stranger_id \gset
select tests.create_supabase_user('ar_newcomer') as newcomer_id \gset
select tests.create_ad_account('ar_owner', 'act_91001201') as acct \gset
select tests.create_ad_account('ar_stranger', 'act_91001202') as acct_b \gset
select tests.add_ad_account_member('act_91001201', 'ar_approver', 'approver');
select tests.add_ad_account_member('act_91001201', 'ar_launcher', 'launcher');
select tests.add_ad_account_member('act_91001201', 'ar_viewer', 'viewer');
select id as job_l from public.create_campaign_creation_job(:'launcher_id', :'acct', 'Launcher''s', 1, 1, '{}', 'h') \gset
select id as job_o from public.create_campaign_creation_job(:'owner_id', :'acct', 'Owner''s', 1, 1, '{}', 'h') \gset

-- What account A's members and its row look like: each refused attack must leave them as they are.
create temp table ar_snapshot (members jsonb, account jsonb) on commit drop;
grant all on ar_snapshot to public;
create or replace function pg_temp.state() returns table (members jsonb, account jsonb) language sql as $$
  select (select jsonb_agg(to_jsonb(m) order by m.user_id) from public.ad_account_members m
          where m.ad_account_id = tests.get_ad_account_id('act_91001201')),
         (select to_jsonb(a) from public.ad_accounts a where a.platform_account_id = 'act_91001201')
$$;
create or replace function pg_temp.snapshot() returns void language sql as $$
  delete from ar_snapshot;
  insert into ar_snapshot select * from pg_temp.state();
$$;
create or replace function pg_temp.unchanged() returns boolean language sql as $$
  select s.members = n.members and s.account = n.account from ar_snapshot s, pg_temp.state() n
$$;
select pg_temp.snapshot();

-- ---------------------------------------------------------------------------------------------
-- Who may do what: one table
-- ---------------------------------------------------------------------------------------------
select results_eq(
  $$ select role, array_agg(action order by action) from private.account_role_actions
     group by role order by array_position(array['owner', 'approver', 'launcher', 'viewer'], role) $$,
  $$ values
     ('owner'::text, array['approve', 'launch', 'manage_all_jobs', 'manage_members', 'manage_own_jobs', 'manage_settings', 'manage_token', 'manage_webhook', 'read', 'sync']),
     ('approver', array['approve', 'launch', 'manage_all_jobs', 'manage_own_jobs', 'read', 'sync']),
     ('launcher', array['launch', 'manage_own_jobs', 'read', 'sync']),
     ('viewer', array['read']) $$,
  'owner manages members, tokens, settings and webhooks, approver approves and steers any job, launcher launches, syncs and steers its own, viewer reads');
select is(private.account_role_allows(:'acct', :'stranger_id', 'read'), false, 'a non-member may do nothing');

-- ---------------------------------------------------------------------------------------------
-- As the functions (service role): the checks before they act
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();
select is((select id from public.ad_account_for_member(:'owner_id', 'facebook', 'act_91001201', 'manage_token')),
  :'acct'::uuid, 'the owner may replace the token');
select is((select id from public.ad_account_for_member(:'launcher_id', 'facebook', 'act_91001201', 'launch')),
  :'acct'::uuid, 'a launcher may launch');
select throws_ok(
  format($$ select * from public.ad_account_for_member(%L, 'facebook', 'act_91001201', 'sync') $$, :'viewer_id'),
  'ADR06', 'your role on this ad account does not allow sync',
  'a viewer may not start a sync (it spends the account''s rate limit and writes every entity)');
select throws_ok(
  format($$ select * from public.ad_account_for_member(%L, 'facebook', 'act_91001201', 'launch') $$, :'viewer_id'),
  'ADR06', 'your role on this ad account does not allow launch', 'a viewer may not launch');
select throws_ok(
  format($$ select * from public.ad_account_for_member(%L, 'facebook', 'act_91001201', 'manage_token') $$, :'approver_id'),
  'ADR06', 'your role on this ad account does not allow manage_token', 'an approver may not replace the token');
select throws_ok(
  format($$ select * from public.ad_account_for_member(%L, 'facebook', 'act_91001201', 'read') $$, :'stranger_id'),
  'ADR04', 'ad account not found', 'someone else''s account is not found');
select throws_ok(
  format($$ select * from public.ad_account_for_member(%L, 'facebook', 'act_91001299', 'read') $$, :'owner_id'),
  'ADR04', 'ad account not found', 'the same answer as an account that does not exist');

select is((select id from public.job_for_member(:'launcher_id', :job_l, 'manage')), :job_l::bigint,
  'a launcher may verify or roll back their own job');
select throws_ok(
  format($$ select * from public.job_for_member(%L, %s, 'manage') $$, :'launcher_id', :job_o),
  'ADR06', 'your role on this ad account does not allow manage_all_jobs',
  'a launcher may not verify or roll back a colleague''s job');
select is((select id from public.job_for_member(:'approver_id', :job_l, 'manage')), :job_l::bigint,
  'an approver may verify or roll back anyone''s job');
select is((select id from public.job_for_member(:'owner_id', :job_l, 'manage')), :job_l::bigint,
  'so may an owner');
select is((select id from public.job_for_member(:'viewer_id', :job_l, 'read')), :job_l::bigint,
  'a viewer may follow a job');
select throws_ok(
  format($$ select * from public.job_for_member(%L, %s, 'manage') $$, :'viewer_id', :job_l),
  'ADR06', 'your role on this ad account does not allow manage_all_jobs', 'but not verify or roll it back');
select throws_ok(
  format($$ select * from public.job_for_member(%L, %s, 'read') $$, :'stranger_id', :job_l),
  'ADR04', format('campaign creation job %s not found', :job_l), 'someone else''s job is not found');
select throws_ok(
  $$ select * from public.job_for_member(tests.get_supabase_uid('ar_owner'), 9100120199, 'read') $$,
  'ADR04', 'campaign creation job 9100120199 not found', 'the same answer as a job that does not exist');

-- ---------------------------------------------------------------------------------------------
-- Connecting and reconnecting: only an owner replaces the token, nobody's role changes
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select c.created, (c.ad_account).user_id, (c.ad_account).name from public.connect_ad_account(
    %L, 'facebook', 'act_91001203', 'New', 'EUR', 1, 'token-ct', null) c $$, :'newcomer_id'),
  format($$ values (true, %L::uuid, 'New'::text) $$, :'newcomer_id'),
  'a new account is connected');
select results_eq(
  $$ select m.user_id, m.role from public.ad_account_members m
     where m.ad_account_id = tests.get_ad_account_id('act_91001203') $$,
  format($$ values (%L::uuid, 'owner'::text) $$, :'newcomer_id'),
  'its connecting user is its only member, owner');
select throws_ok(
  format($$ select * from public.connect_ad_account(%L, 'facebook', 'act_91001201', 'Taken', null, 1, 'attacker-ct', 'attacker-secret') $$,
    :'stranger_id'),
  'ADR07', 'ad account act_91001201 is already connected by other members',
  'another team connecting the same account is refused');
select ok(pg_temp.unchanged(), 'its token, app secret and members are as they were');
select throws_ok(
  format($$ select * from public.connect_ad_account(%L, 'facebook', 'act_91001201', 'Mine', null, 1, 'viewer-ct', null) $$,
    :'viewer_id'),
  'ADR06', 'your role on ad account act_91001201 does not allow replacing its token',
  'a viewer reconnecting (to become owner) is refused');
select throws_ok(
  format($$ select * from public.connect_ad_account(%L, 'facebook', 'act_91001201', 'Mine', null, 1, 'approver-ct', null) $$,
    :'approver_id'),
  'ADR06', 'your role on ad account act_91001201 does not allow replacing its token',
  'so is an approver');
select ok(pg_temp.unchanged(), 'nothing changed');
select results_eq(
  format($$ select c.created, (c.ad_account).access_token_ciphertext, (c.ad_account).name
     from public.connect_ad_account(%L, 'facebook', 'act_91001201', 'Renamed', 'EUR', 1, 'owner-new-ct', null) c $$,
    :'owner_id'),
  $$ values (false, 'owner-new-ct'::text, 'Renamed'::text) $$,
  'the owner replaces the token');
select results_eq(
  $$ select members from pg_temp.state() $$,
  $$ select members from ar_snapshot $$,
  'and every member keeps their role');
select pg_temp.snapshot();

-- ---------------------------------------------------------------------------------------------
-- Membership changes: owners only, an account keeps an owner
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'owner') $$, :'acct', :'launcher_id', :'launcher_id'),
  'ADR06', 'your role on this ad account does not allow manage_members', 'a launcher may not make itself owner');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'launcher') $$, :'acct', :'viewer_id', :'viewer_id'),
  'ADR06', 'your role on this ad account does not allow manage_members', 'a viewer may not make itself launcher');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'viewer') $$, :'acct', :'approver_id', :'newcomer_id'),
  'ADR06', 'your role on this ad account does not allow manage_members', 'an approver may not add members');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'owner') $$, :'acct', :'stranger_id', :'stranger_id'),
  'ADR04', 'ad account not found', 'a non-member may not join');
select throws_ok(
  format($$ select public.remove_ad_account_member(%L, %L, %L) $$, :'acct', :'launcher_id', :'owner_id'),
  'ADR06', 'your role on this ad account does not allow manage_members', 'a launcher may not remove the owner');
select ok(pg_temp.unchanged(), 'nothing changed');

select results_eq(
  format($$ select user_id, role from public.set_ad_account_member(%L, %L, %L, 'viewer') $$, :'acct', :'owner_id', :'newcomer_id'),
  format($$ values (%L::uuid, 'viewer'::text) $$, :'newcomer_id'),
  'the owner adds a viewer');
select results_eq(
  format($$ select role from public.set_ad_account_member(%L, %L, %L, 'launcher') $$, :'acct', :'owner_id', :'newcomer_id'),
  $$ values ('launcher'::text) $$,
  'and changes their role');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'admin') $$, :'acct', :'owner_id', :'newcomer_id'),
  '23514', null, 'a role that does not exist is refused');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'viewer') $$, :'acct', :'owner_id', gen_random_uuid()),
  'ADR04', 'user not found', 'a user who does not exist cannot be added');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'approver') $$, :'acct', :'owner_id', :'owner_id'),
  'ADR08', 'an ad account keeps at least one owner', 'the last owner may not step down');
select throws_ok(
  format($$ select public.remove_ad_account_member(%L, %L, %L) $$, :'acct', :'owner_id', :'owner_id'),
  'ADR08', 'an ad account keeps at least one owner', 'nor leave');
select is((select role from public.ad_account_members where ad_account_id = :'acct' and user_id = :'owner_id'),
  'owner', 'and stays owner');
select throws_ok(
  format($$ select public.remove_ad_account_member(%L, %L, %L) $$, :'acct', :'owner_id', :'stranger_id'),
  'ADR04', 'member not found', 'removing a non-member: not found');

select lives_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'viewer') $$, :'acct', :'owner_id', :'launcher_id'),
  'the owner demotes the launcher to viewer');
select throws_ok(
  format($$ select * from public.job_for_member(%L, %s, 'manage') $$, :'launcher_id', :job_l),
  'ADR06', 'your role on this ad account does not allow manage_own_jobs',
  'a demoted launcher may no longer steer even their own job');
select results_eq(
  format($$ select role from public.set_ad_account_member(%L, %L, %L, 'owner') $$, :'acct', :'owner_id', :'approver_id'),
  $$ values ('owner'::text) $$,
  'the owner makes the approver an owner too');
select results_eq(
  format($$ select user_id from public.remove_ad_account_member(%L, %L, %L) $$, :'acct', :'owner_id', :'owner_id'),
  format($$ values (%L::uuid) $$, :'owner_id'),
  'now the first owner may leave');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'owner') $$, :'acct', :'owner_id', :'owner_id'),
  'ADR04', 'ad account not found', 'and, gone, may not come back by themselves');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- The read policies follow the table
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('ar_viewer');
select is((select count(*)::int from public.ad_accounts where id = :'acct'), 1, 'a viewer reads the account');
select is((select count(*)::int from public.campaign_creation_jobs where ad_account_id = :'acct'), 2, 'and its jobs');
select tests.clear_authentication();
delete from private.account_role_actions where role = 'viewer' and action = 'read';
select tests.authenticate_as('ar_viewer');
select is((select count(*)::int from public.ad_accounts where id = :'acct'), 0,
  'without read in private.account_role_actions, a viewer reads nothing (the policies ask the table)');
select tests.clear_authentication();
insert into private.account_role_actions (role, action) values ('viewer', 'read');

-- ---------------------------------------------------------------------------------------------
-- As clients (PostgREST): every attack refused, nothing changed
-- ---------------------------------------------------------------------------------------------
select pg_temp.snapshot();

select tests.authenticate_as('ar_viewer');
select is(tests.affected_rows(format($$ update public.ad_account_members set role = 'owner' where ad_account_id = %L and user_id = %L $$,
  :'acct', :'viewer_id')), 0::bigint, 'a viewer updating its own role changes no row');
select throws_ok(
  format($$ select public.set_ad_account_member(%L, %L, %L, 'owner') $$, :'acct', :'approver_id', :'viewer_id'),
  '42501', 'permission denied for function set_ad_account_member',
  'a client may not call set_ad_account_member, even naming an owner as the actor');
select throws_ok(
  format($$ select public.remove_ad_account_member(%L, %L, %L) $$, :'acct', :'approver_id', :'approver_id'),
  '42501', 'permission denied for function remove_ad_account_member', 'nor remove_ad_account_member');
select throws_ok(
  format($$ select public.connect_ad_account(%L, 'facebook', 'act_91001201', 'x', null, 1, 'ct', null) $$, :'approver_id'),
  '42501', 'permission denied for function connect_ad_account', 'nor connect_ad_account');
select throws_ok(
  format($$ select public.ad_account_for_member(%L, 'facebook', 'act_91001201', 'read') $$, :'approver_id'),
  '42501', 'permission denied for function ad_account_for_member', 'nor ad_account_for_member (it returns ciphertexts)');
select throws_ok(
  format($$ select public.job_for_member(%L, %s, 'read') $$, :'approver_id', :job_l),
  '42501', 'permission denied for function job_for_member', 'nor job_for_member');
select throws_ok(
  format($$ select private.account_role_allows(%L, %L, 'read') $$, :'acct', :'viewer_id'),
  '42501', 'permission denied for function account_role_allows', 'nor private.account_role_allows');
select throws_ok(
  $$ insert into private.account_role_actions (role, action) values ('viewer', 'manage_members') $$,
  '42501', 'permission denied for table account_role_actions', 'nor change what roles may do');
select tests.authenticate_as('ar_stranger');
select throws_ok(
  format($$ insert into public.ad_account_members (ad_account_id, user_id, role) values (%L, %L, 'owner') $$, :'acct', :'stranger_id'),
  '42501', 'new row violates row-level security policy for table "ad_account_members"', 'a stranger may not insert itself as owner');
select tests.authenticate_as_anon();
select throws_ok(
  format($$ select public.connect_ad_account(%L, 'facebook', 'act_91001201', 'x', null, 1, 'ct', null) $$, :'stranger_id'),
  '42501', 'permission denied for function connect_ad_account', 'anon may not call connect_ad_account');
select tests.clear_authentication();
select ok(pg_temp.unchanged(), 'after every client attack: the members and the account are as they were');

select * from finish();
rollback;
