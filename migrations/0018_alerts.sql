-- Alerts and auto-pause (issue "The engine under pressure", item 10).
--
-- 1. After N consecutive failed executions of a tenant integration (`pause_after_failures`,
--    per integration, 1..20, default 3) the engine pauses its schedule (`paused_at`,
--    `paused_after`: how many failures it had). A success lifts the pause; a tenant admin
--    lifts it with *Retomar* (`paused_at` set to null). Only the engine pauses: clients may
--    only clear `paused_at`, which also restarts the count.
-- 2. Each pause and each recovery is a notice to the tenant's admins
--    (`integration_notices`, read by them alone; what each person has seen is their own
--    watermark in `integration_notice_reads`) and, when the tenant configured one, a
--    message to an outgoing webhook (`tenant_alert_webhooks`: the address and the signing
--    secret encrypted by the server like the vault's values, readable by no client role),
--    sent by the queue's `deliver_alert` job.
-- 3. Audited: the pause, the resume and the threshold's changes by the trigger below (every
--    path: portal, API, PostgREST), the webhook's changes by the server. The same trigger
--    tells open pages (live status) that the pause moved.
set local lock_timeout = '15s';

alter table public.tenant_integrations
  add column if not exists pause_after_failures integer not null default 3,
  add column if not exists consecutive_failures integer not null default 0,
  add column if not exists paused_at timestamptz,
  add column if not exists paused_after integer;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'tenant_integrations_pause_check') then
    alter table public.tenant_integrations add constraint tenant_integrations_pause_check
      check (pause_after_failures between 1 and 20
             and consecutive_failures >= 0
             and (paused_after is null or paused_after >= 1));
  end if;
end $$;
-- What a tenant admin may change (RLS: the update policy of 0011): the threshold, and the
-- pause, only to lift it (the guard below).
grant update (pause_after_failures, paused_at) on public.tenant_integrations to authenticated;

create or replace function public.tenant_integrations_pause_guard() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if new.paused_at is distinct from old.paused_at then
    if new.paused_at is not null and not public.caller_is_service() then
      raise exception 'pause_is_the_engines' using errcode = '42501',
        detail = 'only the engine pauses an integration; clients may only resume it';
    end if;
    if new.paused_at is null then
      -- Resumed: the next failures count from zero.
      new.consecutive_failures := 0;
      new.paused_after := null;
    end if;
  end if;
  return new;
end
$$;
revoke all on function public.tenant_integrations_pause_guard() from public, anon, authenticated;
drop trigger if exists tenant_integrations_pause_guard on public.tenant_integrations;
create trigger tenant_integrations_pause_guard before update on public.tenant_integrations
  for each row execute function public.tenant_integrations_pause_guard();

-- The audit trail's new actions.
alter table public.integration_audit drop constraint if exists integration_audit_action_check;
alter table public.integration_audit add constraint integration_audit_action_check check (action in (
  'integration_added', 'integration_removed', 'enabled', 'disabled', 'config_changed', 'secret_set',
  'secret_removed', 'schedule_changed', 'run_requested', 'run_cancelled',
  'connection_tested', 'member_role_changed', 'contact_decided',
  'integration_paused', 'integration_resumed', 'alert_webhook_set', 'alert_webhook_removed'));

create or replace function public.audit_tenant_integration_pause() returns trigger
  language plpgsql security definer set search_path = public
  as $$
declare
  a record;
  slug text;
begin
  select * into a from public.audit_actor_row();
  select p.slug into slug from public.integration_providers p where p.id = new.provider_id;
  slug := coalesce(slug, new.provider);
  if old.paused_at is null and new.paused_at is not null then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'integration_paused',
            jsonb_build_object('failures', new.paused_after), a.source, a.request_id);
  elsif old.paused_at is not null and new.paused_at is null then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'integration_resumed',
            -- Lifted by the engine: a run succeeded.
            jsonb_build_object('failures', old.paused_after,
                               'recovered', public.caller_is_service() and a.actor is null),
            a.source, a.request_id);
  end if;
  -- Open pages of the tenant show the pause or its end at once (live status, 0016).
  if new.paused_at is distinct from old.paused_at then
    perform pg_notify('run_changed', new.tenant_id::text || ' ' || slug);
  end if;
  if new.pause_after_failures is distinct from old.pause_after_failures then
    insert into public.integration_audit
      (actor_id, actor_email, actor_name, tenant_id, tenant_integration_id, provider_slug,
       action, details, source, request_id)
    values (a.actor, a.email, a.name, new.tenant_id, new.id, slug, 'config_changed',
            jsonb_build_object('changes', jsonb_build_array(jsonb_build_object(
              'field', 'pause_after_failures', 'title', 'Pausar após falhas seguidas',
              'before', old.pause_after_failures, 'after', new.pause_after_failures))),
            a.source, a.request_id);
  end if;
  return null;
end
$$;
revoke all on function public.audit_tenant_integration_pause() from public, anon, authenticated;
drop trigger if exists audit_tenant_integration_pause on public.tenant_integrations;
create trigger audit_tenant_integration_pause
  after update of paused_at, pause_after_failures on public.tenant_integrations
  for each row execute function public.audit_tenant_integration_pause();

-- Notices to the tenant's admins: the portal header's bell.
create table if not exists public.integration_notices (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  tenant_integration_id uuid references public.tenant_integrations (id) on delete cascade,
  provider_slug text not null,
  kind text not null,
  failures integer not null,
  -- The last failure's message, as the history shows it (already redacted).
  last_error text,
  constraint integration_notices_kind_check check (kind in ('paused', 'recovered')),
  constraint integration_notices_error_check check (char_length(last_error) <= 2000)
);
create index if not exists integration_notices_tenant_id_idx
  on public.integration_notices (tenant_id, id desc);
alter table public.integration_notices enable row level security;
revoke all on public.integration_notices from public, anon, authenticated;
grant select on public.integration_notices to authenticated;
grant select, insert, delete on public.integration_notices to service_role;
drop policy if exists "integration_notices: tenant admins read" on public.integration_notices;
create policy "integration_notices: tenant admins read" on public.integration_notices
  for select to authenticated
  using (tenant_id = any ((select public.admin_tenant_ids())::uuid[]));

-- Up to which notice each person has read, per tenant.
create table if not exists public.integration_notice_reads (
  user_id uuid not null references auth.users (id) on delete cascade,
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  seen_up_to bigint not null default 0,
  primary key (user_id, tenant_id)
);
alter table public.integration_notice_reads enable row level security;
revoke all on public.integration_notice_reads from public, anon, authenticated;
grant select, insert, update (seen_up_to) on public.integration_notice_reads to authenticated;
grant select, insert, update, delete on public.integration_notice_reads to service_role;
drop policy if exists "integration_notice_reads: own" on public.integration_notice_reads;
create policy "integration_notice_reads: own" on public.integration_notice_reads
  for all to authenticated
  using (user_id = (select auth.uid()) and (select public.caller_session_ok()))
  with check (user_id = (select auth.uid())
              and tenant_id = any ((select public.admin_tenant_ids())::uuid[]));

-- The tenant's outgoing alert webhook: sealed by the server (AES-256-GCM, the tenant and
-- the field as associated data), never readable by a client role.
create table if not exists public.tenant_alert_webhooks (
  tenant_id uuid primary key references public.organizacoes (id) on delete cascade,
  -- The receiving host alone, for the form (the address carries the receiver's token).
  url_host text not null,
  url_ciphertext bytea not null,
  url_nonce bytea not null,
  secret_ciphertext bytea not null,
  secret_nonce bytea not null,
  key_id text not null,
  set_at timestamptz not null default now(),
  set_by uuid,
  set_by_name text,
  constraint tenant_alert_webhooks_host_check check (char_length(url_host) <= 255),
  constraint tenant_alert_webhooks_nonce_check
    check (length(url_nonce) = 12 and length(secret_nonce) = 12),
  constraint tenant_alert_webhooks_size_check
    check (length(url_ciphertext) between 16 and 4200 and length(secret_ciphertext) between 16 and 200)
);
alter table public.tenant_alert_webhooks enable row level security;
revoke all on public.tenant_alert_webhooks from public, anon, authenticated;
grant select, insert, update, delete on public.tenant_alert_webhooks to service_role;

-- Queues the delivery of one notice to the tenant's webhook, in the engine's transaction
-- (the notice and its job commit together). Only the server's own login reaches
-- graphile_worker's schema; callable by the service alone.
create or replace function public.enqueue_alert_delivery(_notice_id bigint)
  returns void
  language plpgsql security definer set search_path = public
  as $$
begin
  perform graphile_worker.add_job(
    'deliver_alert',
    json_build_object('notice_id', _notice_id),
    max_attempts := 8,
    job_key := 'alert:' || _notice_id);
end
$$;
revoke all on function public.enqueue_alert_delivery(bigint) from public, anon, authenticated;
grant execute on function public.enqueue_alert_delivery(bigint) to service_role;
