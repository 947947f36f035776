-- Row-level security for the roles of docs/architecture.md ("Who may do what"):
--   tenant staff  (user_tenants.role = 'staff'): read the tenant's data, run integrations;
--   tenant admin  (user_tenants.role = 'admin'): also configure them;
--   global admin  (user_roles.role = 'admin'): everything, in every tenant.
-- Policies are permissive, so they widen the customer's admin-only policies to tenant
-- members without removing them. The server runs every user request as `authenticated`
-- with the caller's claims, so these hold even where application code forgets a filter.

-- The helpers are security definer so that policies on user_tenants can consult
-- user_tenants without recursing into their own policy. auth.uid() is read once per call.
create or replace function public.is_global_admin() returns boolean
  language sql stable security definer set search_path = public
  as $$ select coalesce(public.has_role((select auth.uid()), 'admin'), false) $$;

create or replace function public.tenant_role(_tenant uuid) returns text
  language sql stable security definer set search_path = public
  as $$
    select ut.role from public.user_tenants ut
    where ut.user_id = (select auth.uid()) and ut.tenant_id = _tenant
  $$;

create or replace function public.is_tenant_member(_tenant uuid) returns boolean
  language sql stable security definer set search_path = public
  as $$ select public.is_global_admin() or public.tenant_role(_tenant) is not null $$;

create or replace function public.is_tenant_admin(_tenant uuid) returns boolean
  language sql stable security definer set search_path = public
  as $$ select public.is_global_admin() or coalesce(public.tenant_role(_tenant) = 'admin', false) $$;

-- integration_logs.tenant_id is text: an organization's uuid, or (one old job) its slug.
-- This resolves either to the organization's id.
create or replace function public.log_tenant_id(_tenant text) returns uuid
  language sql stable security definer set search_path = public
  as $$
    select o.id from public.organizacoes o
    where o.id::text = _tenant or o.slug = _tenant
    limit 1
  $$;

revoke all on function public.tenant_role(uuid) from public;
grant execute on function public.is_global_admin(), public.tenant_role(uuid),
  public.is_tenant_member(uuid), public.is_tenant_admin(uuid), public.log_tenant_id(text)
  to authenticated, service_role;

alter table public.organizacoes enable row level security;
alter table public.profiles enable row level security;
alter table public.user_roles enable row level security;
alter table public.user_tenants enable row level security;
alter table public.modules enable row level security;
alter table public.user_modules enable row level security;
alter table public.tenant_integrations enable row level security;
alter table public.integration_logs enable row level security;
alter table public.empresas enable row level security;
alter table public.integration_providers enable row level security;

-- organizacoes: readable by every authenticated user (the customer's rule); the baseline
-- keeps writes for global admins.

create policy "profiles: self, tenant peers, global admin read" on public.profiles
  for select to authenticated
  using (
    id = (select auth.uid())
    or public.is_global_admin()
    or exists (select 1 from public.user_tenants ut
               where ut.user_id = profiles.id and public.is_tenant_member(ut.tenant_id))
  );
create policy "profiles: self update" on public.profiles
  for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));

create policy "user_roles: self read" on public.user_roles
  for select to authenticated
  using (user_id = (select auth.uid()) or public.is_global_admin());

create policy "user_tenants: self or tenant admin read" on public.user_tenants
  for select to authenticated
  using (user_id = (select auth.uid()) or public.is_tenant_admin(tenant_id));
create policy "user_tenants: tenant admin write" on public.user_tenants
  for all to authenticated
  using (public.is_tenant_admin(tenant_id)) with check (public.is_tenant_admin(tenant_id));

create policy "modules: members read active" on public.modules
  for select to authenticated
  using (public.is_global_admin()
         or (ativo and (organizacao_id is null or public.is_tenant_member(organizacao_id))));
create policy "modules: global admin write" on public.modules
  for all to authenticated
  using (public.is_global_admin()) with check (public.is_global_admin());

create policy "user_modules: self read" on public.user_modules
  for select to authenticated
  using (user_id = (select auth.uid()) or public.is_global_admin());

create policy "tenant_integrations: members read" on public.tenant_integrations
  for select to authenticated
  using (public.is_tenant_member(tenant_id));
create policy "tenant_integrations: tenant admin insert" on public.tenant_integrations
  for insert to authenticated
  with check (public.is_tenant_admin(tenant_id));
create policy "tenant_integrations: tenant admin update" on public.tenant_integrations
  for update to authenticated
  using (public.is_tenant_admin(tenant_id)) with check (public.is_tenant_admin(tenant_id));
create policy "tenant_integrations: tenant admin delete" on public.tenant_integrations
  for delete to authenticated
  using (public.is_tenant_admin(tenant_id));

create policy "integration_logs: members read" on public.integration_logs
  for select to authenticated
  using (public.is_tenant_member(public.log_tenant_id(tenant_id)));
create policy "integration_logs: members insert" on public.integration_logs
  for insert to authenticated
  with check (public.is_tenant_member(public.log_tenant_id(tenant_id)));

create policy "empresas: members read" on public.empresas
  for select to authenticated
  using (public.is_tenant_member(organizacao_id));
create policy "empresas: tenant admin write" on public.empresas
  for all to authenticated
  using (public.is_tenant_admin(organizacao_id)) with check (public.is_tenant_admin(organizacao_id));

create policy "integration_providers: authenticated read" on public.integration_providers
  for select to authenticated
  using (true);
create policy "integration_providers: global admin write" on public.integration_providers
  for all to authenticated
  using (public.is_global_admin()) with check (public.is_global_admin());

grant select, insert, update, delete on public.integration_providers to authenticated, service_role;

-- sqlx's own bookkeeping table lives in public, which Supabase exposes through PostgREST:
-- no client role may read or change it.
do $$
begin
  if to_regclass('public._sqlx_migrations') is not null then
    alter table public._sqlx_migrations enable row level security;
    revoke all on public._sqlx_migrations from anon, authenticated;
  end if;
end $$;

-- On a plain Postgres the baseline created auth.users itself: lock it down the same way.
-- (On Supabase, auth.users belongs to supabase_auth_admin and is left alone.)
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    alter table auth.users enable row level security;
  end if;
end $$;

-- Sign-in looks users up as service_role (never as the superuser).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    grant select on auth.users to service_role;
    create policy "auth.users: service role reads" on auth.users
      for select to service_role using (true);
  end if;
end $$;
