-- The Integrações module, Phase 1 of the customer's plan, exactly: the provider catalog,
-- the new columns of tenant_integrations and integration_logs, the three providers, the
-- backfill of the old rows, and the `integracoes` module. New columns are nullable or
-- defaulted; nothing is dropped, so every old row survives.

create table if not exists public.integration_providers (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text not null unique,
  description text,
  category text not null,
  is_global boolean not null default true,
  config_schema jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint integration_providers_category_check
    check (category in ('messaging', 'financeiro', 'fiscal'))
);

alter table public.tenant_integrations
  add column if not exists provider_id uuid references public.integration_providers (id),
  add column if not exists last_run timestamptz,
  add column if not exists last_status text,
  add column if not exists last_error text,
  add column if not exists plan_feature_code text,
  add column if not exists config jsonb not null default '{}'::jsonb;

do $$
begin
  if not exists (select 1 from pg_constraint
                 where conname = 'tenant_integrations_tenant_id_provider_id_key') then
    alter table public.tenant_integrations
      add constraint tenant_integrations_tenant_id_provider_id_key unique (tenant_id, provider_id);
  end if;
  if not exists (select 1 from pg_constraint
                 where conname = 'tenant_integrations_last_status_check') then
    -- `partial` is the engine's fourth outcome (some records failed); see docs/architecture.md.
    alter table public.tenant_integrations
      add constraint tenant_integrations_last_status_check
      check (last_status in ('success', 'partial', 'error', 'running'));
  end if;
end $$;

-- A volatile default fills every existing row with its own execution id.
alter table public.integration_logs
  add column if not exists provider_slug text,
  add column if not exists execution_id uuid default gen_random_uuid(),
  add column if not exists payload jsonb,
  add column if not exists response jsonb;

create index if not exists integration_logs_tenant_id_integration_idx
  on public.integration_logs (tenant_id, integration);

-- The three integrations that exist today. Secret fields are marked `"secret": true`: the
-- server keeps them out of `config` and never sends them to the browser.
insert into public.integration_providers (name, slug, description, category, config_schema)
values
  ('Acessórias', 'acessorias',
   'Empresas, obrigações e entregas fiscais do escritório.',
   'fiscal',
   '{
      "type": "object",
      "required": ["base_url"],
      "properties": {
        "base_url": {"type": "string", "format": "uri", "title": "URL da API",
                     "description": "Endereço da API da Acessórias.",
                     "default": "https://api.acessorias.com"},
        "api_token": {"type": "string", "title": "Token da API", "secret": true,
                      "description": "Token Bearer gerado no painel da Acessórias."}
      }
    }'::jsonb),
  ('BomControle', 'bomcontrole',
   'Clientes e lançamentos financeiros (contas a receber e a pagar).',
   'financeiro',
   '{
      "type": "object",
      "required": ["base_url"],
      "properties": {
        "base_url": {"type": "string", "format": "uri", "title": "URL da API",
                     "default": "https://apinewintegracao.bomcontrole.com.br/integracao"},
        "api_key": {"type": "string", "title": "Chave da API", "secret": true,
                    "description": "Enviada como Authorization: ApiKey <chave>."}
      }
    }'::jsonb),
  ('OneCode', 'onecode',
   'Atendimento por WhatsApp: contatos e eventos recebidos por webhook.',
   'messaging',
   '{
      "type": "object",
      "required": ["base_url"],
      "properties": {
        "base_url": {"type": "string", "format": "uri", "title": "URL da API",
                     "description": "https://api-<instancia>.onecode.chat"},
        "webhook_url": {"type": "string", "format": "uri", "title": "URL do webhook"},
        "api_token": {"type": "string", "title": "Token da API", "secret": true},
        "webhook_secret": {"type": "string", "title": "Segredo do webhook", "secret": true}
      }
    }'::jsonb)
on conflict (slug) do nothing;

-- Backfill: the old rows point at their provider.
update public.tenant_integrations ti
set provider_id = p.id
from public.integration_providers p
where ti.provider_id is null
  and p.slug = ti.provider;

update public.integration_logs
set provider_slug = case integration
                      when 'onecode-contacts' then 'onecode'
                      else integration
                    end
where provider_slug is null;

-- Phase 2's database step: the module card of the portal home.
insert into public.modules (nome, slug, descricao, icone, ordem)
values ('Integrações', 'integracoes',
        'Acessórias, BomControle e OneCode: status, execuções e configuração', 'Settings', 5)
on conflict (slug) do nothing;
