-- Follow-ups of the attack review of live status (issue "Performance"), each a read that
-- every card does on every page and on every change a live stream passes on:
--   1. the running attempt's progress, which every integration card reads (list_for_tenant,
--      on every page and every change a live stream passes on), went by the reaper's
--      `integration_logs_running_heartbeat_idx` with the tenant and provider as filters:
--      with a couple of thousand running rows across tenants it read them all, per card.
--      With the query's plain comparisons (backend::integrations::list_for_tenant) and
--      this index, in the order the card wants (newest first), it reads the one row; with
--      0004's `integration_logs_running_idx` alone the planner may walk the whole log
--      backwards by `created_at` instead;
--   2. the card's last sync totals: a newest-first walk of the log filtered by tenant,
--      provider, status and trigger, which the planner may run over `created_at` across
--      every tenant's rows (with OneCode's frequent webhook batches, or a tenant whose
--      last success is old, thousands of rows per card). The engine now keeps a pointer
--      to that run (`last_sync_log_id`, written when it concludes one) and the card reads
--      it by primary key; filled by 0020 for the runs before;
--   3. the change notification's payload is bounded: pg_notify refuses more than 8000
--      bytes, and a tenant key that long (no tenant has one) made the engine's write fail.
--      Such a change is not told (no page could belong to it).
set local lock_timeout = '15s';

create index if not exists integration_logs_running_tenant_provider_idx
  on public.integration_logs (tenant_id, provider_slug, created_at desc)
  where status = 'running';

alter table public.tenant_integrations add column if not exists last_sync_log_id uuid;
-- (Filled for the runs before by 0020, in a transaction of its own.)

create or replace function public.integration_logs_notify_change() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if new.provider_slug is not null
     and octet_length(new.tenant_id) + octet_length(new.provider_slug) < 7900 then
    perform pg_notify('run_changed', new.tenant_id || ' ' || new.provider_slug);
  end if;
  return null;
end
$$;
revoke all on function public.integration_logs_notify_change() from public, anon, authenticated;
