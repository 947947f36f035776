-- A run cancelled before any worker took it leaves the queue at once. Before, its job
-- stayed until a worker reached it (and found nothing to do), and until then it counted
-- in every later run's "Na fila · posição N" (`queue_position` counts the available jobs
-- ahead).
--
-- `dequeue_integration_run(execution, attempt)`: removes that attempt's job by its key
-- (graphile_worker's own `remove_job`: deleted when no worker holds it; one a worker has
-- just locked is left to that worker, which finds the attempt ended and does nothing).
-- Only for an attempt that has ended (a cancel commits it in the same transaction), and
-- only for the server (`service_role`): the queue's schema is the server's alone.
set local lock_timeout = '15s';

create or replace function public.dequeue_integration_run(_execution_id uuid, _attempt integer)
  returns void
  language plpgsql security definer set search_path = public
  as $$
begin
  if not public.caller_is_service() then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  if not exists (select 1 from public.integration_logs
                 where execution_id = _execution_id and attempt = _attempt
                   and status <> 'running') then
    raise exception 'run_not_ended' using errcode = 'P0002';
  end if;
  if to_regprocedure('graphile_worker.remove_job(text)') is null then
    return;
  end if;
  perform graphile_worker.remove_job('run:' || _execution_id || ':' || _attempt);
end
$$;
revoke all on function public.dequeue_integration_run(uuid, integer)
  from public, anon, authenticated;
grant execute on function public.dequeue_integration_run(uuid, integer) to service_role;
