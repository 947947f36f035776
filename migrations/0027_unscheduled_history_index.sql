-- A history filtered by an origin other than the schedule reads only those rows (#13).
--
-- As 0025 for the statuses: most runs are scheduled, so a page filtered by another trigger
-- (manual, rerun, retry, api, webhook) walked the keyset index back in time until it had
-- a page of them, for a rare one the integration's whole log. Found by an outside check
-- at 1,000,000 rows: `trigger = 'webhook'` for Contmax's acessorias, none there, read
-- 50,010 rows for an empty page (185 ms; 335 ms with a status filter too). This partial
-- index holds the other triggers only, so such a page is one index range. A filter by
-- `trigger = $4` uses it through the custom plan of the bound trigger
-- (`scope::plan_for_bound_values`), which implies `<> 'schedule'`.
create index if not exists integration_logs_unscheduled_idx
  on public.integration_logs (tenant_id, provider_slug, trigger, created_at desc, id desc)
  where trigger <> 'schedule';
