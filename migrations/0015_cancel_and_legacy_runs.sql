-- The engine under pressure (issue "The engine under pressure"):
--
-- * `cancelled`, a run's fifth outcome: a person stopped it (*Cancelar*). Not an error: it
--   is not retried, does not count in "com erro agora", and the daily roll-ups (which
--   count success, partial and error) leave it out, as they leave out running ones.
-- * Linked re-runs: *Tentar novamente* starts an execution with a trigger of its own
--   (`rerun`, not the engine's automatic `retry`) that records the one it repeats
--   (`rerun_of`); the drawer links both ways.
-- * The previous portal's runs left `running` (BASELINE.md: its syncs died with the
--   browser tab) are ended once, here, as "interrompida (portal anterior)", never retried.
--   They are the running rows without a heartbeat: every claim of this engine writes one.
--   The reaper ends any that appear later the same way.

-- On a live database: wait for the tables' locks at most this long, then fail (and be
-- tried again at the next start) rather than queue every portal request behind us.
set local lock_timeout = '15s';

alter table public.integration_logs drop constraint if exists integration_logs_status_check;
-- Not validated against old rows: the customer's history is kept as it is.
alter table public.integration_logs add constraint integration_logs_status_check
  check (status in ('success', 'partial', 'error', 'running', 'cancelled')) not valid;

alter table public.integration_logs add column if not exists rerun_of uuid;
create index if not exists integration_logs_rerun_of_idx
  on public.integration_logs (rerun_of) where rerun_of is not null;
alter table public.integration_logs drop constraint if exists integration_logs_trigger_check;
alter table public.integration_logs add constraint integration_logs_trigger_check
  check (trigger in ('manual', 'api', 'schedule', 'webhook', 'retry', 'rerun')) not valid;

alter table public.tenant_integrations drop constraint if exists tenant_integrations_last_status_check;
alter table public.tenant_integrations add constraint tenant_integrations_last_status_check
  check (last_status in ('success', 'partial', 'error', 'running', 'cancelled'));

-- Two statements: the second must see the first's rows as ended.
create temporary table previous_portal_runs on commit drop as
with ended as (
  update public.integration_logs
  set status = 'error', error_message = 'interrompida (portal anterior)',
      finished_at = coalesce(finished_at, now())
  where status = 'running' and heartbeat_at is null
  returning tenant_id, provider_slug
)
select distinct tenant_id, provider_slug from ended;

update public.tenant_integrations t
set last_status = 'error', last_error = 'interrompida (portal anterior)'
from previous_portal_runs e
join public.organizacoes o on o.id::text = lower(e.tenant_id) or o.slug = e.tenant_id
join public.integration_providers p on p.slug = e.provider_slug
where t.tenant_id = o.id and t.provider_id = p.id and t.last_status = 'running'
  and not exists (select 1 from public.integration_logs l
                  where l.status = 'running' and l.provider_slug = p.slug
                    and l.tenant_id in (o.id::text, o.slug));
