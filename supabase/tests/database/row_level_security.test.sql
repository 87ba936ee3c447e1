-- Row-level security: RLS is on for every public table; on every table and dashboard view a
-- member sees their account's rows (and only those), a non-member sees none of them, anon sees
-- nothing; clients (even the account's owner) cannot insert, update or delete anything.
--
-- Account A (act_91000401): rls_owner (owner), rls_member (viewer). Account B (act_91000402):
-- rls_stranger (owner). A has 1 job, B has 2, so aggregated views tell them apart.
begin;
select plan(155);

select tests.create_supabase_user('rls_owner') as owner_id \gset
select tests.create_supabase_user('rls_member') as member_id \gset
select tests.create_supabase_user('rls_stranger') as stranger_id \gset
select tests.create_ad_account('rls_owner', 'act_91000401') as acct_a \gset
select tests.create_ad_account('rls_stranger', 'act_91000402') as acct_b \gset
select tests.add_ad_account_member('act_91000401', 'rls_member', 'viewer');

-- Seed, as the postgres role: entities, a status change (log row owing a final sync), a metrics
-- row, jobs with slots, a failed pre-creation verification; one job per account stuck in
-- progress with an expired lease, a retry and a silent failure.
do $$
declare
  acct uuid;
  uid uuid;
  x text;
  j bigint;
  k int;
begin
  foreach x in array array['a', 'b'] loop
    acct := tests.get_ad_account_id(case x when 'a' then 'act_91000401' else 'act_91000402' end);
    uid := tests.get_supabase_uid(case x when 'a' then 'rls_owner' else 'rls_stranger' end);
    insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status) values (acct, 'rls-' || x || '-c', 'c', 'ACTIVE');
    insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values (acct, 'rls-' || x || '-as', 'as', 'ACTIVE');
    insert into public.ads (ad_account_id, platform_ad_id, name, status) values (acct, 'rls-' || x || '-ad', 'ad', 'ACTIVE');
    update public.ad_campaigns set status = 'PAUSED' where platform_campaign_id = 'rls-' || x || '-c';
    insert into public.ad_metrics_daily (entity_type, platform_entity_id, ad_account_id, date, impressions)
    values ('ad', 'rls-' || x || '-ad', acct, '2026-11-01', 10);
    insert into public.pre_creation_verifications (user_id, ad_account_id, campaign_name, can_proceed, verification_time_ms, errors)
    values (uid, acct, 'rls launch', false, 12, '["account disabled"]');
    insert into public.webhook_outbox (ad_account_id, event_type, payload) values (acct, 'sync.completed', '{}');
    for k in 1 .. case x when 'a' then 1 else 2 end loop
      j := (public.create_campaign_creation_job(uid, acct, 'rls launch ' || k, 1, 1, '{}', 'h')).id;
      if k = 1 then
        perform tests.advance_job(j, 'verifying', 'in_progress');
        update public.campaign_creation_jobs
        set locked_by = 'dead', locked_until = now() - interval '1 minute', retry_count = 1
        where id = j;
        update public.entity_creation_slots set silent_failures = 1 where job_id = j and entity_type = 'ad';
        insert into public.creation_job_audit (job_id, ad_account_id, entity_type, facebook_id, action, fields)
        values (j, acct, 'ad', 'rls-' || x || '-audit', 'deleted_by_rollback', '{"name": "ad"}');
      end if;
    end loop;
    perform public.record_meta_usage(acct, 10, 20, 30);
    insert into public.ad_account_settings (ad_account_id, requires_approval, daily_budget_cap)
    values (acct, false, 100000);
    insert into public.campaign_creation_job_decisions (job_id, decision, decided_by, reason)
    select j2.id, 'rejected', uid, 'rls' from public.campaign_creation_jobs j2 where j2.ad_account_id = acct;
  end loop;
end;
$$;
select id as job_a from public.campaign_creation_jobs where ad_account_id = :'acct_a' \gset

-- The tables, how to find account A's rows in each, what a member of A and the owner of B see,
-- and what a client would try to write.
create temp table rls_tables (
  n int, tbl text, a_rows text, b_rows text, member_sees int, stranger_sees int,
  insert_sql text, update_sql text, delete_sql text
) on commit drop;
insert into rls_tables
select n, tbl, a_rows, b_rows, member_sees, stranger_sees, insert_sql,
       format('update public.%I set %s where %s', tbl, set_clause, a_rows),
       format('delete from public.%I where %s', tbl, a_rows)
from (values
  (1, 'ad_accounts', format('id = %L', :'acct_a'), format('id = %L', :'acct_b'), 1, 1,
   -- The ciphertext columns are not writable by clients at all (client_privileges.test.sql).
   format($$ insert into public.ad_accounts (user_id, platform_account_id) values (%L, 'act_91000499') $$, :'owner_id'),
   $$ name = 'hacked', account_status = 2 $$),
  (2, 'ad_account_members', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 2, 1,
   format($$ insert into public.ad_account_members (ad_account_id, user_id, role) values (%L, %L, 'owner') $$, :'acct_a', :'stranger_id'),
   $$ role = 'owner' $$),
  (3, 'ad_campaigns', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status) values (%L, 'rls-x-c', 'x', 'ACTIVE') $$, :'acct_a'),
   $$ status = 'DELETED', name = 'hacked' $$),
  (4, 'ad_sets', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values (%L, 'rls-x-as', 'x', 'ACTIVE') $$, :'acct_a'),
   $$ status = 'DELETED', name = 'hacked' $$),
  (5, 'ads', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ads (ad_account_id, platform_ad_id, name, status) values (%L, 'rls-x-ad', 'x', 'ACTIVE') $$, :'acct_a'),
   $$ status = 'DELETED', name = 'hacked' $$),
  (6, 'ad_metrics_daily', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_metrics_daily (entity_type, platform_entity_id, ad_account_id, date) values ('ad', 'rls-x-ad', %L, '2026-11-02') $$, :'acct_a'),
   $$ impressions = 0, spend = 0 $$),
  (7, 'ad_status_change_log', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_status_change_log (entity_type, entity_id, platform, platform_entity_id, ad_account_id, new_status)
             values ('ad', gen_random_uuid(), 'facebook', 'rls-x-ad', %L, 'PAUSED') $$, :'acct_a'),
   $$ final_sync_completed = true, locked_by = 'client' $$),
  (8, 'campaign_creation_jobs', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 2,
   format($$ insert into public.campaign_creation_jobs (user_id, ad_account_id, campaign_name, requested_ad_sets, requested_ads, ads_per_ad_set, request, request_hash)
             values (%L, %L, 'x', 1, 1, 1, '{}', 'h') $$, :'owner_id', :'acct_a'),
   $$ status = 'failed', retry_budget = 50, locked_by = 'client' $$),
  (9, 'entity_creation_slots',
   format('job_id in (select j.id from public.campaign_creation_jobs j where j.ad_account_id = %L)', :'acct_a'),
   format('job_id in (select j.id from public.campaign_creation_jobs j where j.ad_account_id = %L)', :'acct_b'), 3, 6,
   format($$ insert into public.entity_creation_slots (job_id, slot_number, entity_type, parent_slot_number, entity_name) values (%s, 99, 'ad_set', 1, 'x') $$, :job_a),
   $$ facebook_id = 'hacked', silent_failures = 0 $$),
  (10, 'pre_creation_verifications', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.pre_creation_verifications (user_id, ad_account_id, campaign_name, can_proceed, verification_time_ms) values (%L, %L, 'x', true, 1) $$, :'owner_id', :'acct_a'),
   $$ can_proceed = true $$),
  (11, 'creation_job_audit', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.creation_job_audit (job_id, ad_account_id, entity_type, facebook_id, action, fields) values (%s, %L, 'ad', 'x', 'deleted_by_rollback', '{}') $$, :job_a, :'acct_a'),
   $$ fields = '{}' $$),
  (12, 'ad_account_meta_usage', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_account_meta_usage (ad_account_id) values (%L) $$, :'acct_b'),
   $$ app_usage_pct = 0, recorded_at = now() $$),
  (13, 'ad_account_settings', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ad_account_settings (ad_account_id) values (gen_random_uuid()) $$),
   $$ requires_approval = true, daily_budget_cap = null $$),
  (14, 'campaign_creation_job_decisions',
   format('job_id in (select j.id from public.campaign_creation_jobs j where j.ad_account_id = %L)', :'acct_a'),
   format('job_id in (select j.id from public.campaign_creation_jobs j where j.ad_account_id = %L)', :'acct_b'), 1, 2,
   format($$ insert into public.campaign_creation_job_decisions (job_id, decision) values (%s, 'approved') $$, :job_a),
   $$ decision = 'approved', reason = 'hacked' $$),
  (15, 'budget_ledger', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 2,
   format($$ insert into public.budget_ledger (ad_account_id, job_id, entry, amount, balance_after) values (%L, %s, 'release', 0, 0) $$, :'acct_a', :job_a),
   $$ amount = 0 $$),
  (16, 'ads_sync_schedules', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.ads_sync_schedules (ad_account_id) values (%L) $$, :'acct_b'),
   $$ interval_minutes = 1 $$),
  (17, 'webhook_outbox', format('ad_account_id = %L', :'acct_a'), format('ad_account_id = %L', :'acct_b'), 1, 1,
   format($$ insert into public.webhook_outbox (ad_account_id, event_type, payload) values (%L, 'job.completed', '{}') $$, :'acct_a'),
   $$ status = 'dead' $$)
) t(n, tbl, a_rows, b_rows, member_sees, stranger_sees, insert_sql, set_clause);
grant select on rls_tables to authenticated, anon;

-- Fingerprint of account A's rows in every table, taken before any client write is attempted.
create temp table rls_fingerprint (tbl text, fp text) on commit drop;
do $$
declare
  t record;
  fp text;
begin
  for t in select * from rls_tables loop
    execute format('select md5(coalesce(string_agg(x::text, %L order by x::text), %L)) from public.%I x where %s', '|', '', t.tbl, t.a_rows)
    into fp;
    insert into rls_fingerprint values (t.tbl, fp);
  end loop;
end;
$$;

create temp table rls_views (n int, view_name text, per_account boolean) on commit drop;
insert into rls_views values
  (1, 'creation_job_outcomes_24h', false), (2, 'creation_job_retry_usage', true),
  (3, 'verification_discrepancies', true), (4, 'pre_creation_verification_failures', true),
  (5, 'rollback_rate_daily', false), (6, 'stuck_creation_jobs', true), (7, 'final_sync_backlog', true),
  (8, 'campaign_creation_job_progress', true), (9, 'account_rate_limits', true),
  (10, 'ad_account_budgets', true), (11, 'webhook_deliveries', true);
grant select on rls_views to authenticated, anon;

-- ---------------------------------------------------------------------------------------------
-- RLS is on everywhere, and clients have read policies only.
-- ---------------------------------------------------------------------------------------------
select tests.rls_enabled('public');
select is_empty(
  $$ select tablename, policyname, cmd from pg_policies where schemaname = 'public' and cmd <> 'SELECT' $$,
  'no insert, update, delete or ALL policy exists: clients write nothing directly');
select set_eq(
  $$ select tablename::text, roles::text from pg_policies where schemaname = 'public' $$,
  $$ select tbl, '{authenticated}' from rls_tables $$,
  'every table has one read policy, for authenticated only (none for anon)');

-- ---------------------------------------------------------------------------------------------
-- Member of A (a viewer)
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('rls_member');
select results_eq(
  format('select count(*)::int, count(*) filter (where %s)::int from public.%I', t.a_rows, t.tbl),
  format('values (%s, %s)', t.member_sees, t.member_sees),
  format('member: sees exactly account A''s rows of %s', t.tbl))
from (select * from rls_tables order by n) t;
select results_eq(
  case when v.per_account
    then format('select count(*)::int, count(*) filter (where ad_account_id = %L)::int from public.%I', :'acct_a', v.view_name)
    else format('select sum(jobs)::int, sum(jobs)::int from public.%I', v.view_name) end,
  $$ values (1, 1) $$,
  format('member: %s shows account A only', v.view_name))
from (select * from rls_views order by n) v;

-- ---------------------------------------------------------------------------------------------
-- Stranger (owner of B, not a member of A)
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('rls_stranger');
select results_eq(
  format('select count(*) filter (where %s)::int, count(*) filter (where %s)::int, count(*)::int from public.%I', t.a_rows, t.b_rows, t.tbl),
  format('values (0, %s, %s)', t.stranger_sees, t.stranger_sees),
  format('non-member: sees none of account A''s rows of %s (only their own)', t.tbl))
from (select * from rls_tables order by n) t;
select results_eq(
  case when v.per_account
    then format('select count(*) filter (where ad_account_id = %L)::int, (count(*) > 0) from public.%I', :'acct_a', v.view_name)
    else format('select (sum(jobs) - 2)::int, sum(jobs) = 2 from public.%I', v.view_name) end,
  $$ values (0, true) $$,
  format('non-member: %s shows nothing of account A', v.view_name))
from (select * from rls_views order by n) v;

-- ---------------------------------------------------------------------------------------------
-- Anon
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select results_eq(
  format('select count(*)::int from public.%I', t.tbl),
  $$ values (0) $$,
  format('anon: sees nothing in %s', t.tbl))
from (select * from rls_tables order by n) t;
select results_eq(
  format('select count(*)::int from public.%I', v.view_name),
  $$ values (0) $$,
  format('anon: sees nothing in %s', v.view_name))
from (select * from rls_views order by n) v;

-- ---------------------------------------------------------------------------------------------
-- Client writes, as the owner of A: refused.
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('rls_owner');
select throws_ok(
  t.insert_sql, '42501', format('new row violates row-level security policy for table "%s"', t.tbl),
  format('owner: cannot insert into %s', t.tbl))
from (select * from rls_tables order by n) t;
select is(tests.affected_rows(t.update_sql), 0::bigint, format('owner: an update of %s affects no row', t.tbl))
from (select * from rls_tables order by n) t;
select is(tests.affected_rows(t.delete_sql), 0::bigint, format('owner: a delete from %s affects no row', t.tbl))
from (select * from rls_tables order by n) t;
select tests.clear_authentication();

select results_eq(
  format('select md5(coalesce(string_agg(x::text, %L order by x::text), %L)) from public.%I x where %s', '|', '', t.tbl, t.a_rows),
  format('values (%L)', f.fp),
  format('%s: account A''s rows are unchanged after the refused writes', t.tbl))
from (select * from rls_tables order by n) t join rls_fingerprint f on f.tbl = t.tbl order by t.n;

select * from finish();
rollback;
