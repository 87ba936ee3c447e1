-- Completion webhooks: an owner sets the URL; job and sync outcomes land in the outbox in the
-- transaction of the change (and only for accounts with a webhook); deliverer runs claim due
-- events, record each attempt under their claim, retry with exponential backoff and give up after
-- the last attempt. Members read their accounts' events and the dashboard view.
begin;
select plan(25);

select tests.create_supabase_user('wh_owner') as owner_id \gset
select tests.create_supabase_user('wh_launcher') as launcher_id \gset
select tests.create_supabase_user('wh_stranger') as stranger_id \gset
select tests.create_ad_account('wh_owner', 'act_94000001') as acct \gset
select tests.create_ad_account('wh_owner', 'act_94000002') as quiet \gset
select tests.add_ad_account_member('act_94000001', 'wh_launcher', 'launcher');
select public.set_webhook_retry_policy(10, 3);
-- Only this file's events are due here.
update public.webhook_outbox set next_attempt_at = now() + interval '1 day' where status = 'pending';

-- ---------------------------------------------------------------------------------------------
-- Owners set the webhook.
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  format($$ select public.set_ad_account_webhook(%L, %L, 'https://hooks.example.com/a', 'v1:0badc0de:x') $$, :'launcher_id', :'acct'),
  'ADR06', 'your role on this ad account does not allow manage_webhook',
  'a launcher may not set the webhook (ADR06)');
select throws_ok(
  format($$ select public.set_ad_account_webhook(%L, %L, 'https://hooks.example.com/a', 'v1:0badc0de:x') $$, :'stranger_id', :'acct'),
  'ADR04', 'ad account not found',
  'a stranger learns nothing (ADR04)');
select throws_ok(
  format($$ select public.set_ad_account_webhook(%L, %L, 'https://hooks.example.com/a', null) $$, :'owner_id', :'acct'),
  '23514', null,
  'a URL without a secret is refused');
select lives_ok(
  format($$ select public.set_ad_account_webhook(%L, %L, 'https://hooks.example.com/a', 'v1:0badc0de:x') $$, :'owner_id', :'acct'),
  'the owner sets it');

-- ---------------------------------------------------------------------------------------------
-- Outcomes are written in the change's own transaction, for accounts with a webhook only.
-- ---------------------------------------------------------------------------------------------
select (public.create_campaign_creation_job(:'owner_id', :'acct', 'wh launch', 1, 1, '{}', 'h')).id as job \gset
select (public.create_campaign_creation_job(:'owner_id', :'quiet', 'wh quiet', 1, 1, '{}', 'h')).id as quiet_job \gset
select is((select count(*) from public.webhook_outbox where ad_account_id = :'acct'), 0::bigint,
  'a job under way is no event');
select tests.advance_job(:job, 'verifying', 'in_progress', 'completed');
select tests.advance_job(:quiet_job, 'verifying', 'in_progress', 'completed');
select results_eq(
  format($$ select event_type, payload ->> 'jobId', payload ->> 'campaignName', status
            from public.webhook_outbox where ad_account_id = %L $$, :'acct'),
  format($$ values ('job.completed'::text, %L::text, 'wh launch'::text, 'pending'::text) $$, :job),
  'a completed job writes job.completed, pending');
select is((select count(*) from public.webhook_outbox where ad_account_id = :'quiet'), 0::bigint,
  'an account without a webhook gets no events');
select public.claim_ads_sync(:'acct') as lease \gset
select public.finish_ads_sync(:'lease', 'failed', '{"error": "meta_unavailable", "message": "later"}');
select results_eq(
  format($$ select event_type, payload ->> 'trigger', payload -> 'report' ->> 'error'
            from public.webhook_outbox where ad_account_id = %L and event_type like 'sync.%%' $$, :'acct'),
  $$ values ('sync.failed'::text, 'user'::text, 'meta_unavailable'::text) $$,
  'a failed sync writes sync.failed with who started it and its error');
select throws_ok(
  format($$ insert into public.webhook_outbox (ad_account_id, event_type, payload) values (%L, 'jobs done', '{}') $$, :'acct'),
  '23514', null,
  'event types are job.<outcome> or sync.<outcome>');

-- ---------------------------------------------------------------------------------------------
-- Deliverer runs: claim, record under the claim, back off, give up.
-- ---------------------------------------------------------------------------------------------
select id as ev from public.webhook_outbox where ad_account_id = :'acct' and event_type = 'job.completed' \gset
select id as ev2 from public.webhook_outbox where ad_account_id = :'acct' and event_type = 'sync.failed' \gset
select results_eq(
  $$ select event_type, attempts, webhook_url, webhook_secret_ciphertext from public.claim_webhook_events('run-a', 10) $$,
  $$ values ('job.completed'::text, 1, 'https://hooks.example.com/a'::text, 'v1:0badc0de:x'::text),
            ('sync.failed'::text, 1, 'https://hooks.example.com/a'::text, 'v1:0badc0de:x'::text) $$,
  'a run claims the due events with the URL and the encrypted secret, counting the attempt');
select is_empty($$ select * from public.claim_webhook_events('run-b', 10) $$,
  'another run finds them claimed');
select throws_ok(
  format($$ select public.record_webhook_attempt(%s, 'run-b', 200) $$, :ev),
  'ADR20', format('webhook event %s is not being delivered by run-b', :ev),
  'only the claiming run records an attempt (ADR20)');
select is(public.record_webhook_attempt(:ev, 'run-a', 500), 'pending',
  'a 500 leaves the event pending');
select results_eq(
  format($$ select next_attempt_at, last_status_code from public.webhook_outbox where id = %s $$, :ev),
  $$ values (now() + interval '10 seconds', 500) $$,
  'retried after the base delay');
select is(public.record_webhook_attempt(:ev2, 'run-a', 204), 'delivered', 'a 2xx delivers');
select is(public.next_webhook_event_due_at(), now() + interval '10 seconds',
  'the next due event is the one retrying');

update public.webhook_outbox set next_attempt_at = now() where id = :ev;
select is((select attempts from public.claim_webhook_events('run-c', 10)), 2, 'second attempt');
select is(public.record_webhook_attempt(:ev, 'run-c', null, 'no answer within 10000 ms'), 'pending',
  'no answer is a failed attempt');
select is((select next_attempt_at from public.webhook_outbox where id = :ev), now() + interval '20 seconds',
  'the delay doubles');
update public.webhook_outbox set next_attempt_at = now() where id = :ev;
select is((select attempts from public.claim_webhook_events('run-d', 10)), 3, 'third attempt');
-- A killed run's claim expires: the next run takes the event over.
update public.webhook_outbox set leased_until = now() - interval '1 second' where id = :ev;
select is((select attempts from public.claim_webhook_events('run-e', 10)), 4,
  'an expired claim is taken over (the lost attempt counts)');
select is(public.record_webhook_attempt(:ev, 'run-e', 503), 'dead',
  'past max_attempts the event is dead');

-- ---------------------------------------------------------------------------------------------
-- Clients: members read their accounts' events and the view.
-- ---------------------------------------------------------------------------------------------
select tests.authenticate_as('wh_launcher');
select results_eq(
  $$ select platform_account_id, delivered::int, dead::int, pending::int from public.webhook_deliveries $$,
  $$ values ('act_94000001'::text, 1, 1, 0) $$,
  'a member sees its account''s deliveries');
select tests.authenticate_as('wh_stranger');
select is((select count(*) from public.webhook_outbox), 0::bigint, 'a stranger sees no event');
select tests.clear_authentication();

select throws_ok($$ select public.set_webhook_retry_policy(0, 3) $$,
  '22023', 'the webhook retry policy takes 1 to 3600 seconds and 1 to 20 attempts, got 0 and 3',
  'a retry policy out of bounds is refused');

select * from finish();
rollback;
