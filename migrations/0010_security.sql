-- Issue "Security", the database part: what a signed-in user can do through PostgREST (as
-- `authenticated`, with our JWT) and what `anon` can do, tightened. Every statement here
-- is written for that caller; backend/tests/security.rs attacks each one as that caller.

-- Who is the trusted back end: the database role in use, never a claim. The server
-- switches to `service_role` with `set_config('role', ...)` (backend::scope); a PostgREST
-- request runs as `authenticated` or `anon` and cannot call `set_config`. A connection
-- with no role switched counts when its login role is a superuser or bypasses RLS (the
-- migration runner, the server's own pool). `current_setting('role')` keeps the caller's
-- role inside security-definer functions, so this works from them too.
create or replace function public.caller_is_service() returns boolean
  language sql stable set search_path = public
  as $$
    select case coalesce(current_setting('role', true), 'none')
             when 'service_role' then true
             when 'none' then exists (select 1 from pg_roles r
                                      where r.rolname = session_user
                                        and (r.rolsuper or r.rolbypassrls))
             else false
           end
  $$;
revoke all on function public.caller_is_service() from public, anon;
grant execute on function public.caller_is_service() to authenticated, service_role;

-- 1. Run history is written by the engine only. Claims go through claim_integration_run.
drop policy if exists "integration_logs: members insert" on public.integration_logs;
revoke insert, update, delete, truncate on public.integration_logs from public, anon, authenticated;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'integration_logs_status_check') then
    -- Not validated against old rows: the customer's history is kept as it is.
    alter table public.integration_logs add constraint integration_logs_status_check
      check (status in ('success', 'partial', 'error', 'running')) not valid;
  end if;
end $$;

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
  if not public.caller_is_service() then
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

  -- What is running is what the log says (last_status is a summary for the cards).
  select l.execution_id into running_id
  from public.integration_logs l
  where l.tenant_id = _tenant::text and l.provider_slug = _provider_slug and l.status = 'running'
  order by l.created_at desc
  limit 1;
  if running_id is not null then
    return query select running_id, false;
    return;
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
-- The server's only: it checks the caller's membership under RLS, then claims and
-- enqueues as service_role in the caller's transaction (backend::engine::start_run), so a
-- claim never exists without its queue job, and the per-user run limit, the plan gate and
-- the audit source cannot be skipped through PostgREST.
revoke all on function public.claim_integration_run(uuid, text, text) from public, anon, authenticated;
grant execute on function public.claim_integration_run(uuid, text, text) to service_role;

-- The queue is the server's: a user's claim is handed to it by the server, switched to
-- service_role in the same transaction (backend::engine::start_run).
create or replace function public.enqueue_integration_run(
  _execution_id uuid, _attempt integer, _run_at timestamptz default null
) returns void
  language plpgsql security definer set search_path = public
  as $$
begin
  if not public.caller_is_service() then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  if not exists (select 1 from public.integration_logs
                 where execution_id = _execution_id and attempt = _attempt
                   and status = 'running') then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  perform graphile_worker.add_job(
    'run_integration',
    json_build_object('execution_id', _execution_id, 'attempt', _attempt),
    run_at := coalesce(_run_at, now()),
    max_attempts := 3,
    job_key := 'run:' || _execution_id || ':' || _attempt,
    job_key_mode := 'preserve_run_at');
end
$$;
revoke all on function public.enqueue_integration_run(uuid, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.enqueue_integration_run(uuid, integer, timestamptz) to service_role;

-- 2. Profiles: a user may change their own name, nothing else; the e-mail follows the
-- account and `ativo` is a global admin's decision.
create or replace function public.profiles_guard() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if public.caller_is_service() or public.is_global_admin() then
    return new;
  end if;
  -- Everything but the name (and the timestamp its trigger sets) must stay as it was.
  if (to_jsonb(new) - 'nome' - 'updated_at') is distinct from (to_jsonb(old) - 'nome' - 'updated_at') then
    raise exception 'só o nome pode ser alterado pelo próprio usuário' using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function public.profiles_guard() from public, anon, authenticated;
drop trigger if exists profiles_guard on public.profiles;
create trigger profiles_guard before update on public.profiles
  for each row execute function public.profiles_guard();
revoke all on public.profiles from anon;

-- 3. Memberships: only global admins add or remove people; a tenant admin changes the
-- role of someone already in their tenant, never their own.
drop policy if exists "user_tenants: tenant admin write" on public.user_tenants;
drop policy if exists "user_tenants: tenant admin changes roles" on public.user_tenants;
create policy "user_tenants: tenant admin changes roles" on public.user_tenants
  for update to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[])
         and user_id <> (select auth.uid()))
  with check (tenant_id = any ((select public.admin_tenant_ids())::uuid[])
              and user_id <> (select auth.uid()));
drop policy if exists "user_tenants: global admin write" on public.user_tenants;
create policy "user_tenants: global admin write" on public.user_tenants
  for all to authenticated
  using ((select public.is_global_admin())) with check ((select public.is_global_admin()));
revoke all on public.user_tenants from anon;
revoke insert, update, delete, truncate on public.user_tenants from authenticated;
grant insert, delete on public.user_tenants to authenticated;  -- the global admin's policy
grant update (role) on public.user_tenants to authenticated;   -- and a tenant admin's
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'user_tenants_role_check') then
    alter table public.user_tenants add constraint user_tenants_role_check
      check (role in ('admin', 'staff')) not valid;
  end if;
end $$;

-- tenant_integrations: what a tenant admin may write through PostgREST is what the portal
-- writes for them (the configuration, on/off, the schedule); the run summary
-- (last_status, last_error, last_run), the provider and the webhook address are the
-- server's. Sizes are bounded (each change is copied into the audit trail).
revoke insert, update on public.tenant_integrations from anon, authenticated;
grant insert (tenant_id, provider, provider_id, base_url, is_enabled, config)
  on public.tenant_integrations to authenticated;
grant update (is_enabled, config, base_url, schedule, schedule_last_at)
  on public.tenant_integrations to authenticated;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'tenant_integrations_sizes_check') then
    alter table public.tenant_integrations add constraint tenant_integrations_sizes_check
      check (pg_column_size(config) <= 65536
             and char_length(base_url) <= 2048
             and coalesce(char_length(schedule), 0) <= 100) not valid;
  end if;
  if not exists (select 1 from pg_constraint where conname = 'profiles_nome_length_check') then
    alter table public.profiles add constraint profiles_nome_length_check
      check (char_length(nome) <= 200) not valid;
  end if;
end $$;

-- The webhook address is the server's to hand out: a tenant admin cannot choose it.
create or replace function public.tenant_integrations_guard() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if public.caller_is_service() then
    return new;
  end if;
  if tg_op = 'INSERT' then
    new.webhook_token := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
  elsif new.webhook_token is distinct from old.webhook_token then
    raise exception 'webhook_token_not_allowed' using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function public.tenant_integrations_guard() from public, anon, authenticated;
drop trigger if exists tenant_integrations_guard on public.tenant_integrations;
create trigger tenant_integrations_guard before insert or update on public.tenant_integrations
  for each row execute function public.tenant_integrations_guard();

-- 4. No function of ours (nor the customer's security-definer helpers) runs for `anon`,
-- and `public` gets nothing by default. What `authenticated` needs is granted by name.
do $$
declare f record;
begin
  for f in
    select p.oid::regprocedure as sig
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('revoke all on function %s from public, anon', f.sig);
  end loop;
end $$;
-- New functions too: each is granted by name to the role that needs it.
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;

grant execute on function
  public.has_role(uuid, public.app_role), public.is_global_admin(),
  public.is_tenant_member(uuid), public.is_tenant_admin(uuid), public.log_tenant_id(text),
  public.member_tenant_ids(), public.admin_tenant_ids(), public.url_origin(text),
  public.caller_is_service()
  to authenticated, service_role;
-- tenant_role is is_tenant_member's helper only.
revoke execute on function public.tenant_role(uuid) from authenticated;
