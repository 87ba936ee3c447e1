-- Status-change triggers: every status change of a campaign, ad set or ad is logged; leaving
-- ACTIVE for PAUSED, DELETED or ARCHIVED (any letter case) flags a final sync; an unchanged
-- status writes nothing. Every query filters on this file's own ad account, so rows other
-- files or earlier runs left behind cannot change an outcome.
begin;
select plan(36);

select tests.create_supabase_user('sct_owner') as owner_id \gset
select tests.create_supabase_user('sct_member') as member_id \gset
select tests.create_ad_account('sct_owner', 'act_91000001') as acct \gset
select tests.add_ad_account_member('act_91000001', 'sct_member', 'launcher');

-- The three triggers, on the right tables, all running the one logging function.
select trigger_is('public', 'ad_campaigns', 'trigger_log_campaign_status_change', 'private', 'log_status_change',
  'ad_campaigns has trigger_log_campaign_status_change');
select trigger_is('public', 'ad_sets', 'trigger_log_adset_status_change', 'private', 'log_status_change',
  'ad_sets has trigger_log_adset_status_change');
select trigger_is('public', 'ads', 'trigger_log_ad_status_change', 'private', 'log_status_change',
  'ads has trigger_log_ad_status_change');

-- ---------------------------------------------------------------------------------------------
-- The first scenario: one campaign, step by step.
-- ---------------------------------------------------------------------------------------------
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status)
values (:'acct', 'sct-c1', 'Campaign 1', 'ACTIVE');

update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'sct-c1';
select is(
  (select count(*)::int from public.ad_status_change_log where ad_account_id = tests.get_ad_account_id('act_91000001')),
  0, 'an unchanged status writes no log row');

update public.ad_campaigns set status = 'active' where platform_campaign_id = 'sct-c1';
select is(
  (select count(*)::int from public.ad_status_change_log where ad_account_id = tests.get_ad_account_id('act_91000001')),
  0, 'a change of letter case only writes no log row');

update public.ad_campaigns set status = 'paused' where platform_campaign_id = 'sct-c1';
select results_eq(
  $$ select entity_type, platform_entity_id, old_status, new_status, requires_final_sync
     from public.ad_status_change_log where ad_account_id = tests.get_ad_account_id('act_91000001') $$,
  $$ values ('campaign', 'sct-c1', 'active', 'paused', true) $$,
  'ACTIVE -> paused (lower case) is logged and flags a final sync'
);
select results_eq(
  $$ select previous_status, status_changed_at is not null from public.ad_campaigns where platform_campaign_id = 'sct-c1' $$,
  $$ values ('active', true) $$,
  'the trigger stamps previous_status and status_changed_at'
);

update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'sct-c1';
select is(
  (select requires_final_sync from public.ad_status_change_log
   where ad_account_id = tests.get_ad_account_id('act_91000001') and new_status = 'ACTIVE'),
  false,
  'PAUSED -> ACTIVE is logged without a final sync'
);
select is(
  (select count(*)::int from public.get_entities_needing_final_sync(tests.get_ad_account_id('act_91000001'))),
  1,
  'get_entities_needing_final_sync lists the pending final sync'
);
select results_eq(
  $$ select old_status, new_status from public.ad_status_change_log
     where ad_account_id = tests.get_ad_account_id('act_91000001') and platform_entity_id = 'sct-c1' order by id $$,
  $$ values ('active', 'paused'), ('paused', 'ACTIVE') $$,
  'each change of one entity is its own log row, in order'
);

-- ---------------------------------------------------------------------------------------------
-- Every ordered pair of ACTIVE / PAUSED / DELETED / ARCHIVED, on all three tables, changed by
-- one multi-row update per table (the trigger fires per row).
-- Platform ids: 'sctm:<type>:<old>:<new>'.
-- ---------------------------------------------------------------------------------------------
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status)
select :'acct', format('sctm:campaign:%s:%s', o, n), format('c %s %s', o, n), o
from unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) o, unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) n
where o <> n;
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status)
select :'acct', format('sctm:ad_set:%s:%s', o, n), format('as %s %s', o, n), o
from unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) o, unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) n
where o <> n;
insert into public.ads (ad_account_id, platform_ad_id, name, status)
select :'acct', format('sctm:ad:%s:%s', o, n), format('ad %s %s', o, n), o
from unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) o, unnest(array['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED']) n
where o <> n;

update public.ad_campaigns set status = split_part(platform_campaign_id, ':', 4)
where ad_account_id = :'acct' and platform_campaign_id like 'sctm:%';
update public.ad_sets set status = split_part(platform_ad_set_id, ':', 4)
where ad_account_id = :'acct' and platform_ad_set_id like 'sctm:%';
update public.ads set status = split_part(platform_ad_id, ':', 4)
where ad_account_id = :'acct' and platform_ad_id like 'sctm:%';

select results_eq(
  format($$ select old_status, new_status, requires_final_sync from public.ad_status_change_log
            where ad_account_id = %L and entity_type = %L and platform_entity_id like 'sctm:%%'
            order by old_status, new_status $$, :'acct', t.entity_type),
  $$ values
    ('ACTIVE', 'ARCHIVED', true), ('ACTIVE', 'DELETED', true), ('ACTIVE', 'PAUSED', true),
    ('ARCHIVED', 'ACTIVE', false), ('ARCHIVED', 'DELETED', false), ('ARCHIVED', 'PAUSED', false),
    ('DELETED', 'ACTIVE', false), ('DELETED', 'ARCHIVED', false), ('DELETED', 'PAUSED', false),
    ('PAUSED', 'ACTIVE', false), ('PAUSED', 'ARCHIVED', false), ('PAUSED', 'DELETED', false) $$,
  format('%s: every status pair is logged once; only ACTIVE -> PAUSED/DELETED/ARCHIVED flags a final sync', t.entity_type)
)
from (values (1, 'campaign'), (2, 'ad_set'), (3, 'ad')) t(n, entity_type) order by t.n;

-- ---------------------------------------------------------------------------------------------
-- Letter case: the final-sync rule is case-insensitive; statuses outside the four are logged
-- but never flag a final sync.  Platform ids: 'sctc:<type>:<n>'.
-- ---------------------------------------------------------------------------------------------
create temp table sct_case (n int, old_status text, new_status text) on commit drop;
insert into sct_case values
  (1, 'Active', 'paused'), (2, 'active', 'Archived'), (3, 'ACTIVE', 'deleted'),
  (4, 'paused', 'ACTIVE'), (5, 'ACTIVE', 'WITH_ISSUES'), (6, 'IN_PROCESS', 'PAUSED');

insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status)
select :'acct', 'sctc:campaign:' || n, 'case ' || n, old_status from sct_case;
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status)
select :'acct', 'sctc:ad_set:' || n, 'case ' || n, old_status from sct_case;
insert into public.ads (ad_account_id, platform_ad_id, name, status)
select :'acct', 'sctc:ad:' || n, 'case ' || n, old_status from sct_case;

update public.ad_campaigns e set status = c.new_status from sct_case c where e.platform_campaign_id = 'sctc:campaign:' || c.n;
update public.ad_sets e set status = c.new_status from sct_case c where e.platform_ad_set_id = 'sctc:ad_set:' || c.n;
update public.ads e set status = c.new_status from sct_case c where e.platform_ad_id = 'sctc:ad:' || c.n;

select results_eq(
  format($$ select old_status, new_status, requires_final_sync from public.ad_status_change_log
            where ad_account_id = %L and entity_type = %L and platform_entity_id like 'sctc:%%'
            order by split_part(platform_entity_id, ':', 3)::int $$, :'acct', t.entity_type),
  $$ values ('Active', 'paused', true), ('active', 'Archived', true), ('ACTIVE', 'deleted', true),
            ('paused', 'ACTIVE', false), ('ACTIVE', 'WITH_ISSUES', false), ('IN_PROCESS', 'PAUSED', false) $$,
  format('%s: leaving ACTIVE is recognised in any letter case; other statuses never flag a final sync', t.entity_type)
)
from (values (1, 'campaign'), (2, 'ad_set'), (3, 'ad')) t(n, entity_type) order by t.n;

-- ---------------------------------------------------------------------------------------------
-- Nothing is logged when the status does not change: same value, letter case only, or an
-- update of other columns. Platform ids: 'sctu:<type>'.
-- ---------------------------------------------------------------------------------------------
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status) values (:'acct', 'sctu:campaign', 'u', 'ACTIVE');
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values (:'acct', 'sctu:ad_set', 'u', 'ACTIVE');
insert into public.ads (ad_account_id, platform_ad_id, name, status) values (:'acct', 'sctu:ad', 'u', 'ACTIVE');

update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'sctu:campaign';
update public.ad_campaigns set status = 'Active' where platform_campaign_id = 'sctu:campaign';
update public.ad_campaigns set name = 'renamed', effective_status = 'CAMPAIGN_PAUSED' where platform_campaign_id = 'sctu:campaign';
update public.ad_sets set status = 'ACTIVE' where platform_ad_set_id = 'sctu:ad_set';
update public.ad_sets set status = 'Active' where platform_ad_set_id = 'sctu:ad_set';
update public.ad_sets set name = 'renamed', effective_status = 'CAMPAIGN_PAUSED' where platform_ad_set_id = 'sctu:ad_set';
update public.ads set status = 'ACTIVE' where platform_ad_id = 'sctu:ad';
update public.ads set status = 'Active' where platform_ad_id = 'sctu:ad';
update public.ads set name = 'renamed', effective_status = 'ADSET_PAUSED' where platform_ad_id = 'sctu:ad';

select is(
  (select count(*)::int from public.ad_status_change_log
   where ad_account_id = :'acct' and entity_type = t.entity_type and platform_entity_id = 'sctu:' || t.entity_type),
  0,
  format('%s: same status, letter case only, or other columns changed: no log row', t.entity_type)
)
from (values (1, 'campaign'), (2, 'ad_set'), (3, 'ad')) t(n, entity_type) order by t.n;

select results_eq(
  format($$ select status, previous_status, status_changed_at from public.%I where %I = %L $$,
         t.tbl, t.id_col, 'sctu:' || t.entity_type),
  $$ values ('Active'::text, null::text, null::timestamptz) $$,
  format('%s: a case-only change does not stamp previous_status or status_changed_at', t.entity_type)
)
from (values (1, 'campaign', 'ad_campaigns', 'platform_campaign_id'),
             (2, 'ad_set', 'ad_sets', 'platform_ad_set_id'),
             (3, 'ad', 'ads', 'platform_ad_id')) t(n, entity_type, tbl, id_col) order by t.n;

-- ---------------------------------------------------------------------------------------------
-- The log row's fields, per entity type. Platform ids: 'sctf:<type>'. No JWT: the account
-- owner is the user of record.
-- ---------------------------------------------------------------------------------------------
insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status, effective_status)
values (:'acct', 'sctf:campaign', 'Fields campaign', 'ACTIVE', 'ACTIVE') returning id as f_campaign \gset
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status, effective_status)
values (:'acct', 'sctf:ad_set', 'Fields ad set', 'ACTIVE', 'ACTIVE') returning id as f_ad_set \gset
insert into public.ads (ad_account_id, platform, platform_ad_id, name, status, effective_status)
values (:'acct', 'tiktok', 'sctf:ad', 'Fields ad', 'ACTIVE', 'ACTIVE') returning id as f_ad \gset

update public.ad_campaigns set status = 'PAUSED', effective_status = 'PAUSED' where id = :'f_campaign';
update public.ad_sets set status = 'ARCHIVED', effective_status = 'ARCHIVED' where id = :'f_ad_set';
update public.ads set status = 'DELETED', effective_status = 'DELETED' where id = :'f_ad';

select results_eq(
  format($$ select entity_type, entity_id, platform, platform_entity_id, ad_account_id, user_id,
                   old_status, new_status, requires_final_sync, final_sync_completed,
                   final_sync_attempts, final_sync_error, final_sync_attempted_at, metadata
            from public.ad_status_change_log where ad_account_id = %L and platform_entity_id = %L $$,
         :'acct', 'sctf:' || t.entity_type),
  format($$ values (%L::text, %L::uuid, %L::text, %L::text, %L::uuid, %L::uuid, 'ACTIVE'::text, %L::text,
                    true, false, 0, null::text, null::timestamptz, %L::jsonb) $$,
         t.entity_type, t.entity_id, t.platform, 'sctf:' || t.entity_type, :'acct', :'owner_id', t.new_status,
         jsonb_build_object('name', t.name, 'old_effective_status', 'ACTIVE', 'new_effective_status', t.new_status)),
  format('%s: the log row carries entity, platform ids, account, user, statuses and metadata', t.entity_type)
)
from (values (1, 'campaign', :'f_campaign'::uuid, 'facebook', 'PAUSED', 'Fields campaign'),
             (2, 'ad_set', :'f_ad_set'::uuid, 'facebook', 'ARCHIVED', 'Fields ad set'),
             (3, 'ad', :'f_ad'::uuid, 'tiktok', 'DELETED', 'Fields ad')) t(n, entity_type, entity_id, platform, new_status, name)
order by t.n;

select results_eq(
  format($$ select previous_status, status_changed_at = now() from public.%I where id = %L $$, t.tbl, t.entity_id),
  $$ values ('ACTIVE'::text, true) $$,
  format('%s: previous_status and status_changed_at are stamped on the entity', t.entity_type)
)
from (values (1, 'campaign', 'ad_campaigns', :'f_campaign'::uuid),
             (2, 'ad_set', 'ad_sets', :'f_ad_set'::uuid),
             (3, 'ad', 'ads', :'f_ad'::uuid)) t(n, entity_type, tbl, entity_id) order by t.n;

select is(
  (select count(*)::int from public.get_entities_needing_final_sync(:'acct') where platform_entity_id like 'sctf:%'),
  3,
  'all three flagged changes are owed a final sync'
);

-- ---------------------------------------------------------------------------------------------
-- With a JWT in the request, the acting user is the user of record.
-- ---------------------------------------------------------------------------------------------
insert into public.ads (ad_account_id, platform_ad_id, name, status) values (:'acct', 'sctj:ad', 'jwt', 'ACTIVE');
select set_config('request.jwt.claims', json_build_object('sub', :'member_id', 'role', 'service_role')::text, true) as claims \gset
update public.ads set status = 'PAUSED' where platform_ad_id = 'sctj:ad';
select tests.clear_authentication();
select is(
  (select user_id from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'sctj:ad'),
  :'member_id'::uuid,
  'the log row records auth.uid() of the request when there is one'
);

-- ---------------------------------------------------------------------------------------------
-- The sync's upsert path (insert ... on conflict do update) fires the trigger too.
-- ---------------------------------------------------------------------------------------------
insert into public.ad_sets (ad_account_id, platform_ad_set_id, name, status) values (:'acct', 'scto:ad_set', 'upsert', 'ACTIVE');
insert into public.ad_sets as s (ad_account_id, platform_ad_set_id, name, status)
values (:'acct', 'scto:ad_set', 'upsert', 'PAUSED')
on conflict (platform, platform_ad_set_id) do update set status = excluded.status, name = excluded.name;
select results_eq(
  format($$ select old_status, new_status, requires_final_sync from public.ad_status_change_log
            where ad_account_id = %L and platform_entity_id = 'scto:ad_set' $$, :'acct'),
  $$ values ('ACTIVE', 'PAUSED', true) $$,
  'an upsert that changes the status is logged and flags a final sync'
);
insert into public.ad_sets as s (ad_account_id, platform_ad_set_id, name, status)
values (:'acct', 'scto:ad_set', 'upsert', 'PAUSED')
on conflict (platform, platform_ad_set_id) do update set status = excluded.status, name = excluded.name;
select is(
  (select count(*)::int from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'scto:ad_set'),
  1,
  'an upsert with the same status writes no further log row'
);

-- ---------------------------------------------------------------------------------------------
-- The log is written per statement: a later statement of the same transaction that leaves the
-- status alone logs nothing more, and a statement that fails logs nothing at all. Platform ids
-- 'sctr:<n>'.
-- ---------------------------------------------------------------------------------------------
insert into public.ads (ad_account_id, platform_ad_id, name, status) values
  (:'acct', 'sctr:1', 'r1', 'ACTIVE'), (:'acct', 'sctr:2', 'r2', 'ACTIVE');
update public.ads set status = 'PAUSED' where platform_ad_id = 'sctr:1';
update public.ads set name = 'r1 renamed', status = 'PAUSED' where platform_ad_id = 'sctr:1';
select is(
  (select count(*)::int from public.ad_status_change_log where ad_account_id = :'acct' and platform_entity_id = 'sctr:1'),
  1,
  'a later update of the same transaction that keeps the status writes no second log row');
select throws_ok(
  $$ update public.ads set status = 'PAUSED', name = case when platform_ad_id = 'sctr:2' then null else name end
     where platform_ad_id in ('sctr:1', 'sctr:2') $$,
  '23502', null,
  'an update that changes a status and then fails on another row');
select results_eq(
  $$ select a.status, (select count(*)::int from public.ad_status_change_log l
                       where l.entity_id = a.id and l.entity_type = 'ad')
     from public.ads a where a.platform_ad_id = 'sctr:2' $$,
  $$ values ('ACTIVE'::text, 0) $$,
  'leaves neither the change nor a log row');

-- The whole log of this account is exactly what the cases above produced: sct-c1 2, pairs 36,
-- letter case 18, unchanged 0, fields 3, JWT 1, upsert 1, per statement 1.
select is(
  (select count(*)::int from public.ad_status_change_log where ad_account_id = :'acct'),
  2 + 36 + 18 + 0 + 3 + 1 + 1 + 1,
  'the account''s log holds exactly one row per status change made in this file'
);

select * from finish();
rollback;
