-- Sessions the server can end (issue "Security", items 2 and 7). Every token the portal
-- issues names its session (`sid`); signing out revokes it, "Sair de todos os
-- dispositivos" revokes all of the user's and refuses any older token of theirs (tokens
-- that Supabase signs carry no `sid`: `revoked_before` covers them), and a deactivated
-- user (profiles.ativo = false) is refused on the next request. The server checks this
-- on every request, as service_role, by primary key.

create table if not exists public.portal_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text check (char_length(user_agent) <= 300)
);
create index if not exists portal_sessions_user_idx on public.portal_sessions (user_id)
  where revoked_at is null;
create index if not exists portal_sessions_expires_idx on public.portal_sessions (expires_at);

create table if not exists public.portal_user_revocations (
  user_id uuid primary key references auth.users (id) on delete cascade,
  revoked_before timestamptz not null
);

-- Server-only: no client role reads or writes them (Supabase's default grants revoked).
alter table public.portal_sessions enable row level security;
alter table public.portal_user_revocations enable row level security;
revoke all on public.portal_sessions, public.portal_user_revocations
  from public, anon, authenticated;
grant select, insert, update, delete on public.portal_sessions, public.portal_user_revocations
  to service_role;

-- Whether a verified token may still act: the user exists and is active, and either its
-- session is open or (a token naming none) it is not older than a "sign out everywhere".
create or replace function public.session_is_valid(_user uuid, _sid uuid, _issued_at timestamptz)
  returns boolean
  language sql stable set search_path = public
  as $$
    select exists (
      select 1
      from auth.users u
      join public.profiles p on p.id = u.id
      left join public.portal_user_revocations r on r.user_id = u.id
      where u.id = _user
        and p.ativo
        and case when _sid is null
                 -- A token without a session (Supabase's): refused when issued before a
                 -- "sign out everywhere".
                 then r.revoked_before is null or _issued_at >= r.revoked_before
                 -- The portal's: its session must be open.
                 else exists (select 1 from public.portal_sessions s
                              where s.id = _sid and s.user_id = _user
                                and s.revoked_at is null and s.expires_at > now())
            end
    )
  $$;
revoke all on function public.session_is_valid(uuid, uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.session_is_valid(uuid, uuid, timestamptz) to service_role;

-- A user deactivated is signed out everywhere at once, and their tokens issued until now
-- stay dead if they are turned on again.
create or replace function public.profiles_deactivated() returns trigger
  language plpgsql security definer set search_path = public
  as $$
begin
  if old.ativo and not new.ativo then
    update public.portal_sessions set revoked_at = now()
    where user_id = new.id and revoked_at is null;
    insert into public.portal_user_revocations (user_id, revoked_before)
    values (new.id, date_trunc('second', now()) + interval '1 second')
    on conflict (user_id) do update set revoked_before = excluded.revoked_before;
  end if;
  return new;
end
$$;
revoke all on function public.profiles_deactivated() from public, anon, authenticated;
drop trigger if exists profiles_deactivated on public.profiles;
create trigger profiles_deactivated after update of ativo on public.profiles
  for each row execute function public.profiles_deactivated();

-- The same check in the database, for the requests that do not pass through our server:
-- on Supabase a signed-out, deactivated or anonymous user's JWT still reaches PostgREST.
-- `caller_session_ok()` is true for the service and for a live session; the policy helpers
-- below answer "no tenant, no role" otherwise, so every policy built on them refuses.
-- (The portal's own requests were checked already; this costs one primary-key look-up per
-- helper call, and the helpers run once per statement where policies use arrays.)
create or replace function public.caller_session_ok() returns boolean
  language plpgsql stable security definer set search_path = public
  as $$
declare
  claims jsonb := auth.jwt();
  sid uuid;
begin
  if public.caller_is_service() then
    return true;
  end if;
  if auth.uid() is null or coalesce(claims ->> 'is_anonymous', 'false') = 'true' then
    return false;
  end if;
  begin
    sid := nullif(claims ->> 'sid', '')::uuid;
  exception when invalid_text_representation then
    return false;
  end;
  return public.session_is_valid(
    auth.uid(), sid,
    to_timestamp(coalesce(nullif(claims ->> 'iat', '')::float8, 0)));
exception when invalid_text_representation or numeric_value_out_of_range then
  return false;
end
$$;
revoke all on function public.caller_session_ok() from public, anon;
grant execute on function public.caller_session_ok() to authenticated, service_role;

create or replace function public.is_global_admin() returns boolean
  language sql stable security definer set search_path = public
  as $$
    select public.caller_session_ok()
       and coalesce(public.has_role((select auth.uid()), 'admin'), false)
  $$;

create or replace function public.tenant_role(_tenant uuid) returns text
  language sql stable security definer set search_path = public
  as $$
    select ut.role from public.user_tenants ut
    where ut.user_id = (select auth.uid()) and ut.tenant_id = _tenant
      and public.caller_session_ok()
  $$;

create or replace function public.member_tenant_ids() returns uuid[]
  language sql stable security definer set search_path = public
  as $$
    select case when not public.caller_session_ok() then '{}'::uuid[]
                when public.is_global_admin()
                then array(select o.id from public.organizacoes o)
                else array(select ut.tenant_id from public.user_tenants ut
                           where ut.user_id = (select auth.uid()))
           end
  $$;

create or replace function public.admin_tenant_ids() returns uuid[]
  language sql stable security definer set search_path = public
  as $$
    select case when not public.caller_session_ok() then '{}'::uuid[]
                when public.is_global_admin()
                then array(select o.id from public.organizacoes o)
                else array(select ut.tenant_id from public.user_tenants ut
                           where ut.user_id = (select auth.uid()) and ut.role = 'admin')
           end
  $$;

-- The customer's own admin check, used by their coarse policies ("Admins manage …"),
-- gets the same condition when it asks about the caller.
create or replace function public.has_role(_user_id uuid, _role public.app_role) returns boolean
  language sql stable security definer set search_path = public
  as $$
    select exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
       and (_user_id is distinct from auth.uid() or public.caller_session_ok())
  $$;

-- PostgREST can refuse such a request outright, before any statement: its pre-request
-- hook. Installed here when the database has PostgREST's `authenticator` role and no
-- other hook is configured (an operator's own hook is never replaced; README says how to
-- chain this one into it).
create or replace function public.portal_pre_request() returns void
  language plpgsql stable set search_path = public
  as $$
begin
  if current_setting('role', true) = 'authenticated' then
    if not public.caller_session_ok() then
      raise exception 'sessão encerrada: entre novamente' using errcode = '28000';
    end if;
  end if;
end
$$;
revoke all on function public.portal_pre_request() from public;
grant execute on function public.portal_pre_request() to anon, authenticated, service_role;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'authenticator')
     and not exists (select 1 from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
                     where r.rolname = 'authenticator'
                       and exists (select 1 from unnest(s.setconfig) c
                                   where c like 'pgrst.db_pre_request=%')) then
    begin
      alter role authenticator set pgrst.db_pre_request to 'public.portal_pre_request';
      notify pgrst, 'reload config';
    exception when insufficient_privilege then
      raise notice 'could not install the PostgREST pre-request hook: see README (Supabase)';
    end;
  end if;
end $$;

-- The policies that let a user see their own rows directly (not through a helper) get the
-- same condition; and the ones that called a helper per row now compare with one array
-- per statement (the helpers are security definer, so a per-row call was a query per
-- row, and now a session check per row too).

-- The caller's tenants as integration_logs.tenant_id holds them: ids as text, and slugs
-- (one old job wrote the slug).
create or replace function public.member_tenant_keys() returns text[]
  language sql stable security definer set search_path = public
  as $$
    select coalesce(array_agg(k), '{}'::text[])
    from public.organizacoes o,
         lateral (values (o.id::text), (o.slug)) as v(k)
    where o.id = any (public.member_tenant_ids())
  $$;
revoke all on function public.member_tenant_keys() from public, anon;
grant execute on function public.member_tenant_keys() to authenticated, service_role;

drop policy if exists "profiles: self, tenant peers, global admin read" on public.profiles;
create policy "profiles: self, tenant peers, global admin read" on public.profiles
  for select to authenticated
  using (
    (select public.caller_session_ok())
    and (id = (select auth.uid())
         or (select public.is_global_admin())
         or exists (select 1 from public.user_tenants ut
                    where ut.user_id = profiles.id
                      and ut.tenant_id = any ((select public.member_tenant_ids())::uuid[])))
  );
drop policy if exists "profiles: self update" on public.profiles;
create policy "profiles: self update" on public.profiles
  for update to authenticated
  using ((select public.caller_session_ok()) and id = (select auth.uid()))
  with check ((select public.caller_session_ok()) and id = (select auth.uid()));

drop policy if exists "user_roles: self read" on public.user_roles;
create policy "user_roles: self read" on public.user_roles
  for select to authenticated
  using ((select public.caller_session_ok())
         and (user_id = (select auth.uid()) or (select public.is_global_admin())));

drop policy if exists "user_tenants: self or tenant admin read" on public.user_tenants;
create policy "user_tenants: self or tenant admin read" on public.user_tenants
  for select to authenticated
  using ((select public.caller_session_ok())
         and (user_id = (select auth.uid())
              or tenant_id = any ((select public.admin_tenant_ids())::uuid[])));

drop policy if exists "user_modules: self read" on public.user_modules;
create policy "user_modules: self read" on public.user_modules
  for select to authenticated
  using ((select public.caller_session_ok())
         and (user_id = (select auth.uid()) or (select public.is_global_admin())));

drop policy if exists "modules: members read active" on public.modules;
create policy "modules: members read active" on public.modules
  for select to authenticated
  using ((select public.is_global_admin())
         or ((select public.caller_session_ok()) and ativo
             and (organizacao_id is null
                  or organizacao_id = any ((select public.member_tenant_ids())::uuid[]))));

drop policy if exists "tenant_integrations: members read" on public.tenant_integrations;
create policy "tenant_integrations: members read" on public.tenant_integrations
  for select to authenticated
  using (tenant_id = any ((select public.member_tenant_ids())::uuid[]));
drop policy if exists "tenant_integrations: tenant admin insert" on public.tenant_integrations;
create policy "tenant_integrations: tenant admin insert" on public.tenant_integrations
  for insert to authenticated
  with check (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));
drop policy if exists "tenant_integrations: tenant admin update" on public.tenant_integrations;
create policy "tenant_integrations: tenant admin update" on public.tenant_integrations
  for update to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[]))
  with check (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));
drop policy if exists "tenant_integrations: tenant admin delete" on public.tenant_integrations;
create policy "tenant_integrations: tenant admin delete" on public.tenant_integrations
  for delete to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));

drop policy if exists "integration_logs: members read" on public.integration_logs;
create policy "integration_logs: members read" on public.integration_logs
  for select to authenticated
  using (tenant_id = any ((select public.member_tenant_keys())::text[]));

drop policy if exists "empresas: members read" on public.empresas;
create policy "empresas: members read" on public.empresas
  for select to authenticated
  using (organizacao_id = any ((select public.member_tenant_ids())::uuid[]));
drop policy if exists "empresas: tenant admin write" on public.empresas;
drop policy if exists "empresas: tenant admin insert" on public.empresas;
create policy "empresas: tenant admin insert" on public.empresas
  for insert to authenticated
  with check (organizacao_id = any ((select public.admin_tenant_ids())::uuid[]));
drop policy if exists "empresas: tenant admin update" on public.empresas;
create policy "empresas: tenant admin update" on public.empresas
  for update to authenticated
  using (organizacao_id = any ((select public.admin_tenant_ids())::uuid[]))
  with check (organizacao_id = any ((select public.admin_tenant_ids())::uuid[]));
drop policy if exists "empresas: tenant admin delete" on public.empresas;
create policy "empresas: tenant admin delete" on public.empresas
  for delete to authenticated
  using (organizacao_id = any ((select public.admin_tenant_ids())::uuid[]));

-- The baseline's coarse "Admins manage …" policies (created only on a database that had no
-- policy for the table) asked has_role once per row, OR'ed with the tenant check, so every
-- row the tenant check refused paid a query. Same rule, asked once per statement.
do $$
declare t text;
begin
  foreach t in array array['organizacoes', 'profiles', 'user_roles', 'user_tenants', 'modules',
                           'user_modules', 'tenant_integrations', 'integration_logs', 'empresas'] loop
    if exists (select 1 from pg_policies where schemaname = 'public' and tablename = t
                 and policyname = 'Admins manage ' || t) then
      execute format('drop policy %I on public.%I', 'Admins manage ' || t, t);
      execute format(
        'create policy %I on public.%I for all to authenticated
           using ((select public.has_role((select auth.uid()), ''admin'')))
           with check ((select public.has_role((select auth.uid()), ''admin'')))',
        'Admins manage ' || t, t);
    end if;
  end loop;
end $$;
