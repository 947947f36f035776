-- Follow-ups of the issue "Security" (found by attacking 0010 and 0011 as a tenant admin
-- and as staff through PostgREST):
--   1. a tenant integration's provider text (the old portal's) and provider id (ours)
--      always name the same provider: a tenant admin could insert `provider = 'acessorias'`
--      with OneCode's id, and the module's pages and the engine disagreed on what it was;
--      and a client inserts only providers of the catalog;
--   2. the webhook address token moves to its own table that only the tenant's admins
--      read: staff read every column of `tenant_integrations`, and a column grant would
--      break the old portal's `select *` on that table;
--   3. `schedule_last_at` is the scheduler's: a tenant admin wrote `'infinity'` into it and
--      every tenant's schedule tick failed decoding it. Changing the schedule restarts its
--      clock (the trigger below), clients no longer write the column, and it is bounded.
--
-- Functions created from here on: `anon_executes_no_function_of_ours` (backend/tests/
-- security.rs) lists every function of `public` that `anon` can execute and fails on any
-- but the pre-request hook, so a migration that forgets its `revoke` does not pass CI.
-- (0010's `alter default privileges in schema public revoke …` cancels Supabase's
-- schema-level grants to anon/authenticated; it cannot remove PostgreSQL's global
-- default for `public`.)

-- 1 and 3.
create or replace function public.tenant_integrations_guard() returns trigger
  language plpgsql set search_path = public
  as $$
declare
  _named uuid;
begin
  if tg_op = 'INSERT'
     or new.provider is distinct from old.provider
     or new.provider_id is distinct from old.provider_id then
    select p.id into _named from public.integration_providers p where p.slug = new.provider;
    if _named is null and not public.caller_is_service() then
      raise exception 'unknown_provider' using errcode = '23514',
        detail = 'provider must name a provider of the catalog';
    end if;
    if new.provider_id is null then
      -- The old portal writes only the text.
      new.provider_id := _named;
    elsif _named is distinct from new.provider_id then
      raise exception 'provider_mismatch' using errcode = '23514',
        detail = 'provider and provider_id must name the same provider';
    end if;
  end if;
  -- A new schedule starts its clock now (unless the statement set the clock itself: only
  -- the server can, clients have no grant on the column).
  if tg_op = 'UPDATE' and new.schedule is distinct from old.schedule
     and new.schedule_last_at is not distinct from old.schedule_last_at then
    new.schedule_last_at := case when new.schedule is null then null else now() end;
  end if;
  return new;
end
$$;
revoke all on function public.tenant_integrations_guard() from public, anon, authenticated;

revoke update (schedule_last_at) on public.tenant_integrations from authenticated;
update public.tenant_integrations
set schedule_last_at = null
where schedule_last_at is not null
  and not (schedule_last_at between '2000-01-01' and now() + interval '1 day');
do $$
begin
  if not exists (select 1 from pg_constraint
                 where conname = 'tenant_integrations_schedule_last_at_check') then
    alter table public.tenant_integrations add constraint tenant_integrations_schedule_last_at_check
      check (schedule_last_at between '2000-01-01' and '2200-01-01');
  end if;
end $$;

-- 2. Webhook addresses: one per tenant integration, made by the database when the
-- integration is, read by the tenant's admins (and global admins), written by nobody else.
create table if not exists public.tenant_integration_webhooks (
  tenant_integration_id uuid primary key
    references public.tenant_integrations (id) on delete cascade,
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  -- 244 random bits: addresses cannot be guessed (bodies are authenticated separately).
  token text not null unique
    default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
  created_at timestamptz not null default now()
);

do $$
begin
  if exists (select 1 from information_schema.columns
             where table_schema = 'public' and table_name = 'tenant_integrations'
               and column_name = 'webhook_token') then
    -- Addresses already given to OneCode keep working.
    insert into public.tenant_integration_webhooks (tenant_integration_id, tenant_id, token)
    select t.id, t.tenant_id, t.webhook_token from public.tenant_integrations t
    on conflict (tenant_integration_id) do nothing;
    alter table public.tenant_integrations drop column webhook_token;
  end if;
end $$;
insert into public.tenant_integration_webhooks (tenant_integration_id, tenant_id)
select t.id, t.tenant_id from public.tenant_integrations t
on conflict (tenant_integration_id) do nothing;

create or replace function public.tenant_integration_webhook_made() returns trigger
  language plpgsql security definer set search_path = public
  as $$
begin
  insert into public.tenant_integration_webhooks (tenant_integration_id, tenant_id)
  values (new.id, new.tenant_id)
  on conflict (tenant_integration_id) do nothing;
  return null;
end
$$;
revoke all on function public.tenant_integration_webhook_made() from public, anon, authenticated;
drop trigger if exists tenant_integration_webhook_made on public.tenant_integrations;
create trigger tenant_integration_webhook_made after insert on public.tenant_integrations
  for each row execute function public.tenant_integration_webhook_made();

alter table public.tenant_integration_webhooks enable row level security;
revoke all on public.tenant_integration_webhooks from public, anon, authenticated;
grant select on public.tenant_integration_webhooks to authenticated;
grant select, insert, update, delete on public.tenant_integration_webhooks to service_role;
drop policy if exists "tenant_integration_webhooks: tenant admins read"
  on public.tenant_integration_webhooks;
create policy "tenant_integration_webhooks: tenant admins read"
  on public.tenant_integration_webhooks
  for select to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));
