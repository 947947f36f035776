-- The orchestrator's step 5: claiming a run atomically. Columns a run needs beyond the
-- seed's (all nullable or defaulted), and one function that every entry point calls.

alter table public.integration_logs
  add column if not exists trigger text not null default 'manual',
  add column if not exists actor_id uuid,
  add column if not exists attempt integer not null default 1,
  add column if not exists total_created integer not null default 0,
  add column if not exists total_updated integer not null default 0,
  add column if not exists total_unchanged integer not null default 0,
  add column if not exists total_failed integer not null default 0,
  add column if not exists heartbeat_at timestamptz,
  add column if not exists finished_at timestamptz;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'integration_logs_trigger_check') then
    alter table public.integration_logs add constraint integration_logs_trigger_check
      check (trigger in ('manual', 'api', 'schedule', 'webhook', 'retry'));
  end if;
end $$;

-- History and "what is running" are read by tenant, newest first.
create index if not exists integration_logs_tenant_provider_created_idx
  on public.integration_logs (tenant_id, provider_slug, created_at desc);
create index if not exists integration_logs_running_idx
  on public.integration_logs (tenant_id, provider_slug) where status = 'running';

-- Claims a run of one tenant integration for the caller (auth.uid()), atomically:
--   * the caller must belong to the tenant (staff may run; RLS would hide the row anyway);
--   * no such integration for the tenant  -> SQLSTATE P0002 'integration_not_found';
--   * the integration is disabled         -> SQLSTATE 55000 'integration_disabled';
--   * a run is already going              -> claimed = false and the running execution_id;
--   * otherwise last_status = 'running', last_run = now(), a log row 'running' is written
--     and its execution_id returned with claimed = true.
-- The row lock (`for update`) serialises concurrent claims: of N simultaneous callers one
-- claims, the others wait for it and then see it running.
-- Security definer because staff may run an integration but not update its configuration;
-- the function checks membership itself.
create or replace function public.claim_integration_run(
  _tenant uuid, _provider_slug text, _trigger text
) returns table (execution_id uuid, claimed boolean)
  language plpgsql security definer set search_path = public
  as $$
declare
  ti record;
  running_id uuid;
  new_id uuid;
begin
  if not public.is_tenant_member(_tenant) and coalesce(auth.jwt() ->> 'role', '') <> 'service_role' then
    raise exception 'integration_not_found' using errcode = 'P0002';
  end if;

  select t.id, t.is_enabled, t.last_status into ti
  from public.tenant_integrations t
  join public.integration_providers p on p.id = t.provider_id
  where t.tenant_id = _tenant and p.slug = _provider_slug
  for update of t;

  if not found then
    raise exception 'integration_not_found' using errcode = 'P0002';
  end if;
  if not ti.is_enabled then
    raise exception 'integration_disabled' using errcode = '55000';
  end if;

  if ti.last_status = 'running' then
    select l.execution_id into running_id
    from public.integration_logs l
    where l.tenant_id = _tenant::text and l.provider_slug = _provider_slug and l.status = 'running'
    order by l.created_at desc
    limit 1;
    if running_id is not null then
      return query select running_id, false;
      return;
    end if;
    -- last_status says running but no log row does: a crash left it behind; claim anew.
  end if;

  update public.tenant_integrations
  set last_status = 'running', last_run = now(), last_error = null
  where id = ti.id;

  insert into public.integration_logs
    (tenant_id, integration, provider_slug, status, trigger, actor_id, heartbeat_at)
  values
    (_tenant::text, _provider_slug, _provider_slug, 'running', _trigger, auth.uid(), now())
  returning integration_logs.execution_id into new_id;

  return query select new_id, true;
end
$$;

revoke all on function public.claim_integration_run(uuid, text, text) from public;
grant execute on function public.claim_integration_run(uuid, text, text) to authenticated, service_role;
