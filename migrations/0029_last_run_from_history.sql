-- The last run of integrations that ran before the engine (found by an outside check).
--
-- The customer's `tenant_integrations` had no last run: 0002 added `last_run`,
-- `last_status` and `last_error`, and only the engine writes them, when it concludes a run.
-- An integration with a history from the old sync jobs and no run since then showed
-- "Nunca executada" and "Última execução: —" above that history (and did not count in
-- "Com erro agora" when its last run had failed). They now come from the newest settled
-- row of its log, as the engine would have left them: its time, its status, and its error
-- when it failed. Only where nothing was written yet; a run since then keeps its own.
-- One pass over the log, as 0020 (rows keyed by the tenant's id, and the old jobs' by its
-- slug); the update locks only the rows it changes.
update public.tenant_integrations ti
set last_run = s.created_at,
    last_status = s.status,
    last_error = case when s.status = 'error' then left(s.error_message, 2000) end
from (
  select distinct on (k.tenant_id, k.provider_slug)
         k.tenant_id, k.provider_slug, k.created_at, k.status, k.error_message
  from (
    select o.id as tenant_id, l.provider_slug, l.id, l.created_at, l.status, l.error_message
    from public.integration_logs l
    join public.organizacoes o on o.id::text = lower(l.tenant_id)
    where l.status in ('success', 'partial', 'error', 'cancelled')
    union all
    select o.id, l.provider_slug, l.id, l.created_at, l.status, l.error_message
    from public.integration_logs l
    join public.organizacoes o on o.slug = l.tenant_id
    where l.status in ('success', 'partial', 'error', 'cancelled')
  ) k
  order by k.tenant_id, k.provider_slug, k.created_at desc, k.id desc
) s, public.integration_providers p
where p.id = ti.provider_id
  and s.tenant_id = ti.tenant_id
  and s.provider_slug = p.slug
  and ti.last_run is null
  and ti.last_status is null;
