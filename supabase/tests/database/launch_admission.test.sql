-- A launch's admission (20261205100500_launch_admission.sql): admit_campaign_launch answers the
-- account with its object limits to a member who may launch; a replayed key's job, taking
-- nothing; ADR04, ADR06 and ADR09 as the checks it stands for; and the first quota that refuses,
-- what was taken before it staying taken. now() is fixed inside this transaction.
begin;
select plan(14);

select tests.create_supabase_user('la_owner') as owner_id \gset
select tests.create_supabase_user('la_viewer') as viewer_id \gset
select tests.create_supabase_user('la_stranger') as stranger_id \gset
select tests.create_ad_account('la_owner', 'act_91000951') as acct \gset
select tests.add_ad_account_member('act_91000951', 'la_viewer', 'viewer');
update public.ad_accounts set ad_set_limit = 40 where id = :'acct';

-- ---------------------------------------------------------------------------------------------
-- A member who may launch
-- ---------------------------------------------------------------------------------------------
select results_eq(
  format($$ select account_id, campaign_limit, ad_set_limit, ad_limit, replayed_job_id, refused_action
            from public.admit_campaign_launch(%L, 'act_91000951', null, 3) $$, :'owner_id'),
  format($$ values (%L::uuid, 5000, 40, 5000, null::bigint, null::text) $$, :'acct'),
  'the owner is admitted: the account and its object limits, nothing replayed or refused');
select is(
  (select used from public.request_rate_limits
   where action = 'requested_entities' and scope = 'user' and subject_id = :'owner_id'),
  3::double precision,
  'the entities asked for are taken from the user''s bucket');
select is(
  (select used from public.request_rate_limits
   where action = 'launch' and scope = 'account' and subject_id = :'acct'),
  1::double precision,
  'and one launch from the account''s');

-- ---------------------------------------------------------------------------------------------
-- A replayed Idempotency-Key
-- ---------------------------------------------------------------------------------------------
select (public.create_campaign_creation_job(:'owner_id', :'acct', 'la 1', 1, 1, '{}', 'hash-1', 'la-key')).id as job1 \gset
select results_eq(
  format($$ select replayed_job_id, replayed_status, replayed_request_hash
            from public.admit_campaign_launch(%L, 'act_91000951', 'la-key', 3) $$, :'owner_id'),
  format($$ values (%s::bigint, 'pending'::text, 'hash-1'::text) $$, :'job1'),
  'a replayed key answers its job and the request hash it was made for');
select is(
  (select used from public.request_rate_limits
   where action = 'launch' and scope = 'account' and subject_id = :'acct'),
  1::double precision,
  'and takes no quota');

-- ---------------------------------------------------------------------------------------------
-- Refusals
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select * from public.admit_campaign_launch(%L, 'act_91000951', null, 3) $$, :'stranger_id'),
  'ADR04', 'ad account not found', 'a stranger: the account is not found');
select throws_ok(
  format($$ select * from public.admit_campaign_launch(%L, 'act_91000959', null, 3) $$, :'owner_id'),
  'ADR04', 'ad account not found', 'an account that does not exist: the same answer');
select throws_ok(
  format($$ select * from public.admit_campaign_launch(%L, 'act_91000951', null, 3) $$, :'viewer_id'),
  'ADR06', 'your role on this ad account does not allow launch', 'a viewer may not launch');

insert into public.adrail_limits (action, scope, ad_account_id, quota, window_seconds)
values ('requested_entities', 'account', :'acct', 10, 3600);
select results_eq(
  format($$ select refused_action, refused_scope, refused_quota, refused_window_seconds
            from public.admit_campaign_launch(%L, 'act_91000951', null, 11) $$, :'owner_id'),
  $$ values ('requested_entities'::text, 'account'::text, 10, 3600) $$,
  'more entities than the account may ask for: refused, with the limit');
select is(
  (select used from public.request_rate_limits
   where action = 'launch' and scope = 'account' and subject_id = :'acct'),
  2::double precision,
  'the launch quota taken before the refusal stays taken');

insert into public.adrail_limits (action, scope, ad_account_id, quota, window_seconds)
values ('launch', 'account', :'acct', 2, 60);
select results_eq(
  format($$ select refused_action, refused_scope, refused_quota, retry_after_seconds > 0
            from public.admit_campaign_launch(%L, 'act_91000951', null, 1) $$, :'owner_id'),
  $$ values ('launch'::text, 'account'::text, 2, true) $$,
  'the account''s launches used up: refused with the seconds to wait');
select is(
  (select used from public.request_rate_limits
   where action = 'requested_entities' and scope = 'user' and subject_id = :'owner_id'),
  3::double precision,
  'and no entities taken');

insert into public.adrail_limits (action, scope, ad_account_id, quota) values ('active_jobs', 'account', :'acct', 1);
select throws_ok(
  format($$ select * from public.admit_campaign_launch(%L, 'act_91000951', null, 1) $$, :'owner_id'),
  'ADR09', format('account %s would have 2 creation jobs under way, its limit is 1', :'acct'),
  'no room for another job under way: ADR09, before any quota');
select is(
  (select used from public.request_rate_limits
   where action = 'launch' and scope = 'account' and subject_id = :'acct'),
  2::double precision,
  'and nothing taken');

select * from finish();
rollback;
