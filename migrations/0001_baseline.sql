-- Baseline: the customer's portal database as it stood before the Integrações module
-- (see shared BASELINE.md). On the customer's Supabase database everything below already
-- exists and this migration changes nothing: every object is created only when missing,
-- nothing is altered or dropped. On an empty Postgres it builds the same shape, with the
-- minimal Supabase pieces the policies rely on (roles, auth.users, auth.uid(), auth.jwt()).

-- Supabase roles. Roles are cluster-wide, and parallel test databases race to create them,
-- so a duplicate is not an error here.
do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin noinherit', r);
      exception when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
end $$;

-- service_role is Supabase's trusted back-end role: it bypasses RLS there. Only grant it on
-- a cluster we created it in (no-op when it already has the attribute).
do $$
begin
  if not (select rolbypassrls from pg_roles where rolname = 'service_role') then
    begin
      alter role service_role bypassrls;
    exception when insufficient_privilege then null;
    end;
  end if;
end $$;

create schema if not exists auth;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  encrypted_password text,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- auth.uid() and auth.jwt() read the claims PostgREST (and our server) set per transaction.
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $f$;
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      as $f$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $f$;
  end if;
end $$;

do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where t.typname = 'app_role' and n.nspname = 'public') then
    create type public.app_role as enum ('admin', 'user');
  end if;
end $$;

create table if not exists public.organizacoes (
  id uuid primary key default gen_random_uuid(),
  nome text not null,
  slug text not null unique,
  created_at timestamptz not null default now()
);

create table if not exists public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  nome text not null default '',
  email text not null default '',
  ativo boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.user_roles (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.app_role not null default 'user',
  created_at timestamptz not null default now(),
  unique (user_id, role)
);

create table if not exists public.user_tenants (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  role text not null default 'staff',
  created_at timestamptz not null default now(),
  unique (user_id, tenant_id)
);

create table if not exists public.modules (
  id uuid primary key default gen_random_uuid(),
  nome text not null,
  slug text not null unique,
  descricao text,
  icone text default 'LayoutDashboard',
  ativo boolean not null default true,
  ordem integer not null default 0,
  organizacao_id uuid references public.organizacoes (id),
  created_at timestamptz not null default now()
);

create table if not exists public.user_modules (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  module_id uuid not null references public.modules (id) on delete cascade,
  can_edit boolean not null default false,
  created_at timestamptz not null default now(),
  unique (user_id, module_id)
);

create table if not exists public.tenant_integrations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  provider text not null,
  base_url text not null default 'https://api.acessorias.com',
  is_enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, provider)
);

create table if not exists public.integration_logs (
  id uuid primary key default gen_random_uuid(),
  tenant_id text not null,
  integration text not null,
  status text not null,
  total_processados integer not null default 0,
  total_matched integer not null default 0,
  total_review integer not null default 0,
  total_ignored integer not null default 0,
  execution_time_ms integer,
  error_message text,
  created_at timestamptz not null default now()
);

create table if not exists public.empresas (
  id uuid primary key default gen_random_uuid(),
  numero serial,
  nome text not null,
  cnpj text not null,
  regime_tributario text,
  organizacao_id uuid not null references public.organizacoes (id),
  whatsapp text default '',
  data_baixa text,
  external_source text,
  external_key text,
  raw_payload jsonb,
  hash_payload text,
  synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists empresas_organizacao_id_cnpj_idx on public.empresas (organizacao_id, cnpj);

-- Helper functions the customer's policies and triggers use.
do $$
begin
  if to_regprocedure('public.has_role(uuid, public.app_role)') is null then
    create function public.has_role(_user_id uuid, _role public.app_role) returns boolean
      language sql stable security definer set search_path = public
      as $f$
        select exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
      $f$;
  end if;
  if to_regprocedure('public.update_updated_at_column()') is null then
    create function public.update_updated_at_column() returns trigger
      language plpgsql set search_path = public
      as $f$
        begin
          new.updated_at = now();
          return new;
        end
      $f$;
  end if;
  if to_regprocedure('public.handle_new_user()') is null then
    create function public.handle_new_user() returns trigger
      language plpgsql security definer set search_path = public
      as $f$
        begin
          insert into public.profiles (id, nome, email)
          values (new.id, coalesce(new.raw_user_meta_data ->> 'nome', ''), coalesce(new.email, ''))
          on conflict (id) do nothing;
          return new;
        end
      $f$;
  end if;
end $$;

-- Triggers, each only where missing.
do $$
declare t text;
begin
  foreach t in array array['profiles', 'tenant_integrations', 'empresas'] loop
    if not exists (select 1 from pg_trigger
                   where tgname = 'update_' || t || '_updated_at'
                     and tgrelid = ('public.' || t)::regclass) then
      execute format(
        'create trigger %I before update on public.%I for each row execute function public.update_updated_at_column()',
        'update_' || t || '_updated_at', t);
    end if;
  end loop;
  if not exists (select 1 from pg_trigger where tgname = 'on_auth_user_created'
                   and tgrelid = 'auth.users'::regclass) then
    create trigger on_auth_user_created after insert on auth.users
      for each row execute function public.handle_new_user();
  end if;
end $$;

-- The customer's coarse policies: global admins only on the integration tables, every
-- authenticated user may read the organizations. Created only for a table that has no
-- policy yet, so the customer's own policies are never touched.
do $$
declare t text;
begin
  foreach t in array array['organizacoes', 'profiles', 'user_roles', 'user_tenants', 'modules',
                           'user_modules', 'tenant_integrations', 'integration_logs', 'empresas'] loop
    if not exists (select 1 from pg_policies where schemaname = 'public' and tablename = t) then
      execute format('alter table public.%I enable row level security', t);
      execute format(
        'create policy %I on public.%I for all to authenticated using (public.has_role(auth.uid(), ''admin'')) with check (public.has_role(auth.uid(), ''admin''))',
        'Admins manage ' || t, t);
    end if;
  end loop;
  if not exists (select 1 from pg_policies where schemaname = 'public' and tablename = 'organizacoes'
                   and policyname = 'Authenticated read organizacoes') then
    create policy "Authenticated read organizacoes" on public.organizacoes
      for select to authenticated using (true);
  end if;
end $$;

-- What Supabase grants by default; on a plain Postgres nothing would be reachable otherwise.
-- Row-level security decides which rows.
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
grant select, insert, update, delete on all tables in schema public to authenticated, service_role;
grant usage, select on all sequences in schema public to authenticated, service_role;
grant execute on function auth.uid() to anon, authenticated, service_role;
grant execute on function auth.jwt() to anon, authenticated, service_role;

-- The data of a fresh install: only on a database without organizations. On the
-- customer's database these rows exist already and nothing here runs.
do $$
begin
  if exists (select 1 from public.organizacoes) then
    return;
  end if;

  insert into public.organizacoes (nome, slug)
  values ('P&G', 'pg'), ('Contmax', 'contmax')
  on conflict (slug) do nothing;

  insert into public.tenant_integrations (tenant_id, provider, base_url, is_enabled)
  select o.id, 'acessorias', 'https://api.acessorias.com', true
  from public.organizacoes o
  where o.slug in ('pg', 'contmax')
  on conflict (tenant_id, provider) do nothing;

  insert into public.modules (nome, slug, descricao, icone, ordem, organizacao_id)
  select v.nome, v.slug, v.descricao, v.icone, v.ordem, o.id
  from (values
    ('Clientes P&G', 'clientes-pg', 'Carteira de clientes da P&G', 'Users', 10, 'pg'),
    ('Clientes Contmax', 'clientes-contmax', 'Carteira de clientes da Contmax', 'Users', 10, 'contmax'),
    ('Obrigações', 'obrigacoes', 'Obrigações fiscais e entregas', 'FileText', 20, null),
    ('Financeiro', 'financeiro', 'Contas a receber e a pagar', 'Wallet', 30, null)
  ) as v(nome, slug, descricao, icone, ordem, org)
  left join public.organizacoes o on o.slug = v.org
  on conflict (slug) do nothing;

  -- A few old execution logs, as the old sync jobs wrote them: uuid-as-text tenants, one job
  -- that wrote the tenant's slug, and the `onecode-contacts` name of the contacts sync.
  insert into public.integration_logs
    (tenant_id, integration, status, total_processados, total_matched, total_review,
     total_ignored, execution_time_ms, error_message, created_at)
  select v.tenant, v.integration, v.status, v.p, v.m, v.r, v.i, v.ms, v.err,
         now() - v.age
  from (
    select (select id::text from public.organizacoes where slug = 'contmax') as tenant,
           'acessorias' as integration, 'success' as status, 120 as p, 118 as m, 1 as r, 1 as i,
           8400 as ms, null::text as err, interval '3 days' as age
    union all
    select (select id::text from public.organizacoes where slug = 'pg'), 'acessorias', 'error',
           0, 0, 0, 0, 30000, 'Timeout ao consultar a API da Acessórias', interval '2 days'
    union all
    select 'contmax', 'acessorias', 'success', 64, 60, 2, 2, 5100, null, interval '6 days'
    union all
    select (select id::text from public.organizacoes where slug = 'contmax'), 'onecode-contacts',
           'success', 40, 38, 0, 2, 2300, null, interval '1 day'
  ) as v
  where not exists (select 1 from public.integration_logs);
end $$;
