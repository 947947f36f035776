-- Issue "Performance": the roll-ups' time histograms hold only the buckets from their first
-- to their last time. A day's runs of one integration and status fall in a few of the 108
-- buckets (syncs of 0.2–9 s: 23 of them), yet every row carried all 108, and the metrics
-- read days × integrations × statuses of them (360 arrays, 38,880 integers, for four
-- integrations over 30 days): sending and decoding those was most of the panel's time.
--
-- A histogram is now an array whose subscripts are its buckets' numbers
-- (`[31:53]={...}`: bucket k of `public.run_time_bucket` at subscript k, as before), and
-- `'{}'` without times. The trigger enlarges an array to hold a new bucket, never shrinks
-- it (a retry that takes an attempt out leaves a 0), and a rebuild writes the shortest.
-- Readers take `array_lower` with it (backend::metrics). The 108-bucket rows of before are
-- the case `[1:108]` and read the same: only those in the metrics' window are trimmed here
-- (the rest stay as they are, until `server rollups rebuild`), so the upgrade rewrites a
-- month of roll-ups, not all of them.
--
-- No way back by starting an older server: it refuses a database with a migration it does
-- not know, and its driver could not read these arrays anyway. By hand: restate 0014's
-- `integration_run_daily_add` and `rebuild_integration_run_daily`, drop the check below,
-- run the rebuild, delete version 26 from `_sqlx_migrations`.
-- Run `server rollups rebuild` after this migration, not while it applies: one already
-- waiting would run 0014's rebuild (108-bucket rows, which read the same).

-- First: every write to the log waits for this migration, and one already going finishes
-- before it. A trigger call that had started with 0014's function would otherwise add its
-- bucket to a trimmed array as 0014 did, leaving nulls. Reads go on.
lock table public.integration_logs in share row exclusive mode;
lock table public.integration_run_daily in share row exclusive mode;

-- `_buckets` with `_n` added to bucket `_k`, enlarged with zeros to hold it.
create or replace function public.run_histogram_add(_buckets integer[], _k integer, _n integer)
  returns integer[]
  language plpgsql immutable parallel safe set search_path = public
  as $$
declare
  _lower integer := array_lower(_buckets, 1);
  _upper integer := array_upper(_buckets, 1);
begin
  if _k is null or _k not between 1 and 108 or _n is null then
    raise exception 'run_histogram_add: bucket % count %', _k, _n
      using errcode = '22023';
  end if;
  if _lower is null then
    return array_fill(_n, array[1], array[_k]);
  elsif _k < _lower then
    -- `||` keeps the left operand's subscripts.
    _buckets := array_fill(0, array[_lower - _k], array[_k]) || _buckets;
  elsif _k > _upper then
    _buckets := _buckets || array_fill(0, array[_k - _upper]);
  end if;
  _buckets[_k] := coalesce(_buckets[_k], 0) + _n;
  return _buckets;
end
$$;
revoke all on function public.run_histogram_add(integer[], integer, integer)
  from public, anon, authenticated;
grant execute on function public.run_histogram_add(integer[], integer, integer) to service_role;

-- The same counts in the shortest array: the zero buckets at either end dropped.
create or replace function public.run_histogram_trim(_buckets integer[]) returns integer[]
  language sql immutable parallel safe set search_path = public
  as $$
    select coalesce(
      (select (format('[%s:%s]=', min(i), max(i))
               || array(select coalesce(_buckets[j], 0)
                        from generate_series(min(i), max(i)) j order by j)::text)::integer[]
       from generate_subscripts(_buckets, 1) i
       where coalesce(_buckets[i], 0) <> 0
       having count(*) > 0),
      '{}'::integer[])
  $$;
revoke all on function public.run_histogram_trim(integer[]) from public, anon, authenticated;
grant execute on function public.run_histogram_trim(integer[]) to service_role;


-- 0014's, with sparse histograms.
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
          case when _ms is null then '{}'::integer[]
               else array_fill(_sign, array[1], array[_bucket]) end)
  on conflict (tenant_id, provider_slug, day, status) do update
    set runs = d.runs + _sign,
        time_sum = d.time_sum + _sign * coalesce(_ms, 0),
        time_count = d.time_count + case when _ms is null then 0 else _sign end,
        buckets = case when _ms is null then d.buckets
                       else public.run_histogram_add(d.buckets, _bucket, _sign) end;
end
$$;
revoke all on function public.integration_run_daily_add(text, text, timestamptz, text, integer, integer)
  from public, anon, authenticated;

-- 0014's, with sparse histograms.
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
           (format('[%s:%s]=', min(bucket), max(bucket))
            || array(select coalesce((jsonb_object_agg(bucket, n) ->> b::text)::int, 0)
                     from generate_series(min(bucket), max(bucket)) b order by b)::text
           )::integer[] as buckets
    from (select tenant_id, provider_slug, day, status,
                 public.run_time_bucket(ms) as bucket, count(*) as n
          from ended where ms is not null
          group by 1, 2, 3, 4, 5) per_bucket
    group by 1, 2, 3, 4
  )
  insert into public.integration_run_daily
    (tenant_id, provider_slug, day, status, runs, time_sum, time_count, buckets)
  select e.tenant_id, e.provider_slug, e.day, e.status, count(*),
         coalesce(sum(e.ms), 0), count(e.ms), coalesce(h.buckets, '{}'::integer[])
  from ended e
  left join histograms h using (tenant_id, provider_slug, day, status)
  group by e.tenant_id, e.provider_slug, e.day, e.status, h.buckets;
  get diagnostics _rows = row_count;
  return _rows;
end
$$;
revoke all on function public.rebuild_integration_run_daily() from public, anon, authenticated;
grant execute on function public.rebuild_integration_run_daily() to service_role;

-- The window's rows written before (the metrics read at most 30 days: `day > today - 30`):
-- the same counts, trimmed, without reading the log again.
update public.integration_run_daily
set buckets = public.run_histogram_trim(buckets)
where day > (now() at time zone 'UTC')::date - 31
  and array_lower(buckets, 1) = 1 and array_upper(buckets, 1) = 108;

alter table public.integration_run_daily alter column buckets set default '{}'::integer[];
-- Every histogram: empty, or one dimension within buckets 1..108 and no nulls. Not
-- validated against the rows of before (108-bucket arrays, which hold): a scan of the
-- whole table under this migration's lock for nothing.
alter table public.integration_run_daily
  drop constraint if exists integration_run_daily_buckets_check;
alter table public.integration_run_daily
  add constraint integration_run_daily_buckets_check
  check (cardinality(buckets) = 0
         or (array_ndims(buckets) = 1 and array_lower(buckets, 1) >= 1
             and array_upper(buckets, 1) <= 108 and array_position(buckets, null) is null))
  not valid;
