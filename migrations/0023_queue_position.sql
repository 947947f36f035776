-- "Na fila · posição N" (issue "The engine under pressure", item 1): a run that waits for a
-- worker says so, with its place in the queue, and the place moves live.
--
-- 1. `queue_position(tenant, execution)`: the place of that execution's waiting attempt
--    among the runs graphile_worker will take before it. Graphile takes the available,
--    due jobs by `(priority, run_at)` (graphile_worker's get_job); ours break ties by id.
--    Runs only (`run_integration` jobs; not alert deliveries nor webhook batches, which
--    would tell of other tenants' failures and events), every tenant's, none named: a
--    place in a shared queue says how many runs are ahead, nothing more. The count stops
--    at 1,000 (the page says "1000+"). `null` when the attempt is not waiting for a worker:
--    started, ended, a retry still in its backoff (`run_at` ahead), a job not found, or an
--    execution the caller may not see (not a member of that tenant, or not that tenant's).
--    A security definer because the queue's schema is the server's alone; it answers a
--    number and nothing else.
-- 2. The claims of one transaction (a schedule tick, a batch) are queued at
--    `clock_timestamp()`, not at the transaction's `now()`: each gets its own `run_at`,
--    so graphile starts them in the order placed and the places shown are the real ones.
-- 3. The change notification also fires when a worker starts an attempt (`started_at`),
--    so a card moves from "Na fila" to "Executando" at once.
set local lock_timeout = '15s';

create or replace function public.queue_position(_tenant uuid, _execution_id uuid)
  returns integer
  language plpgsql stable security definer set search_path = public
  as $$
declare
  waiting record;
  job record;
  run_task integer;
  ahead integer;
begin
  if _tenant is null or _execution_id is null then
    return null;
  end if;
  if not public.caller_is_service() and not public.is_tenant_member(_tenant) then
    return null;
  end if;
  select l.attempt into waiting
  from public.integration_logs l
  where l.execution_id = _execution_id and l.tenant_id = _tenant::text
    and l.status = 'running' and l.started_at is null
  order by l.attempt desc
  limit 1;
  -- The queue's tables missing, or unreadable by this function's owner (a database set
  -- up by hand): no place, rather than a page that fails.
  -- (Neither to_regclass nor has_table_privilege checks the schema's USAGE; naming a
  -- table of a schema one may not use raises. The schema first, then the tables.)
  if not found
     or to_regnamespace('graphile_worker') is null
     or not has_schema_privilege('graphile_worker', 'usage') then
    return null;
  end if;
  if to_regclass('graphile_worker._private_jobs') is null
     or to_regclass('graphile_worker._private_tasks') is null
     or not has_table_privilege('graphile_worker._private_jobs', 'select')
     or not has_table_privilege('graphile_worker._private_tasks', 'select') then
    return null;
  end if;
  select t.id into run_task from graphile_worker._private_tasks t
  where t.identifier = 'run_integration';
  select j.priority, j.run_at, j.id into job
  from graphile_worker._private_jobs j
  where j.key = 'run:' || _execution_id || ':' || waiting.attempt
    and j.is_available;
  if not found or job.run_at > now() then
    return null;
  end if;
  select count(*) into ahead
  from (select 1
        from graphile_worker._private_jobs o
        where o.is_available
          and o.task_id = run_task
          and o.run_at <= now()
          and (o.priority, o.run_at, o.id) < (job.priority, job.run_at, job.id)
        limit 999) a;
  return ahead + 1;
end
$$;
revoke all on function public.queue_position(uuid, uuid) from public, anon;
grant execute on function public.queue_position(uuid, uuid) to authenticated, service_role;

create or replace function public.enqueue_integration_run(
  _execution_id uuid, _attempt integer, _run_at timestamptz default null
) returns void
  language plpgsql security definer set search_path = public
  as $$
begin
  if not public.caller_is_service() then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  if not exists (select 1 from public.integration_logs
                 where execution_id = _execution_id and attempt = _attempt
                   and status = 'running') then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  perform graphile_worker.add_job(
    'run_integration',
    json_build_object('execution_id', _execution_id, 'attempt', _attempt),
    run_at := coalesce(_run_at, clock_timestamp()),
    max_attempts := 3,
    job_key := 'run:' || _execution_id || ':' || _attempt,
    job_key_mode := 'preserve_run_at');
end
$$;
revoke all on function public.enqueue_integration_run(uuid, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.enqueue_integration_run(uuid, integer, timestamptz) to service_role;

drop trigger if exists integration_logs_notify_update on public.integration_logs;
create trigger integration_logs_notify_update
  after update of status, progress, started_at on public.integration_logs
  for each row
  when (old.status is distinct from new.status
        or old.progress is distinct from new.progress
        or old.started_at is distinct from new.started_at)
  execute function public.integration_logs_notify_change();
