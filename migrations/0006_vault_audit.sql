-- Credentials and audit (issue "Credentials and audit").
--
-- 1. The vault: one row per tenant integration and secret field, encrypted by the server
--    (AES-256-GCM, a random nonce per value, the tenant integration id and the field name as
--    associated data, the key's id beside it). The database never sees a plaintext and no
--    client role may touch the table: on Supabase every table of `public` is reachable
--    through PostgREST, so the grants Supabase gives new tables by default are revoked here
--    and row-level security is on with no policy for `anon` / `authenticated`.
-- 2. The audit trail: append-only, written by the server (as service_role) in the same
--    transaction as the change it records; tenant admins and global admins read it.
-- 3. The catalog's token fields become required: an integration is turned on only once
--    they are set (the server checks; JSON Schema validation of `config` skips secrets).

create table if not exists public.integration_secrets (
  tenant_integration_id uuid not null
    references public.tenant_integrations (id) on delete cascade,
  field text not null,
  ciphertext bytea not null,
  nonce bytea not null,
  key_id text not null,
  set_at timestamptz not null default now(),
  set_by uuid,
  set_by_name text,
  primary key (tenant_integration_id, field),
  constraint integration_secrets_field_check check (field ~ '^[a-z][a-z0-9_]{0,63}$'),
  constraint integration_secrets_nonce_check check (length(nonce) = 12),
  constraint integration_secrets_ciphertext_check
    check (length(ciphertext) between 16 and 16400)
);

alter table public.integration_secrets enable row level security;
revoke all on public.integration_secrets from public, anon, authenticated;
grant select, insert, update, delete on public.integration_secrets to service_role;

create table if not exists public.integration_audit (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  -- who, as they were at the time (the user may change their e-mail or be deleted later)
  actor_id uuid,
  actor_email text,
  actor_name text,
  tenant_id uuid not null,
  tenant_integration_id uuid,
  provider_slug text,
  action text not null,
  -- never a secret's value: field names, before/after of non-secret settings, results
  details jsonb not null default '{}'::jsonb,
  source text not null,
  request_id text,
  constraint integration_audit_action_check check (action in (
    'integration_added', 'integration_removed', 'enabled', 'disabled', 'config_changed', 'secret_set',
    'secret_removed', 'schedule_changed', 'run_requested', 'run_cancelled',
    'connection_tested', 'member_role_changed')),
  constraint integration_audit_source_check check (source in ('ui', 'api', 'schedule', 'system'))
);

-- Pages are keyset on id (append-only: ids grow with time), per tenant or per integration.
create index if not exists integration_audit_tenant_id_idx
  on public.integration_audit (tenant_id, id desc);
create index if not exists integration_audit_tenant_provider_id_idx
  on public.integration_audit (tenant_id, provider_slug, id desc);

-- Append-only for every role, the table's owner included: no update, no truncate. Deletes
-- only by service_role (retention), which alone has the grant, and only of entries older
-- than a year.
create or replace function public.integration_audit_append_only() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  raise exception 'integration_audit is append-only' using errcode = '42501';
end
$$;

drop trigger if exists integration_audit_no_update on public.integration_audit;
create trigger integration_audit_no_update
  before update on public.integration_audit
  for each row execute function public.integration_audit_append_only();
drop trigger if exists integration_audit_no_truncate on public.integration_audit;
create trigger integration_audit_no_truncate
  before truncate on public.integration_audit
  for each statement execute function public.integration_audit_append_only();

create or replace function public.integration_audit_retention_only() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if old.created_at > now() - interval '365 days' then
    raise exception 'integration_audit entries are kept for a year' using errcode = '42501';
  end if;
  return old;
end
$$;
drop trigger if exists integration_audit_retention on public.integration_audit;
create trigger integration_audit_retention
  before delete on public.integration_audit
  for each row execute function public.integration_audit_retention_only();
revoke all on function public.integration_audit_append_only() from public, anon, authenticated;
revoke all on function public.integration_audit_retention_only() from public, anon, authenticated;

-- The tenants the caller administers (every tenant for a global admin), as one array: the
-- audit policy compares `tenant_id` with it once per statement, not once per row.
create or replace function public.admin_tenant_ids() returns uuid[]
  language sql stable security definer set search_path = public
  as $$
    select case when public.is_global_admin()
                then array(select o.id from public.organizacoes o)
                else array(select ut.tenant_id from public.user_tenants ut
                           where ut.user_id = (select auth.uid()) and ut.role = 'admin')
           end
  $$;
revoke all on function public.admin_tenant_ids() from public, anon;
grant execute on function public.admin_tenant_ids() to authenticated, service_role;

alter table public.integration_audit enable row level security;
revoke all on public.integration_audit from public, anon, authenticated;
grant select on public.integration_audit to authenticated;
grant select, insert, delete on public.integration_audit to service_role;
revoke update, truncate on public.integration_audit from service_role;
-- Supabase's default privileges would give every client role the sequence (a `setval` to
-- its maximum would stop every audited write): only service_role uses it.
revoke all on sequence public.integration_audit_id_seq from public, anon, authenticated;
grant usage on sequence public.integration_audit_id_seq to service_role;

drop policy if exists "integration_audit: tenant admins read" on public.integration_audit;
create policy "integration_audit: tenant admins read" on public.integration_audit
  for select to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));

-- Token fields are required (to turn an integration on); descriptions in pt-BR.
update public.integration_providers
set config_schema = jsonb_set(config_schema, '{required}', '["base_url", "api_token"]'::jsonb)
where slug = 'acessorias';
update public.integration_providers
set config_schema = jsonb_set(config_schema, '{required}', '["base_url", "api_key"]'::jsonb)
where slug = 'bomcontrole';
update public.integration_providers
set config_schema = jsonb_set(config_schema, '{required}', '["base_url", "api_token"]'::jsonb)
where slug = 'onecode';

-- The changes to tenant integrations and the runs requested are audited in the database,
-- so that every path records them: the portal, the API, the scheduler, and a PostgREST
-- call made with a user's token. The server says where a change comes from and its request
-- id in two transaction-local settings (`portal.audit_source`, `portal.request_id`);
-- without them a change by a signed-in user counts as `api` and one by nobody as `system`.
create or replace function public.audit_actor_row(
  out actor uuid, out email text, out name text, out source text, out request_id text
)
  language sql stable security definer set search_path = public
  as $$
    select a.id, u.email, nullif(p.nome, ''),
           coalesce(nullif(current_setting('portal.audit_source', true), ''),
                    case when a.id is null then 'system' else 'api' end),
           nullif(current_setting('portal.request_id', true), '')
    from (select auth.uid() as id) a
    left join auth.users u on u.id = a.id
    left join public.profiles p on p.id = a.id
  $$;
revoke all on function public.audit_actor_row() from public, anon, authenticated;
grant execute on function public.audit_actor_row() to service_role;

-- The origin (scheme://host:port) of a URL, lower case.
create or replace function public.url_origin(_url text) returns text
  language sql immutable set search_path = public
  as $$ select lower(substring(btrim(coalesce(_url, '')) from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\\]+')) $$;

create or replace function public.audit_tenant_integration_change() returns trigger
  language plpgsql security definer set search_path = public
  as $$
declare
  a record;
  slug text;
  schema jsonb;
  changes jsonb;
  old_url text;
  new_url text;
begin
  select * into a from public.audit_actor_row();
  select p.slug, p.config_schema into slug, schema
  from public.integration_providers p
  where p.id = coalesce(new.provider_id, old.provider_id);
  slug := coalesce(slug, new.provider, old.provider);

  if tg_op = 'INSERT' then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'integration_added',
            jsonb_build_object('enabled', new.is_enabled), a.source, a.request_id);
    return new;
  end if;

  if tg_op = 'DELETE' then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, provider_slug, action, details,
       source, request_id)
    values (a.actor, a.email, a.name, old.tenant_id, slug, 'integration_removed',
            '{}'::jsonb, a.source, a.request_id);
    return old;
  end if;

  if new.is_enabled is distinct from old.is_enabled then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug,
            case when new.is_enabled then 'enabled' else 'disabled' end, a.source, a.request_id);
  end if;

  -- Non-secret settings that changed, with their titles; secrets never live in config.
  select coalesce(jsonb_agg(jsonb_build_object(
           'field', k.key,
           'title', coalesce(schema -> 'properties' -> k.key ->> 'title', k.key),
           'before', old.config -> k.key,
           'after', new.config -> k.key) order by k.key), '[]'::jsonb)
  into changes
  from (select jsonb_object_keys(case when jsonb_typeof(old.config) = 'object'
                                      then old.config else '{}'::jsonb end) as key
        union
        select jsonb_object_keys(case when jsonb_typeof(new.config) = 'object'
                                      then new.config else '{}'::jsonb end)) k
  where (old.config -> k.key) is distinct from (new.config -> k.key)
    and coalesce((schema -> 'properties' -> k.key ->> 'secret')::boolean, false) = false;
  if new.base_url is distinct from old.base_url
     and (old.config -> 'base_url') is not distinct from (new.config -> 'base_url') then
    changes := changes || jsonb_build_array(jsonb_build_object(
      'field', 'base_url', 'title', 'URL da API (coluna antiga)',
      'before', old.base_url, 'after', new.base_url));
  end if;
  if jsonb_array_length(changes) > 0 then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'config_changed',
            jsonb_build_object('changes', changes), a.source, a.request_id);
  end if;

  if new.schedule is distinct from old.schedule then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'schedule_changed',
            jsonb_build_object('before', old.schedule, 'after', new.schedule),
            a.source, a.request_id);
  end if;

  -- Credentials belong to the API they were given for: when the API's address moves to
  -- another origin, they are removed (so nobody can point an integration at a host of
  -- their own and have the stored token sent there).
  old_url := coalesce(case when jsonb_typeof(old.config) = 'object'
                           then old.config ->> 'base_url' end, old.base_url);
  new_url := coalesce(case when jsonb_typeof(new.config) = 'object'
                           then new.config ->> 'base_url' end, new.base_url);
  -- A URL whose origin cannot be read (`https:///host`, `https:host`, …; clients parse those
  -- as hosts too) counts as another origin whenever its text changes.
  if (old_url is distinct from new_url)
     and (public.url_origin(old_url) is null
          or public.url_origin(new_url) is null
          or public.url_origin(old_url) <> public.url_origin(new_url)) then
    with gone as (
      delete from public.integration_secrets s
      where s.tenant_integration_id = new.id
      returning s.field
    )
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    select a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'secret_removed',
           jsonb_build_object('field', g.field,
                              'title', coalesce(schema -> 'properties' -> g.field ->> 'title', g.field),
                              'reason', 'a URL da API mudou de endereço'),
           a.source, a.request_id
    from gone g;
  end if;
  return new;
end
$$;
revoke all on function public.audit_tenant_integration_change() from public, anon, authenticated;
revoke all on function public.url_origin(text) from anon;

drop trigger if exists tenant_integrations_audit on public.tenant_integrations;
create trigger tenant_integrations_audit
  after insert or update of is_enabled, config, base_url, schedule or delete
  on public.tenant_integrations
  for each row execute function public.audit_tenant_integration_change();

-- A new execution (its first attempt) is a run requested; retries are the engine's own.
create or replace function public.audit_run_requested() returns trigger
  language plpgsql security definer set search_path = public
  as $$
declare
  a record;
  tenant uuid := public.log_tenant_id(new.tenant_id);
begin
  if tenant is null then
    return new;
  end if;
  select * into a from public.audit_actor_row();
  insert into public.integration_audit
    (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
     action, details, source, request_id)
  select a.actor, a.email, a.name, tenant,
         (select t.id from public.tenant_integrations t
          join public.integration_providers p on p.id = t.provider_id
          where t.tenant_id = tenant and p.slug = new.provider_slug),
         new.provider_slug, 'run_requested',
         jsonb_build_object('execution_id', new.execution_id, 'trigger', new.trigger),
         a.source, a.request_id;
  return new;
end
$$;
revoke all on function public.audit_run_requested() from public, anon, authenticated;

drop trigger if exists integration_logs_audit_run on public.integration_logs;
create trigger integration_logs_audit_run
  after insert on public.integration_logs
  for each row
  when (new.status = 'running' and coalesce(new.attempt, 1) = 1)
  execute function public.audit_run_requested();

-- Role changes of tenant members, whoever makes them (the portal or a PostgREST call):
-- who, whose role, from what to what.
create or replace function public.audit_member_role_change() returns trigger
  language plpgsql security definer set search_path = public
  as $$
declare
  a record;
begin
  select * into a from public.audit_actor_row();
  -- A member added or removed, or moved to another tenant, counts as a role change in each
  -- tenant concerned (from or to no role).
  if tg_op in ('UPDATE', 'DELETE')
     and (tg_op = 'DELETE' or new.tenant_id is distinct from old.tenant_id
          or new.role is distinct from old.role) then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, action, details, source, request_id)
    values (a.actor, a.email, a.name, old.tenant_id, 'member_role_changed',
            jsonb_build_object('user_id', old.user_id,
                               'user_email', (select u.email from auth.users u where u.id = old.user_id),
                               'before', old.role,
                               'after', case when tg_op = 'UPDATE' and new.tenant_id = old.tenant_id
                                             then new.role end),
            a.source, a.request_id);
  end if;
  if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.tenant_id is distinct from old.tenant_id) then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, 'member_role_changed',
            jsonb_build_object('user_id', new.user_id,
                               'user_email', (select u.email from auth.users u where u.id = new.user_id),
                               'before', null, 'after', new.role),
            a.source, a.request_id);
  end if;
  return coalesce(new, old);
end
$$;
revoke all on function public.audit_member_role_change() from public, anon, authenticated;

drop trigger if exists user_tenants_audit_role on public.user_tenants;
create trigger user_tenants_audit_role
  after insert or delete or update of role, tenant_id on public.user_tenants
  for each row execute function public.audit_member_role_change();
