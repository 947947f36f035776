-- A history filtered by a status other than success reads only those rows (#13).
--
-- The history's keyset index (0013: tenant, provider, created_at desc, id desc) serves
-- the unfiltered pages and the successes, most rows. Filtered by errors (or partial,
-- running, cancelled) the page walked that index back in time until it had found a page
-- of them: for a tenant with few, the whole date range. Measured by `make bench` at
-- 10,000,000 rows, the errors of the last 30 days of a tenant with none there read about
-- 41,000 rows: 127 ms p50, its floor 200 ms. This partial index holds the other statuses
-- only (a fraction of the log: 150 MB beside the keyset index's 1,215 MB at 10M rows),
-- so such a page is one index range however rare they are: 0.07-0.34 ms there, as
-- `authenticated` with the application's prepared statement. A filter by `status = $3`
-- uses it through the custom plan of the bound status, which implies `<> 'success'`.
create index if not exists integration_logs_unsettled_idx
  on public.integration_logs (tenant_id, provider_slug, status, created_at desc, id desc)
  where status <> 'success';
