-- Status-change triggers: every status change is logged; leaving ACTIVE for PAUSED, DELETED or
-- ARCHIVED (any letter case) flags a final sync; an unchanged status writes nothing.
begin;
select plan(6);

select tests.create_supabase_user('owner');
select tests.create_ad_account('owner', 'act_100');

insert into public.ad_campaigns (ad_account_id, platform_campaign_id, name, status)
select id, 'c1', 'Campaign 1', 'ACTIVE' from public.ad_accounts where platform_account_id = 'act_100';

update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'c1';
select is((select count(*)::int from public.ad_status_change_log), 0, 'an unchanged status writes no log row');

update public.ad_campaigns set status = 'active' where platform_campaign_id = 'c1';
select is((select count(*)::int from public.ad_status_change_log), 0, 'a change of letter case only writes no log row');

update public.ad_campaigns set status = 'paused' where platform_campaign_id = 'c1';
select results_eq(
  $$ select entity_type, platform_entity_id, old_status, new_status, requires_final_sync
     from public.ad_status_change_log $$,
  $$ values ('campaign', 'c1', 'active', 'paused', true) $$,
  'ACTIVE -> paused (lower case) is logged and flags a final sync'
);
select results_eq(
  $$ select previous_status, status_changed_at is not null from public.ad_campaigns where platform_campaign_id = 'c1' $$,
  $$ values ('active', true) $$,
  'the trigger stamps previous_status and status_changed_at'
);

update public.ad_campaigns set status = 'ACTIVE' where platform_campaign_id = 'c1';
select is(
  (select requires_final_sync from public.ad_status_change_log where new_status = 'ACTIVE'),
  false,
  'PAUSED -> ACTIVE is logged without a final sync'
);
select is(
  (select count(*)::int from public.get_entities_needing_final_sync(
     (select id from public.ad_accounts where platform_account_id = 'act_100'))),
  1,
  'get_entities_needing_final_sync lists the pending final sync'
);

select * from finish();
rollback;
