-- The local stand-ins for what hosted Supabase provides and plain Postgres lacks
-- (dev/supabase-bootstrap.sql): pg_net's and Vault's SQL interface, with their signatures, their
-- behaviour, and grants that keep both away from API clients. Sending is dev/pg-net-relay.ts's
-- job, tested in supabase/tests/db/pg-net-stand-in.test.ts.
begin;
select plan(25);

-- ---------------------------------------------------------------------------------------------
-- pg_net: the signatures adrail calls (scheduling checks net.http_post's with to_regprocedure)
-- ---------------------------------------------------------------------------------------------
select has_function('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer'],
  'net.http_post has pg_net''s signature');
select has_function('net', 'http_get', array['text', 'jsonb', 'jsonb', 'integer'],
  'net.http_get has pg_net''s signature');
select columns_are('net', '_http_response',
  array['id', 'status_code', 'content_type', 'headers', 'content', 'timed_out', 'error_msg', 'created'],
  'net._http_response has pg_net''s columns');

select net.http_post(
  url := 'http://127.0.0.1:9/hook?fixed=1',
  body := '{"job": "worker", "n": 1}',
  params := '{"a key": "ü&="}',
  headers := '{"x-cron-secret": "s3"}',
  timeout_milliseconds := 1234) as post_id \gset
select results_eq(
  'select method, url, headers, convert_from(body, ''UTF8'')::jsonb, timeout_milliseconds
   from net.http_request_queue where id = ' || :'post_id',
  $$ values ('POST'::text, 'http://127.0.0.1:9/hook?fixed=1&a%20key=%C3%BC%26%3D'::text,
             '{"x-cron-secret": "s3", "Content-Type": "application/json"}'::jsonb,
             '{"job": "worker", "n": 1}'::jsonb, 1234) $$,
  'http_post queues a POST: params encoded into the query string, the JSON body, Content-Type added');
select net.http_post('http://127.0.0.1:9/') as default_post_id \gset
select is(
  (select timeout_milliseconds from net.http_request_queue where id = :'default_post_id'),
  5000,
  'http_post''s default timeout is pg_net''s 5000 ms');
select throws_ok(
  $$ select net.http_post('http://127.0.0.1:9/', headers := '{"Content-Type": "text/plain"}') $$,
  'P0001', 'Content-Type header must be "application/json"',
  'http_post sends JSON only, as pg_net');

select net.http_get('http://127.0.0.1:9/status', '{"q": "1"}') as get_id \gset
select results_eq(
  'select method, url, headers, body from net.http_request_queue where id = ' || :'get_id',
  $$ values ('GET'::text, 'http://127.0.0.1:9/status?q=1'::text, '{}'::jsonb, null::bytea) $$,
  'http_get queues a GET without a body');

-- ---------------------------------------------------------------------------------------------
-- Vault: create, read decrypted, unique names, update
-- ---------------------------------------------------------------------------------------------
select columns_are('vault', 'decrypted_secrets',
  array['id', 'name', 'description', 'secret', 'decrypted_secret', 'key_id', 'nonce', 'created_at', 'updated_at'],
  'vault.decrypted_secrets has Vault''s columns');

select vault.create_secret('first value', 'stand_in_secret', 'a test secret') as secret_id \gset
select results_eq(
  $$ select name, description, decrypted_secret collate "default" from vault.decrypted_secrets where name = 'stand_in_secret' $$,
  $$ values ('stand_in_secret'::text, 'a test secret'::text, 'first value'::text) $$,
  'create_secret stores a secret that decrypted_secrets reads back');
select isnt(
  (select secret from vault.secrets where id = :'secret_id'),
  'first value',
  'the stored secret is not the plain text');
select throws_ok(
  $$ select vault.create_secret('other value', 'stand_in_secret') $$,
  '23505', null,
  'a second secret with the same name is refused');

select vault.update_secret(:'secret_id', 'second value');
select results_eq(
  $$ select name, description, decrypted_secret collate "default" from vault.decrypted_secrets where name = 'stand_in_secret' $$,
  $$ values ('stand_in_secret'::text, 'a test secret'::text, 'second value'::text) $$,
  'update_secret changes the value and keeps what it is not given');
select vault.update_secret(:'secret_id', new_name := 'stand_in_renamed', new_description := 'renamed');
select results_eq(
  $$ select name, description, decrypted_secret collate "default" from vault.decrypted_secrets where id = '$$ || :'secret_id' || $$' $$,
  $$ values ('stand_in_renamed'::text, 'renamed'::text, 'second value'::text) $$,
  'update_secret renames and redescribes, the value unchanged');

-- ---------------------------------------------------------------------------------------------
-- Grants: neither is any API client's; the service role may send requests, not read Vault
-- ---------------------------------------------------------------------------------------------
select tests.create_supabase_user('stand_in_user') as stand_in_user_id \gset

select tests.authenticate_as_anon();
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', null,
  'anon cannot read vault.decrypted_secrets');
select throws_ok($$ select vault.create_secret('x', 'anon_secret') $$, '42501', null,
  'anon cannot create a secret');
select throws_ok($$ select net.http_post('http://127.0.0.1:9/') $$, '42501', null,
  'anon cannot call net.http_post');
select throws_ok($$ select * from net._http_response $$, '42501', null,
  'anon cannot read pg_net''s responses');

select tests.authenticate_as('stand_in_user');
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', null,
  'authenticated cannot read vault.decrypted_secrets');
select throws_ok($$ select * from vault.secrets $$, '42501', null,
  'authenticated cannot read vault.secrets');
select throws_ok($$ select net.http_post('http://127.0.0.1:9/') $$, '42501', null,
  'authenticated cannot call net.http_post');
select throws_ok($$ select net.http_get('http://127.0.0.1:9/') $$, '42501', null,
  'authenticated cannot call net.http_get');

select tests.authenticate_as_service_role();
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', null,
  'the service role cannot read vault.decrypted_secrets (Supabase grants it nothing in vault)');
select isnt(net.http_post('http://127.0.0.1:9/'), null, 'the service role may call net.http_post');
select lives_ok($$ select id from net._http_response limit 1 $$,
  'the service role may read pg_net''s responses');

select tests.clear_authentication();
select is(
  (select count(*)::int from net.http_request_queue where id in (:'post_id', :'get_id')),
  2,
  'postgres may call net.http_post and net.http_get');

select * from finish();
rollback;
