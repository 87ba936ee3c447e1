-- Object limits per ad account. Pre-creation verification refuses a launch that would take the
-- account's live (non-deleted) campaigns, ad sets or ads above these limits; a launch that lands
-- exactly on a limit is accepted. The defaults are Meta's caps for a regular ad account (5000
-- each, as the Marketing API documents them and the simulator enforces them); an operator raises
-- them for a bulk account, or lowers them to keep headroom, with an update:
--   update public.ad_accounts set ad_limit = 20000 where platform_account_id = 'act_123';

alter table public.ad_accounts
  add column if not exists campaign_limit integer not null default 5000
    constraint ad_accounts_campaign_limit_nonnegative check (campaign_limit >= 0),
  add column if not exists ad_set_limit integer not null default 5000
    constraint ad_accounts_ad_set_limit_nonnegative check (ad_set_limit >= 0),
  add column if not exists ad_limit integer not null default 5000
    constraint ad_accounts_ad_limit_nonnegative check (ad_limit >= 0);
comment on column public.ad_accounts.campaign_limit is
  'Most live (non-deleted) campaigns a launch may bring the account to; default 5000, Meta''s cap for a regular ad account. Set by operators (SQL); reconnecting the account keeps it.';
comment on column public.ad_accounts.ad_set_limit is
  'Most live (non-deleted) ad sets a launch may bring the account to; default 5000, Meta''s cap for a regular ad account. Set by operators (SQL); reconnecting the account keeps it.';
comment on column public.ad_accounts.ad_limit is
  'Most live (non-deleted) ads a launch may bring the account to; default 5000, Meta''s cap for a regular ad account. Set by operators (SQL); reconnecting the account keeps it.';

-- What each verification held the launch to, and what it counted on Meta.
alter table public.pre_creation_verifications
  add column if not exists current_ad_set_count integer,
  add column if not exists current_ad_count integer,
  add column if not exists ad_set_limit integer,
  add column if not exists ad_limit integer;
comment on column public.pre_creation_verifications.current_campaign_count is
  'Live campaigns counted on Meta during verification; null when they could not be counted.';
comment on column public.pre_creation_verifications.account_limit is
  'The account''s campaign_limit the launch was held to.';
comment on column public.pre_creation_verifications.current_ad_set_count is
  'Live ad sets counted on Meta during verification; null when they could not be counted.';
comment on column public.pre_creation_verifications.current_ad_count is
  'Live ads counted on Meta during verification; null when they could not be counted.';
comment on column public.pre_creation_verifications.ad_set_limit is
  'The account''s ad_set_limit the launch was held to.';
comment on column public.pre_creation_verifications.ad_limit is
  'The account''s ad_limit the launch was held to.';
