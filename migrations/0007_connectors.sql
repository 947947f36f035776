-- The Acessórias and BomControle connectors (issue #9): where their syncs write, and the
-- checkpoints that make their runs incremental and resumable.
--
-- Every table is written by the engine alone (service_role, filtering by tenant in every
-- statement) and read by the tenant's members through RLS. On Supabase any signed-in user
-- can reach these tables through PostgREST as `authenticated`, so the grants Supabase gives
-- new tables by default are revoked and only `select` of some columns is granted back;
-- the policies compare
-- `tenant_id` with one array computed once per statement, never a function call per row.

-- The tenants the caller belongs to (every tenant for a global admin), as one array.
create or replace function public.member_tenant_ids() returns uuid[]
  language sql stable security definer set search_path = public
  as $$
    select case when public.is_global_admin()
                then array(select o.id from public.organizacoes o)
                else array(select ut.tenant_id from public.user_tenants ut
                           where ut.user_id = (select auth.uid()))
           end
  $$;
revoke all on function public.member_tenant_ids() from public, anon;
grant execute on function public.member_tenant_ids() to authenticated, service_role;

-- Companies are matched by CNPJ/CPF digits: the synced ones by `external_key`, the ones a
-- person typed by the digits of `cnpj`. Both look-ups are index scans.
create index if not exists empresas_organizacao_id_external_key_idx
  on public.empresas (organizacao_id, external_key);
create index if not exists empresas_organizacao_id_cnpj_digits_idx
  on public.empresas (organizacao_id, (regexp_replace(cnpj, '\D', '', 'g')));

-- Where a sync stands, per tenant integration and stream (`companies`, `deliveries`,
-- `entries`, ...): the checkpoint of the last committed page or run. Engine only.
create table if not exists public.integration_sync_state (
  tenant_integration_id uuid not null references public.tenant_integrations (id) on delete cascade,
  stream text not null,
  state jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now(),
  primary key (tenant_integration_id, stream)
);
alter table public.integration_sync_state enable row level security;
revoke all on public.integration_sync_state from public, anon, authenticated;
grant select, insert, update, delete on public.integration_sync_state to service_role;

-- Acessórias deliveries (obrigações and tarefas) of the tenant's companies, one row per
-- `Config.EntID`. "Due this month" is one index range on (tenant_id, prazo).
create table if not exists public.acessorias_entregas (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  empresa_id uuid references public.empresas (id) on delete set null,
  external_key text not null,
  cnpj text not null,
  nome text not null,
  tipo text,
  competencia date,
  prazo date,
  data_atraso date,
  data_entrega date,
  status text,
  departamento text,
  responsavel text,
  multa boolean,
  last_dh timestamp,
  raw_payload jsonb not null,
  hash_payload text not null,
  synced_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint acessorias_entregas_tenant_key unique (tenant_id, external_key)
);
create index if not exists acessorias_entregas_tenant_prazo_idx
  on public.acessorias_entregas (tenant_id, prazo);
create index if not exists acessorias_entregas_empresa_prazo_idx
  on public.acessorias_entregas (empresa_id, prazo);

-- BomControle clients and the company each was matched to. `match` is `matched` (exactly
-- one company with the document), `review` (none) or `ambiguous` (more than one): only a
-- matched client's receivables carry an `empresa_id`; nothing is guessed.
create table if not exists public.bomcontrole_clientes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  external_id text not null,
  documento text,
  nome text not null,
  empresa_id uuid references public.empresas (id) on delete set null,
  match text not null,
  raw_payload jsonb not null,
  hash_payload text not null,
  synced_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint bomcontrole_clientes_tenant_key unique (tenant_id, external_id),
  constraint bomcontrole_clientes_match_check check (match in ('matched', 'review', 'ambiguous'))
);

-- Receivables (fees and other income) from BomControle's financial entries, one row per
-- `IdMovimentacaoFinanceiraParcela`. Which companies owe which month is one query on
-- (tenant_id, competencia) with `pago_em is null`.
create table if not exists public.financeiro_recebiveis (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  empresa_id uuid references public.empresas (id) on delete set null,
  external_key text not null,
  cliente_external_id text,
  documento text,
  cliente_nome text,
  descricao text,
  categoria text,
  competencia date,
  vencimento date,
  valor numeric(14, 2) not null,
  pago_em date,
  status text not null,
  boleto_url text,
  alterado_em timestamp,
  raw_payload jsonb not null,
  hash_payload text not null,
  synced_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint financeiro_recebiveis_tenant_key unique (tenant_id, external_key),
  constraint financeiro_recebiveis_status_check check (status in ('aberto', 'pago'))
);
create index if not exists financeiro_recebiveis_tenant_competencia_idx
  on public.financeiro_recebiveis (tenant_id, competencia);
create index if not exists financeiro_recebiveis_empresa_idx
  on public.financeiro_recebiveis (empresa_id, competencia);
-- A client's receivables follow its match in one statement; deleting a company sets
-- `empresa_id` to null in both tables: index scans, not whole-table ones.
create index if not exists financeiro_recebiveis_tenant_cliente_idx
  on public.financeiro_recebiveis (tenant_id, cliente_external_id);
create index if not exists bomcontrole_clientes_empresa_idx
  on public.bomcontrole_clientes (empresa_id);

do $$
declare t text;
begin
  foreach t in array array['acessorias_entregas', 'bomcontrole_clientes', 'financeiro_recebiveis'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on public.%I from public, anon, authenticated', t);
    execute format('grant select, insert, update, delete on public.%I to service_role', t);
    execute format('drop policy if exists "%s: members read" on public.%I', t, t);
    execute format(
      'create policy "%s: members read" on public.%I for select to authenticated
         using (tenant_id = any ((select public.member_tenant_ids())::uuid[]))', t, t);
  end loop;
end $$;

-- Members read what the portal shows, not the providers' raw payloads (receivables carry
-- the firm's bank accounts, clients their contacts): column grants, so that a PostgREST
-- `select=raw_payload` is refused.
grant select (id, tenant_id, empresa_id, external_key, cnpj, nome, tipo, competencia, prazo,
              data_atraso, data_entrega, status, departamento, responsavel, multa, last_dh,
              synced_at, created_at, updated_at)
  on public.acessorias_entregas to authenticated;
grant select (id, tenant_id, external_id, documento, nome, empresa_id, match, synced_at,
              created_at, updated_at)
  on public.bomcontrole_clientes to authenticated;
grant select (id, tenant_id, empresa_id, external_key, cliente_external_id, documento,
              cliente_nome, descricao, categoria, competencia, vencimento, valor, pago_em,
              status, boleto_url, alterado_em, synced_at, created_at, updated_at)
  on public.financeiro_recebiveis to authenticated;

-- The connectors' settings, with pt-BR titles and help texts (secret fields unchanged).
update public.integration_providers
set config_schema = config_schema
  || jsonb_build_object('properties', (config_schema -> 'properties') || '{
       "sync_entregas": {"type": "boolean", "default": true, "title": "Sincronizar entregas",
         "description": "Busca as entregas (obrigações e tarefas) de cada empresa na janela abaixo."},
       "entregas_meses_atras": {"type": "integer", "minimum": 0, "maximum": 24, "default": 1,
         "title": "Entregas: meses para trás",
         "description": "Quantos meses antes do atual entram na janela de prazos."},
       "entregas_meses_adiante": {"type": "integer", "minimum": 0, "maximum": 24, "default": 2,
         "title": "Entregas: meses adiante",
         "description": "Quantos meses depois do atual entram na janela de prazos."},
       "requisicoes_por_minuto": {"type": "integer", "minimum": 1, "maximum": 6000, "default": 100,
         "title": "Requisições por minuto",
         "description": "Limite da API da Acessórias (100 por minuto). Só mude se a Acessórias ampliar o seu limite."}
     }'::jsonb)
where slug = 'acessorias';

update public.integration_providers
set config_schema = config_schema
  || jsonb_build_object('properties', (config_schema -> 'properties') || '{
       "lancamentos_desde": {"type": "string", "format": "date", "title": "Lançamentos desde",
         "description": "Na primeira sincronização, busca os lançamentos alterados a partir desta data (aaaa-mm-dd). Em branco: 12 meses atrás."},
       "requisicoes_por_minuto": {"type": "integer", "minimum": 1, "maximum": 6000, "default": 120,
         "title": "Requisições por minuto",
         "description": "A BomControle não documenta limite; acima dele ela responde 429 e o conector espera."}
     }'::jsonb)
where slug = 'bomcontrole';

-- Checkpoints belong to the account they were taken from: when the API's address moves to
-- another origin, or a credential is set, replaced or removed (another account on the same
-- API host), the integration's checkpoints go and the next run starts over. Rows the
-- earlier account brought stay (and are matched again by their keys).
create or replace function public.integration_sync_state_reset() returns trigger
  language plpgsql security definer set search_path = public
  as $$
  declare
    old_url text;
    new_url text;
  begin
    if tg_table_name = 'integration_secrets' then
      delete from public.integration_sync_state
      where tenant_integration_id = coalesce(new.tenant_integration_id, old.tenant_integration_id);
      return null;
    end if;
    old_url := coalesce(case when jsonb_typeof(old.config) = 'object'
                             then old.config ->> 'base_url' end, old.base_url);
    new_url := coalesce(case when jsonb_typeof(new.config) = 'object'
                             then new.config ->> 'base_url' end, new.base_url);
    if (old_url is distinct from new_url)
       and (public.url_origin(old_url) is null
            or public.url_origin(new_url) is null
            or public.url_origin(old_url) <> public.url_origin(new_url)) then
      delete from public.integration_sync_state where tenant_integration_id = new.id;
    end if;
    return null;
  end
  $$;
revoke all on function public.integration_sync_state_reset() from public, anon, authenticated;

drop trigger if exists tenant_integrations_sync_state_reset on public.tenant_integrations;
create trigger tenant_integrations_sync_state_reset
  after update of base_url, config on public.tenant_integrations
  for each row execute function public.integration_sync_state_reset();

drop trigger if exists integration_secrets_sync_state_reset on public.integration_secrets;
-- `set_at` moves when a person (or the demo) sets a value, not when `secrets rotate`
-- re-encrypts it under a new key.
create trigger integration_secrets_sync_state_reset
  after insert or delete or update of set_at on public.integration_secrets
  for each row execute function public.integration_sync_state_reset();
