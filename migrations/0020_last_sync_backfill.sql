-- The card's last-sync pointer (0017) for the runs before it, on its own: 0017's schema
-- change holds an exclusive lock on tenant_integrations until its transaction ends, and a
-- backfill there (about 2 s per million log rows) kept every page and the engine waiting
-- that long. Here the update locks only the rows it changes; readers never wait.
-- One pass over the log (two hash joins: rows keyed by the tenant's id, and the old job's
-- by its slug), not a look-up per integration.
update public.tenant_integrations ti
set last_sync_log_id = s.id
from (
  select distinct on (k.tenant_id, k.provider_slug) k.tenant_id, k.provider_slug, k.id
  from (
    select o.id as tenant_id, l.provider_slug, l.id, l.created_at
    from public.integration_logs l
    join public.organizacoes o on o.id::text = lower(l.tenant_id)
    where l.status in ('success', 'partial') and l.trigger <> 'webhook'
    union all
    select o.id, l.provider_slug, l.id, l.created_at
    from public.integration_logs l
    join public.organizacoes o on o.slug = l.tenant_id
    where l.status in ('success', 'partial') and l.trigger <> 'webhook'
  ) k
  order by k.tenant_id, k.provider_slug, k.created_at desc, k.id desc
) s, public.integration_providers p
where p.id = ti.provider_id
  and s.tenant_id = ti.tenant_id
  and s.provider_slug = p.slug
  and ti.last_sync_log_id is null;
