-- Test bootstrap: what hosted Supabase provides and a plain PostgreSQL 15 lacks.
-- Never a migration: on Supabase all of this already exists. Idempotent.
-- Mirrors Supabase's roles, the auth schema's helpers (reading request.jwt.claims the way
-- PostgREST sets it), the extensions schema, Supabase's default grants on public, and stand-ins
-- for pg_net (with dev/pg-net-relay.ts as its worker) and Vault.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists pgtap with schema extensions;
-- On by default on Supabase (the dashboard's Query Performance reads it); the bench counts statements with it.
create extension if not exists pg_stat_statements with schema extensions;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key,
  email text unique,
  role text not null default 'authenticated',
  aud text not null default 'authenticated',
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- Supabase's default privileges on public: every API role may reach every object, and
-- row-level security is what actually guards the rows.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- Supabase puts the extensions schema on the search path of every connection.
do $$
begin
  execute format('alter database %I set search_path = "$user", public, extensions', current_database());
end
$$;

-- pg_net stand-in: the SQL interface of pg_net 0.x (supabase/pg_net, sql/pg_net.sql) on plain
-- PostgreSQL. net.http_post/http_get only queue the request; dev/pg-net-relay.ts plays pg_net's
-- background worker: it reads committed rows only, so a request leaves after its transaction
-- commits and never if it rolls back, and it writes the answer to net._http_response.
create schema if not exists net;
comment on schema net is 'Local stand-in for pg_net (never on Supabase, where pg_net provides it).';

create unlogged table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds int not null
);
comment on table net.http_request_queue is
  'Requests waiting for the relay (pg_net''s worker), which deletes each one as it takes it. Unlogged, as in pg_net.';

create unlogged table if not exists net._http_response (
  id bigint,
  status_code int,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);
comment on table net._http_response is
  'One row per request sent, under its request id: the answer, or timed_out/error_msg. The relay deletes rows older than 6 hours (pg_net.ttl).';

create or replace function net._urlencode_string(string varchar) returns text
language sql immutable strict
set search_path = ''
as $$
  select coalesce(string_agg(
    case when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
         then chr(b) else '%' || upper(lpad(to_hex(b), 2, '0')) end, '' order by i), '')
  from (select i, get_byte(convert_to(string, 'UTF8'), i) as b
        from generate_series(0, octet_length(convert_to(string, 'UTF8')) - 1) i) bytes
$$;
comment on function net._urlencode_string(varchar) is
  'Percent-encodes every byte of the UTF-8 string but the unreserved ones (RFC 3986), as curl_easy_escape does.';

create or replace function net._encode_url_with_params_array(url text, params_array text[]) returns text
language sql immutable strict
set search_path = ''
as $$
  select case when cardinality(params_array) = 0 then url
              else url || case when strpos(url, '?') > 0 then '&' else '?' end
                       || array_to_string(params_array, '&') end
$$;
comment on function net._encode_url_with_params_array(text, text[]) is
  'Appends encoded key=value pairs to the URL''s query string.';

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values (
    'GET',
    net._encode_url_with_params_array(http_get.url, (
      select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
      from jsonb_each_text(http_get.params))),
    http_get.headers,
    http_get.timeout_milliseconds)
  returning id into request_id;
  return request_id;
end;
$$;
comment on function net.http_get(text, jsonb, jsonb, integer) is
  'pg_net''s http_get: queues a GET (params become the query string), sent after commit; returns the request id.';

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  request_id bigint;
  content_type text := (select h.value from jsonb_each_text(coalesce(http_post.headers, '{}'::jsonb)) h
                        where lower(h.key) = 'content-type' limit 1);
begin
  -- As pg_net: JSON only, and the header is added when the caller's headers leave it out.
  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (
    'POST',
    net._encode_url_with_params_array(http_post.url, (
      select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
      from jsonb_each_text(http_post.params))),
    http_post.headers,
    convert_to(http_post.body::text, 'UTF8'),
    http_post.timeout_milliseconds)
  returning id into request_id;
  return request_id;
end;
$$;
comment on function net.http_post(text, jsonb, jsonb, jsonb, integer) is
  'pg_net''s http_post: queues a POST of the JSON body (params become the query string), sent after commit; returns the request id.';

create or replace function net._wake_relay() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Delivered at commit (never on rollback): the relay wakes at once instead of at its next poll.
  perform pg_notify('net_http_request_queue', '');
  return null;
end;
$$;
comment on function net._wake_relay() is
  'Notifies channel net_http_request_queue, which dev/pg-net-relay.ts listens on (pg_net calls net.wake()).';
create or replace trigger wake_relay after insert on net.http_request_queue
  for each statement execute function net._wake_relay();

-- Only the service role (and postgres) may queue requests or read answers: the net schema is
-- no API role's business. (Hosted Supabase is looser: pg_net grants them to PUBLIC.)
revoke all on schema net from public;
revoke all on all tables in schema net from public;
revoke all on all sequences in schema net from public;
revoke all on all functions in schema net from public;
grant usage on schema net to service_role;
grant all on all tables in schema net to service_role;
grant all on all sequences in schema net to service_role;
grant execute on all functions in schema net to service_role;

-- Vault stand-in: the SQL interface of supabase_vault 0.3 (secrets, create_secret,
-- update_secret, decrypted_secrets). Secrets are stored encrypted like Vault's (base64
-- ciphertext in secret, a per-secret nonce), but with pgcrypto's AES-256 under a fixed key
-- written here: it keeps plain text out of `secret`, it protects nothing. Local only.
create schema if not exists vault;
comment on schema vault is 'Local stand-in for Supabase Vault (never on Supabase, where supabase_vault provides it).';

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default extensions.gen_random_bytes(16),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table vault.secrets is
  'Secrets, encrypted (base64 in secret); read them through vault.decrypted_secrets.';

create or replace function vault._local_key() returns bytea
language sql immutable
set search_path = ''
as $$ select extensions.digest('adrail local vault stand-in', 'sha256') $$;
comment on function vault._local_key() is 'The fixed local key of the Vault stand-in (not a secret: it is in this file).';

create or replace function vault._encrypt(secret text, nonce bytea) returns text
language sql immutable strict
set search_path = ''
as $$
  select encode(extensions.encrypt_iv(convert_to(secret, 'UTF8'), vault._local_key(), nonce, 'aes-cbc/pad:pkcs'), 'base64')
$$;
comment on function vault._encrypt(text, bytea) is 'Encrypts a secret with its nonce as IV; base64, as Vault stores it.';

create or replace view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       convert_from(
         extensions.decrypt_iv(decode(s.secret, 'base64'), vault._local_key(), s.nonce, 'aes-cbc/pad:pkcs'),
         'UTF8') as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
from vault.secrets s;
comment on view vault.decrypted_secrets is 'vault.secrets with each secret decrypted (decrypted_secret), as Vault''s view.';

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
  secret_id uuid := gen_random_uuid();
  secret_nonce bytea := extensions.gen_random_bytes(16);
begin
  -- new_key_id is ignored, as in Vault 0.3 (one key).
  insert into vault.secrets (id, name, description, secret, nonce)
  values (secret_id, new_name, new_description, vault._encrypt(new_secret, secret_nonce), secret_nonce);
  return secret_id;
end;
$$;
comment on function vault.create_secret(text, text, text, uuid) is
  'Stores a secret encrypted under a name (unique) and returns its id, as Vault''s create_secret.';

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
  -- Null arguments keep the current value; new_key_id is ignored, as in Vault 0.3.
  update vault.secrets s
  set secret = coalesce(vault._encrypt(new_secret, s.nonce), s.secret),
      name = coalesce(new_name, s.name),
      description = coalesce(new_description, s.description),
      updated_at = now()
  where s.id = secret_id;
end;
$$;
comment on function vault.update_secret(uuid, text, text, text, uuid) is
  'Changes a secret''s value, name or description (null keeps it), as Vault''s update_secret.';

-- As on Supabase, Vault is postgres's alone: no API role may read it or call it.
revoke all on schema vault from public;
revoke all on all tables in schema vault from public;
revoke all on all functions in schema vault from public;
