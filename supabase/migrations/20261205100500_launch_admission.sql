-- A launch's admission in one round trip. Before it verifies anything on Meta, a launch asks five
-- things of the database: the account (the member's role allows launching), the job its
-- Idempotency-Key already names, the room for one more job, and two quotas (the account's
-- launches, the entities asked for). Each was a statement of its own, and on Deno every round trip
-- costs the function's isolate CPU (a quarter of a millisecond in postgres.js) and a millisecond of
-- waiting (postgres.js flushes from a setImmediate, a 1 ms timer there): a burst of launches into
-- one isolate is bounded by its CPU.

create or replace function public.admit_campaign_launch(
  user_id uuid,
  platform_account_id text,
  idempotency_key text,
  requested_entities integer
) returns table (
  account_id uuid,
  account_platform text,
  access_token_ciphertext text,
  app_secret_ciphertext text,
  campaign_limit integer,
  ad_set_limit integer,
  ad_limit integer,
  replayed_job_id bigint,
  replayed_status text,
  replayed_request_hash text,
  refused_action text,
  retry_after_seconds integer,
  refused_scope text,
  refused_quota integer,
  refused_window_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  account public.ad_accounts;
  replay record;
  taking record;
begin
  select * into account from public.ad_account_for_member(
    admit_campaign_launch.user_id, 'facebook', admit_campaign_launch.platform_account_id, 'launch');
  account_id := account.id;
  account_platform := account.platform;
  access_token_ciphertext := account.access_token_ciphertext;
  app_secret_ciphertext := account.app_secret_ciphertext;
  campaign_limit := account.campaign_limit;
  ad_set_limit := account.ad_set_limit;
  ad_limit := account.ad_limit;

  if admit_campaign_launch.idempotency_key is not null then
    select j.id, j.status, j.request_hash into replay from public.campaign_creation_jobs j
    where j.user_id = admit_campaign_launch.user_id
      and j.idempotency_key = admit_campaign_launch.idempotency_key;
    if found then
      replayed_job_id := replay.id;
      replayed_status := replay.status;
      replayed_request_hash := replay.request_hash;
      return next;
      return;
    end if;
  end if;

  perform public.check_creation_job_room(admit_campaign_launch.user_id, account.id);

  for taking in
    select q.action, q.user_id, q.cost from (values
      (1, 'launch', null::uuid, 1),
      (2, 'requested_entities', admit_campaign_launch.user_id, admit_campaign_launch.requested_entities)
    ) as q (position, action, user_id, cost)
    order by q.position
  loop
    select t.retry_after_seconds, t.scope, t.quota, t.window_seconds
    into retry_after_seconds, refused_scope, refused_quota, refused_window_seconds
    from public.take_request_quota(taking.action, taking.user_id, account.id, taking.cost) t
    where not t.allowed;
    if found then
      refused_action := taking.action;
      return next;
      return;
    end if;
  end loop;
  return next;
end;
$$;
comment on function public.admit_campaign_launch(uuid, text, text, integer) is
  'A launch before its verification, in one call: the ad account (ADR04, ADR06 as ad_account_for_member for launch) with its object limits; the job the user''s idempotency key already names (replayed_*: nothing else is checked or taken); else ADR09 as check_creation_job_room, then the account''s launch quota and the entities quota (user and account), stopping at the first refusal (refused_*: what was taken before it stays taken).';
revoke execute on function public.admit_campaign_launch(uuid, text, text, integer) from public, anon, authenticated;
grant execute on function public.admit_campaign_launch(uuid, text, text, integer) to service_role;
