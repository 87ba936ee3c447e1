-- Never destroy what is not ours: an object found in a job's campaign that carries none of the
-- job's slot names (an ad set a colleague added in Ads Manager) is reported on the job and left
-- alone. Only duplicates of the job's own slots (same deterministic name) are removed.

alter table public.campaign_creation_jobs
  add column if not exists unowned_objects jsonb not null default '[]'::jsonb;
comment on column public.campaign_creation_jobs.unowned_objects is
  'Objects in the job''s campaign that adrail did not create ([{entity_type, facebook_id, name}]), as last seen; never deleted by adrail.';

create or replace function public.record_unowned_objects(
  job_id bigint,
  worker text,
  objects jsonb
) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.assert_job_claimant(job_id, worker);
  update public.campaign_creation_jobs j set unowned_objects = objects
  where j.id = record_unowned_objects.job_id;
end;
$$;
comment on function public.record_unowned_objects(bigint, text, jsonb) is
  'Replaces the job''s report of objects in its campaign that adrail did not create. Fenced on the claimant (ADR02).';
revoke execute on function public.record_unowned_objects(bigint, text, jsonb) from public, anon, authenticated;
grant execute on function public.record_unowned_objects(bigint, text, jsonb) to service_role;
