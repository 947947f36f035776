-- Issue "Performance", first part: indexes in the order the pages read.
--
-- A history page is a keyset page of one tenant integration ordered by
-- (created_at desc, id desc): with `id` in the index, the page and its cursor are one index
-- range, no sort (backend/src/history.rs reads each form of the tenant id as one branch).
-- It replaces the (tenant_id, provider_slug, created_at desc) index, which it covers.
create index if not exists integration_logs_tenant_provider_created_id_idx
  on public.integration_logs (tenant_id, provider_slug, created_at desc, id desc);
drop index if exists public.integration_logs_tenant_provider_created_idx;

-- The companies page lists a tenant's companies by name (then id), 50 at a time.
create index if not exists empresas_organizacao_id_nome_idx
  on public.empresas (organizacao_id, nome, id);
