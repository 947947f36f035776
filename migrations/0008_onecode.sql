-- The OneCode connector (issue #10): WhatsApp contacts matched to the tenant's companies,
-- the review queue people work, and the webhook's events, stored before they are answered.
--
-- As in 0007, the engine writes (service_role, filtering by tenant in every statement) and
-- the tenant's members read through RLS with one array computed per statement. Decisions
-- on the review queue are made by the server after it checked the caller under RLS.

-- One webhook address per tenant integration: `/functions/v1/onecode-webhook/<token>`.
-- The token only routes a delivery to its integration (its body is authenticated by the
-- vault's webhook secret); 244 random bits so that addresses cannot be guessed either.
alter table public.tenant_integrations add column if not exists webhook_token text;
update public.tenant_integrations
set webhook_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
where webhook_token is null;
alter table public.tenant_integrations
  alter column webhook_token
    set default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
  alter column webhook_token set not null;
create unique index if not exists tenant_integrations_webhook_token_key
  on public.tenant_integrations (webhook_token);

-- Each WhatsApp contact of the tenant and what it was matched to:
--   status  `matched` (empresa_id is the company), `review` (sugestao_empresa_id and score
--           are the suggestion, for a person), `ignored` (groups, blocked, no likely company);
--   motivo  why: `vinculo` (already linked), `telefone`, `cnpj`, `nome`, `decisao`, `grupo`,
--           `bloqueado`, `ambiguo`, `semelhanca` (between the thresholds), `sem_correspondencia`;
--   decisao a person's decision (`aceita`, `escolhida`, `ignorada`), which every later sync
--           keeps.
create table if not exists public.onecode_contatos (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  contact_id bigint not null,
  nome text not null default '',
  numero text not null default '',
  is_group boolean not null default false,
  bloqueado boolean not null default false,
  status text not null,
  motivo text not null,
  score real,
  empresa_id uuid references public.empresas (id) on delete set null,
  sugestao_empresa_id uuid references public.empresas (id) on delete set null,
  decisao text,
  decidido_por uuid references auth.users (id) on delete set null,
  decidido_em timestamptz,
  ultima_mensagem_em timestamptz,
  hash_payload text,
  synced_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint onecode_contatos_tenant_contact unique (tenant_id, contact_id),
  constraint onecode_contatos_status_check check (status in ('matched', 'review', 'ignored')),
  constraint onecode_contatos_decisao_check
    check (decisao is null or decisao in ('aceita', 'escolhida', 'ignorada'))
);
-- The review queue is one index range; deleting a company nulls its links by index.
create index if not exists onecode_contatos_tenant_status_idx
  on public.onecode_contatos (tenant_id, status, nome, id);
-- *Revisar contatos* reads the undecided ones best score first: one index range.
create index if not exists onecode_contatos_review_queue_idx
  on public.onecode_contatos (tenant_id, (coalesce(score, 0)) desc, nome, id)
  where status = 'review' and decisao is null;
create index if not exists onecode_contatos_empresa_idx
  on public.onecode_contatos (empresa_id);
create index if not exists onecode_contatos_sugestao_idx
  on public.onecode_contatos (sugestao_empresa_id);

-- Webhook deliveries, stored before the 2xx: one row per provider event (a created
-- message's id, else the hash of the event), so a replay is stored once. `pending` rows are
-- processed from the queue in batches; an event that fails on its own is retried with
-- backoff (`retry_at`) and set aside as `failed` after 5 tries.
create table if not exists public.onecode_eventos (
  id bigserial primary key,
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  tenant_integration_id uuid not null references public.tenant_integrations (id) on delete cascade,
  event_key text not null,
  object text not null default '',
  action text not null default '',
  payload jsonb not null,
  status text not null default 'pending',
  attempts integer not null default 0,
  -- An event that failed on its own is tried again from then (backoff).
  retry_at timestamptz,
  error text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  constraint onecode_eventos_tenant_key unique (tenant_id, event_key),
  constraint onecode_eventos_status_check
    check (status in ('pending', 'processed', 'ignored', 'failed'))
);
create index if not exists onecode_eventos_pending_idx
  on public.onecode_eventos (tenant_integration_id, id) where status = 'pending';
create index if not exists onecode_eventos_tenant_received_idx
  on public.onecode_eventos (tenant_id, received_at desc);
-- Retention deletes processed events by age.
create index if not exists onecode_eventos_done_received_idx
  on public.onecode_eventos (received_at) where status in ('processed', 'ignored');

do $$
declare t text;
begin
  foreach t in array array['onecode_contatos', 'onecode_eventos'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on public.%I from public, anon, authenticated', t);
    execute format('grant select, insert, update, delete on public.%I to service_role', t);
    execute format('drop policy if exists "%s: members read" on public.%I', t, t);
    execute format(
      'create policy "%s: members read" on public.%I for select to authenticated
         using (tenant_id = any ((select public.member_tenant_ids())::uuid[]))', t, t);
  end loop;
end $$;
revoke all on sequence public.onecode_eventos_id_seq from public, anon, authenticated;
grant usage on sequence public.onecode_eventos_id_seq to service_role;

-- Members see the queue and the events' kinds, not the messages people sent (payload).
grant select (id, tenant_id, contact_id, nome, numero, is_group, bloqueado, status, motivo,
              score, empresa_id, sugestao_empresa_id, decisao, decidido_por, decidido_em,
              ultima_mensagem_em, synced_at, created_at, updated_at)
  on public.onecode_contatos to authenticated;
grant select (id, tenant_id, tenant_integration_id, event_key, object, action, status,
              attempts, received_at, processed_at)
  on public.onecode_eventos to authenticated;

-- The connector's settings, with pt-BR titles and help texts (secret fields unchanged).
update public.integration_providers
set config_schema = config_schema
  || jsonb_build_object('properties', (config_schema -> 'properties') || '{
       "webhook_secret": {"type": "string", "title": "Segredo do webhook", "secret": true,
         "inbound": true,
         "description": "O segredo que a OneCode mostrou ao cadastrar o webhook (assina cada evento em X-Jupiter-Signature), ou o valor do cabeçalho x-onecode-secret das instalações antigas."},
       "limiar_vinculo": {"type": "number", "minimum": 0.5, "maximum": 1, "default": 0.93,
         "title": "Semelhança para vincular",
         "description": "A partir desta semelhança de nome (0 a 1) o contato é vinculado à empresa sem revisão."},
       "limiar_revisao": {"type": "number", "minimum": 0.5, "maximum": 1, "default": 0.80,
         "title": "Semelhança para revisar",
         "description": "Entre este valor e o de vincular, o contato vai para Revisar contatos; abaixo dele é ignorado."},
       "requisicoes_por_minuto": {"type": "integer", "minimum": 1, "maximum": 6000, "default": 120,
         "title": "Requisições por minuto",
         "description": "O conector também respeita os cabeçalhos x-ratelimit-* da OneCode."}
     }'::jsonb)
where slug = 'onecode';

-- Queues the processing of a tenant integration's pending webhook events, in the caller's
-- transaction (the event and its job commit together). Security definer because only the
-- server's own login reaches graphile_worker's schema; callable by the service alone. The
-- job key folds a burst of events into one job that starts a moment later.
create or replace function public.enqueue_onecode_events(_tenant_integration_id uuid)
  returns void
  language plpgsql security definer set search_path = public
  as $$
begin
  perform graphile_worker.add_job(
    'process_onecode_events',
    json_build_object('tenant_integration_id', _tenant_integration_id),
    run_at := now() + interval '300 milliseconds',
    max_attempts := 10,
    job_key := 'onecode-events:' || _tenant_integration_id,
    job_key_mode := 'preserve_run_at');
end
$$;
revoke all on function public.enqueue_onecode_events(uuid) from public, anon, authenticated;
grant execute on function public.enqueue_onecode_events(uuid) to service_role;

-- The webhook secret authenticates what OneCode sends to the portal; it is never sent to
-- the API, so it stays when the API's address moves to another origin (the other
-- credentials go, as 0006 decided). The schema marks such secrets `"inbound": true` (above).

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
        -- A secret the provider uses to sign what it sends us is never sent to the API.
        and coalesce((schema -> 'properties' -> s.field ->> 'inbound')::boolean, false) = false
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
