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
    'integration_added', 'enabled', 'disabled', 'config_changed', 'secret_set',
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
-- only by service_role (retention), which alone has the grant.
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
revoke all on function public.admin_tenant_ids() from public;
grant execute on function public.admin_tenant_ids() to authenticated, service_role;

alter table public.integration_audit enable row level security;
revoke all on public.integration_audit from public, anon, authenticated;
grant select on public.integration_audit to authenticated;
grant select, insert, delete on public.integration_audit to service_role;
revoke update, truncate on public.integration_audit from service_role;
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
