-- Which objects a job may remove as its own copies: only those under the name of a slot whose
-- create may have been applied unseen (may_have_copies, set when the worker resolves an unknown
-- outcome), and only until the job completes; after that a same-named object is someone else's.
begin;
select plan(6);

select tests.create_supabase_user('sc_owner') as owner_id \gset
select tests.create_ad_account('sc_owner', 'act_91001401') as acct \gset
update public.campaign_creation_jobs set next_run_at = 'infinity' where next_run_at <> 'infinity';
select id as job from public.create_campaign_creation_job(:'owner_id', :'acct', 'Copies', 2, 0, '{}', 'h') \gset
update public.campaign_creation_jobs set next_run_at = '-infinity' where id = :job;
select public.claim_campaign_creation_job('w1');
select tests.advance_job(:job, 'verifying', 'in_progress');
select id as c from public.entity_creation_slots where job_id = :job and entity_type = 'campaign' \gset
select id as s1 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 1 \gset
select id as s2 from public.entity_creation_slots where job_id = :job and entity_type = 'ad_set' and slot_number = 2 \gset

select public.begin_slot_creations(:job, 'w1', array[:c, :s1, :s2]::bigint[]);
select public.record_slot_outcomes(:job, 'w1', format(
  '[{"slot_id": %s, "status": "created", "facebook_id": "sc-c"},
    {"slot_id": %s, "status": "creating", "error": "answer lost"},
    {"slot_id": %s, "status": "created", "facebook_id": "sc-s2"}]', :c, :s1, :s2)::jsonb);
select is(
  (select count(*)::int from public.entity_creation_slots where job_id = :job and may_have_copies), 0,
  'an answer, or a lost one still unresolved, says nothing of copies yet');
select public.record_slot_outcomes(:job, 'w1', format(
  '[{"slot_id": %s, "status": "created", "facebook_id": "sc-s1", "unknown_outcome": true}]', :s1)::jsonb);
select results_eq(
  format($$ select id, may_have_copies from public.entity_creation_slots where job_id = %s order by id $$, :job),
  format($$ values (%s::bigint, false), (%s, true), (%s, false) $$, :c, :s1, :s2),
  'resolving the unknown outcome marks that slot only');
select public.record_slot_outcomes(:job, 'w1', format(
  '[{"slot_id": %s, "status": "created", "facebook_id": "sc-s1"}]', :s1)::jsonb);
select is((select may_have_copies from public.entity_creation_slots where id = :s1), true,
  'and a later outcome does not unmark it');

select public.transition_campaign_creation_job(:job, 'w1', 'completed');
select is(
  (select count(*)::int from public.entity_creation_slots where job_id = :job and may_have_copies), 0,
  'completing (every object read back, copies removed) settles every doubt');

-- A verify reopens it: a same-named object found now is someone else's.
select public.request_job_verification(:job, (select user_id from public.campaign_creation_jobs where id = :job));
select is(
  (select count(*)::int from public.entity_creation_slots where job_id = :job and may_have_copies), 0,
  'a verify does not bring the doubt back');
select tests.authenticate_as('sc_owner');
select is(tests.affected_rows(format($$ update public.entity_creation_slots set may_have_copies = true where id = %s $$, :s1)),
  0::bigint, 'a client cannot mark its slots to have a colleague''s objects removed');
select tests.clear_authentication();

select * from finish();
rollback;
