-- Retention: the daily housekeeping deletes old delivered and dead webhook events, drained
-- request-limit buckets and adrail's old pg_cron run log rows, and nothing still useful: an event
-- not yet delivered, a bucket still holding requests, a recent run, another job's runs.
begin;
select plan(12);

select tests.create_supabase_user('ret_owner') as owner_id \gset
select tests.create_ad_account('ret_owner', 'act_95000001') as acct \gset

-- Events: one of each status, all 40 days old, and a delivered one of yesterday.
insert into public.webhook_outbox (ad_account_id, event_type, payload, status, run_id, leased_until,
                                   created_at, next_attempt_at, delivered_at)
select :'acct', 'job.completed', jsonb_build_object('n', s.n), s.status,
       case when s.status = 'delivering' then 'run' end,
       case when s.status = 'delivering' then now() end,
       now() - s.age, now() - s.age,
       case when s.status = 'delivered' then now() - s.age end
from (values (1, 'pending', interval '40 days'), (2, 'delivering', interval '40 days'),
             (3, 'delivered', interval '40 days'), (4, 'dead', interval '40 days'),
             (5, 'delivered', interval '1 day')) s(n, status, age);

-- Buckets: drained (an hour since its last minute-window request), still holding (just used),
-- and of an action without any limit left.
insert into public.request_rate_limits (action, scope, subject_id, used, used_at) values
  ('launch', 'user', :'owner_id', 30, now() - interval '1 hour'),
  ('read', 'user', :'owner_id', 5, now()),
  ('sync', 'user', :'owner_id', 3, now());
delete from public.adrail_limits where action = 'sync' and scope = 'user';

-- ---------------------------------------------------------------------------------------------
-- Clients cannot prune; bad retention is refused.
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('ret_owner');
select throws_ok($$ select private.prune_adrail_history() $$, '42501', null,
  'a signed-in user may not prune history');
select tests.clear_authentication();
select throws_ok($$ select private.prune_adrail_history('1 hour') $$, '22023',
  'history is kept at least a day', 'keeping less than a day is refused');

-- ---------------------------------------------------------------------------------------------
-- The operator (pg_cron runs it as postgres).
-- ---------------------------------------------------------------------------------------------
select private.prune_adrail_history() as pruned \gset
select is((:'pruned'::jsonb ->> 'webhookEvents')::int, 2, 'two old finished events were deleted');
select results_eq(
  format($$ select payload ->> 'n' from public.webhook_outbox where ad_account_id = %L order by 1 $$, :'acct'),
  $$ values ('1'::text), ('2'::text), ('5'::text) $$,
  'events not yet delivered, and a recent delivery, are kept');
select is(
  (select count(*) from public.request_rate_limits where subject_id = :'owner_id' and action = 'launch'),
  0::bigint, 'a drained bucket is deleted');
select is(
  (select count(*) from public.request_rate_limits where subject_id = :'owner_id' and action = 'read'),
  1::bigint, 'a bucket still holding requests is kept');
select is(
  (select count(*) from public.request_rate_limits where subject_id = :'owner_id' and action = 'sync'),
  0::bigint, 'a bucket of an action without a limit is deleted');
select ok((:'pruned'::jsonb ->> 'requestLimitBuckets')::int >= 2, 'the buckets deleted are counted');

-- A deleted bucket starts empty again: the next request is measured as before.
select is((select allowed from public.take_request_quota('launch', :'owner_id')), true,
  'a request after the pruning is allowed');
select is(
  (select used from public.request_rate_limits where subject_id = :'owner_id' and action = 'launch'),
  1::double precision, 'and counted in a fresh bucket');

-- pg_cron's run log, where pg_cron exists (the postgres database locally and on Supabase).
create function pg_temp.cron_runs_after_pruning() returns text[] language plpgsql as $$
declare
  kept text[];
begin
  if to_regclass('cron.job_run_details') is null then
    return array['adrail-worker recent', 'other old'];
  end if;
  perform cron.schedule('retention-test-other', '0 0 1 1 *', 'select 1');
  execute $sql$
    insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                      return_message, start_time, end_time)
    select j.jobid, nextval('cron.runid_seq'), 0, current_database(), current_user, j.command,
           'succeeded', r.label, now() - r.age, now() - r.age
    from cron.job j
    join (values ('adrail-creation-worker', 'adrail-worker old', interval '8 days'),
                 ('adrail-creation-worker', 'adrail-worker recent', interval '1 day'),
                 ('retention-test-other', 'other old', interval '8 days')) r(job, label, age)
      on j.jobname = r.job
  $sql$;
  perform private.prune_adrail_history();
  execute $sql$
    select array_agg(d.return_message order by d.return_message) from cron.job_run_details d
    where d.return_message in ('adrail-worker old', 'adrail-worker recent', 'other old')
  $sql$ into kept;
  return kept;
end;
$$;
select is(pg_temp.cron_runs_after_pruning(), array['adrail-worker recent', 'other old'],
  'adrail''s run log rows older than 7 days go; recent ones and other jobs'' rows stay');

select is(
  tests.cron_command('adrail-housekeeping'),
  case when to_regnamespace('cron') is null then null
       else $$ select private.prune_adrail_history() $$ end,
  'pg_cron prunes daily');

select * from finish();
rollback;
