-- make bench: :rows integration_logs rows over 500 tenants (Contmax, P&G and 498 more),
-- a fifth of them Contmax's across its four providers, over the last year: 85% success,
-- 5% partial, 10% error, each a run of its own. Loaded without triggers (the audit and
-- roll-up triggers would cost a statement each per row); the roll-ups are then rebuilt as
-- `server rollups rebuild` does, and the table analysed, as after a real year.
\set ON_ERROR_STOP 1
-- The tenants with their triggers (0030's list of every organization follows them).
insert into public.organizacoes (nome, slug)
select 'Escritório ' || g, 'bench-' || g from generate_series(1, 498) g
on conflict (slug) do nothing;

set session_replication_role = replica;

insert into public.integration_logs
  (tenant_id, integration, provider_slug, status, trigger, attempt, execution_id,
   heartbeat_at, started_at, finished_at, created_at, execution_time_ms,
   total_processados, total_matched, total_created, total_updated, total_failed, error_message)
with others as (
  select array_agg(id::text order by slug) as ids
  from public.organizacoes where slug like 'bench-%' or slug = 'pg'
), contmax as (
  select id::text as id from public.organizacoes where slug = 'contmax'
)
select case when g % 5 = 0 then contmax.id else others.ids[1 + g % 499] end,
       p.slug, p.slug, s.status, case when g % 4 = 0 then 'manual' else 'schedule' end,
       1, gen_random_uuid(), at, at, at + make_interval(secs => ms / 1000.0), at, ms,
       60, 59, g % 3, 59 - g % 3, case when s.status = 'partial' then 1 else 0 end,
       case when s.status = 'error' then 'HTTP 503 (bench)' end
from generate_series(1, :rows) g
cross join others
cross join contmax
cross join lateral (select now() - make_interval(secs => (g::bigint * 7919 % 31536000)::double precision) as at,
                           200 + (g * 37 % 9000) as ms) x
-- The status by g / 20, not g: Contmax's rows are every fifth g, whose g % 20 is never
-- 17-19 (it had no errors), and the provider takes (g / 5) % 4.
cross join lateral (select case when (g / 20) % 20 < 17 then 'success'
                                when (g / 20) % 20 = 17 then 'partial' else 'error' end as status) s
cross join lateral (select (array['acessorias', 'bomcontrole', 'onecode', 'local-http'])[1 + (g / 5) % 4] as slug) p;

set session_replication_role = origin;
select public.rebuild_integration_run_daily() as rollup_rows;
analyze public.integration_logs;
analyze public.integration_run_daily;
