-- Issue "Performance", item 2: metrics that do not grow with the log. Daily roll-ups per
-- tenant, provider and final status of the runs (an execution counts once, by its last
-- attempt, on the UTC day that attempt was created: what `backend::metrics` computed from
-- the log), kept by a trigger on `integration_logs` in the same transaction as the write
-- that ends an attempt:
--   * an attempt that ends (an update from `running`, or a row inserted already ended,
--     such as a webhook batch's) adds itself;
--   * a retry (attempt n > 1 inserted) takes the previous attempt back out: only the last
--     attempt of an execution counts, and a running one not at all.
-- Times: their sum and count (the average), and a histogram of 108 buckets, a quarter of a
-- power of two wide (bucket 0: up to 1 ms; bucket k: [2^(k/4), 2^((k+1)/4)) ms), which
-- merges by adding and gives the nearest-rank p95 to within 9%.
-- An ended attempt whose status is rewritten by hand moves to its new status; rows deleted
-- (retention, by hand) stay counted: rebuild after editing the log by hand.
-- `rebuild_integration_run_daily()` recomputes everything from the log (this migration
-- runs it once; `server rollups rebuild` runs it by hand).

create table if not exists public.integration_run_daily (
  tenant_id uuid not null references public.organizacoes (id) on delete cascade,
  provider_slug text not null,
  day date not null,
  status text not null check (status in ('success', 'partial', 'error')),
  runs integer not null default 0,
  time_sum bigint not null default 0,
  time_count integer not null default 0,
  buckets integer[] not null default array_fill(0, array[108]),
  primary key (tenant_id, provider_slug, day, status)
);

alter table public.integration_run_daily enable row level security;
revoke all on public.integration_run_daily from public, anon, authenticated;
grant select on public.integration_run_daily to authenticated;
grant select, insert, update, delete on public.integration_run_daily to service_role;
drop policy if exists "integration_run_daily: members read" on public.integration_run_daily;
create policy "integration_run_daily: members read" on public.integration_run_daily
  for select to authenticated
  using (tenant_id = any ((select public.member_tenant_ids())::uuid[]));

-- The histogram bucket of a time in ms (1-based index into `buckets`).
create or replace function public.run_time_bucket(_ms integer) returns integer
  language sql immutable parallel safe set search_path = public
  as $$
    select 1 + case when _ms is null or _ms <= 1 then 0
                    else least(107, floor(ln(_ms::float8) / ln(2) * 4)::int) end
  $$;
revoke all on function public.run_time_bucket(integer) from public, anon, authenticated;
grant execute on function public.run_time_bucket(integer) to service_role;

-- Adds (`_sign` 1) or takes out (-1) one ended attempt.
create or replace function public.integration_run_daily_add(
  _tenant text, _provider text, _created_at timestamptz, _status text, _ms integer, _sign integer
) returns void
  language plpgsql security definer set search_path = public
  as $$
declare
  -- The log's tenant: its id, or its slug in old rows (each by its own key).
  _tenant_id uuid := case
    when _tenant ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    then (select o.id from public.organizacoes o where o.id = _tenant::uuid)
    else (select o.id from public.organizacoes o where o.slug = _tenant)
  end;
  _bucket integer := public.run_time_bucket(_ms);
begin
  if _tenant_id is null or _provider is null
     or _status not in ('success', 'partial', 'error') then
    return;
  end if;
  insert into public.integration_run_daily as d
    (tenant_id, provider_slug, day, status, runs, time_sum, time_count, buckets)
  values (_tenant_id, _provider, (_created_at at time zone 'UTC')::date, _status, _sign,
          _sign * coalesce(_ms, 0), case when _ms is null then 0 else _sign end,
          array(select case when _ms is not null and b = _bucket then _sign else 0 end
                from generate_series(1, 108) b order by b))
  on conflict (tenant_id, provider_slug, day, status) do update
    set runs = d.runs + _sign,
        time_sum = d.time_sum + _sign * coalesce(_ms, 0),
        time_count = d.time_count + case when _ms is null then 0 else _sign end,
        buckets[_bucket] = d.buckets[_bucket] + case when _ms is null then 0 else _sign end;
end
$$;
revoke all on function public.integration_run_daily_add(text, text, timestamptz, text, integer, integer)
  from public, anon, authenticated;

create or replace function public.integration_logs_rollup() returns trigger
  language plpgsql security definer set search_path = public
  as $$
declare
  _previous record;
begin
  if tg_op = 'INSERT' and new.attempt > 1 then
    -- A retry: the attempt before it is no longer the execution's last.
    select l.tenant_id, l.provider_slug, l.created_at, l.status, l.execution_time_ms
      into _previous
      from public.integration_logs l
      where l.execution_id = new.execution_id and l.attempt = new.attempt - 1;
    if found and _previous.status <> 'running' then
      perform public.integration_run_daily_add(_previous.tenant_id, _previous.provider_slug,
        _previous.created_at, _previous.status, _previous.execution_time_ms, -1);
    end if;
  end if;
  if tg_op = 'UPDATE' and old.status <> 'running' and new.status is distinct from old.status then
    -- An ended attempt rewritten (by hand): counted only if it is the execution's last.
    if exists (select 1 from public.integration_logs l
               where l.execution_id = new.execution_id and l.attempt > new.attempt) then
      return null;
    end if;
    perform public.integration_run_daily_add(old.tenant_id, old.provider_slug,
      old.created_at, old.status, old.execution_time_ms, -1);
  end if;
  if new.status <> 'running'
     and (tg_op = 'INSERT' or new.status is distinct from old.status) then
    perform public.integration_run_daily_add(new.tenant_id, new.provider_slug,
      new.created_at, new.status, new.execution_time_ms, 1);
    if tg_op = 'INSERT' or old.status = 'running' then
      -- `?wait=true` is woken by this (at commit) instead of polling: an id says nothing
      -- by itself, whoever is told reads the attempt under their own row-level security
      -- (backend/src/run_events.rs).
      perform pg_notify('run_ended', new.execution_id::text);
    end if;
  end if;
  return null;
end
$$;
revoke all on function public.integration_logs_rollup() from public, anon, authenticated;
drop trigger if exists integration_logs_rollup on public.integration_logs;
create trigger integration_logs_rollup after insert or update of status on public.integration_logs
  for each row execute function public.integration_logs_rollup();

-- Everything again from the log (old data, or after a repair).
create or replace function public.rebuild_integration_run_daily() returns bigint
  language plpgsql security definer set search_path = public
  as $$
declare
  _rows bigint;
begin
  lock table public.integration_run_daily in exclusive mode;
  delete from public.integration_run_daily;
  with tenant_keys as (
    select o.id::text as k, o.id from public.organizacoes o
    union all
    select o.slug, o.id from public.organizacoes o where o.slug is not null
  ),
  last_attempts as (
    -- Old rows may have no execution id: each is a run of its own.
    select distinct on (coalesce(l.execution_id, l.id))
           k.id as tenant_id, l.provider_slug,
           (l.created_at at time zone 'UTC')::date as day, l.status, l.execution_time_ms as ms
    from public.integration_logs l
    join tenant_keys k on k.k = l.tenant_id
    where l.provider_slug is not null
    order by coalesce(l.execution_id, l.id), l.attempt desc
  ),
  ended as (
    select * from last_attempts where status in ('success', 'partial', 'error')
  ),
  histograms as (
    select tenant_id, provider_slug, day, status,
           array(select coalesce((h.counts ->> b::text)::int, 0)
                 from generate_series(1, 108) b order by b) as buckets
    from (select tenant_id, provider_slug, day, status, jsonb_object_agg(bucket, n) as counts
          from (select tenant_id, provider_slug, day, status,
                       public.run_time_bucket(ms) as bucket, count(*) as n
                from ended where ms is not null
                group by 1, 2, 3, 4, 5) per_bucket
          group by 1, 2, 3, 4) h
  )
  insert into public.integration_run_daily
    (tenant_id, provider_slug, day, status, runs, time_sum, time_count, buckets)
  select e.tenant_id, e.provider_slug, e.day, e.status, count(*),
         coalesce(sum(e.ms), 0), count(e.ms),
         coalesce(h.buckets, array_fill(0, array[108]))
  from ended e
  left join histograms h using (tenant_id, provider_slug, day, status)
  group by e.tenant_id, e.provider_slug, e.day, e.status, h.buckets;
  get diagnostics _rows = row_count;
  return _rows;
end
$$;
revoke all on function public.rebuild_integration_run_daily() from public, anon, authenticated;
grant execute on function public.rebuild_integration_run_daily() to service_role;

select public.rebuild_integration_run_daily();
