-- release_status_change_claims: a run stopped by its budget gives back the status-change rows it
-- claimed (final syncs or attribution tails) and did not reach. Only its own claims, nothing else
-- of the rows changes (no attempt, no error recorded), and only the service role may call it.
begin;
select plan(6);

select tests.create_supabase_user('sccr_owner') as owner_id \gset
select tests.create_ad_account('sccr_owner', 'act_91000301') as acct \gset

insert into public.ads (ad_account_id, platform_ad_id, name, status) values
  (:'acct', 'sccr-ad1', 'ad1', 'ACTIVE'), (:'acct', 'sccr-ad2', 'ad2', 'ACTIVE'),
  (:'acct', 'sccr-ad3', 'ad3', 'ACTIVE');
update public.ads set status = 'PAUSED' where ad_account_id = :'acct';

-- Two runs: one claims two final syncs, the other the third.
select count(*) from public.claim_final_syncs('sccr-run-1', :'acct', 2);
select count(*) from public.claim_final_syncs('sccr-run-2', :'acct', 2);

-- ---------------------------------------------------------------------------------------------
-- service role
-- ---------------------------------------------------------------------------------------------
select is(
  public.release_status_change_claims('sccr-run-1'), 2,
  'answers how many of its rows the run gave back'
);
select results_eq(
  format($$ select locked_by, locked_until is not null from public.ad_status_change_log
            where ad_account_id = %L and locked_by is not null $$, :'acct'),
  $$ values ('sccr-run-2'::text, true) $$,
  'the other run keeps its claim'
);
select is(
  (select count(*)::int from public.ad_status_change_log
   where ad_account_id = :'acct' and (final_sync_attempted_at is not null
     or final_sync_error is not null or final_sync_completed)),
  0,
  'nothing else of the rows changed: no attempt, no error, still owed'
);
select is(
  public.release_status_change_claims('sccr-run-1'), 0,
  'released again: nothing left to give back'
);
select is(
  (select count(*)::int from public.claim_final_syncs('sccr-run-3', :'acct', 10)), 2,
  'another run claims the released rows at once'
);

-- ---------------------------------------------------------------------------------------------
-- anon and authenticated
-- ---------------------------------------------------------------------------------------------
select ok(
  tests.service_role_only('public.release_status_change_claims(text)'),
  'only the service role may release claims'
);

select * from finish();
rollback;
