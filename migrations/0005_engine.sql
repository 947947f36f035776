-- The integration engine (issue "The integration engine"): what a run needs beyond the
-- claim of 0004. New columns are nullable or defaulted; nothing is dropped.
--
-- The queue itself is graphile_worker's schema `graphile_worker`, which the crate creates
-- and migrates at start-up (backend::queue::install); the function below calls into it
-- late-bound, so this migration applies before that schema exists.

-- Schedules: an interval ("15m", "2h", "1d") or a five-field cron expression, validated by
-- the server (backend::schedule). `schedule_last_at` is the last time the scheduler looked
-- at it and enqueued (or found a run going): missed schedules after downtime run once.
alter table public.tenant_integrations
  add column if not exists schedule text,
  add column if not exists schedule_last_at timestamptz;

-- Per attempt: progress reported by the provider (0..100), a cancellation request, when a
-- worker took it and which worker (host:pid), for operators and the overlap tests.
alter table public.integration_logs
  add column if not exists progress integer,
  add column if not exists cancel_requested_at timestamptz,
  add column if not exists started_at timestamptz,
  add column if not exists worker text;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'integration_logs_progress_check') then
    alter table public.integration_logs add constraint integration_logs_progress_check
      check (progress is null or progress between 0 and 100);
  end if;
  if not exists (select 1 from pg_constraint where conname = 'integration_logs_attempt_check') then
    alter table public.integration_logs add constraint integration_logs_attempt_check
      check (attempt >= 1);
  end if;
end $$;

-- One row per attempt of an execution.
create unique index if not exists integration_logs_execution_attempt_idx
  on public.integration_logs (execution_id, attempt);
-- The reaper looks for running attempts whose heartbeat went stale.
create index if not exists integration_logs_running_heartbeat_idx
  on public.integration_logs (heartbeat_at) where status = 'running';
-- Metrics and retention read by time.
create index if not exists integration_logs_created_idx
  on public.integration_logs (created_at);

-- Hands an attempt that is `running` to the queue, in the caller's transaction, so that a
-- claim and its job commit together or not at all. Security definer because the caller
-- (role authenticated) has no rights on graphile_worker's schema; it checks membership
-- itself, like claim_integration_run. The job key makes a second call for the same attempt
-- a no-op.
create or replace function public.enqueue_integration_run(
  _execution_id uuid, _attempt integer, _run_at timestamptz default null
) returns void
  language plpgsql security definer set search_path = public
  as $$
declare
  l record;
begin
  select tenant_id into l
  from public.integration_logs
  where execution_id = _execution_id and attempt = _attempt and status = 'running';
  if not found then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  if coalesce(auth.jwt() ->> 'role', '') <> 'service_role'
     and not public.is_tenant_member(l.tenant_id::uuid) then
    raise exception 'run_not_found' using errcode = 'P0002';
  end if;
  perform graphile_worker.add_job(
    'run_integration',
    json_build_object('execution_id', _execution_id, 'attempt', _attempt),
    run_at := coalesce(_run_at, now()),
    -- graphile's own retries cover infrastructure failures only (the database went away
    -- mid-write); provider errors are retried by the engine as new attempts.
    max_attempts := 3,
    job_key := 'run:' || _execution_id || ':' || _attempt,
    job_key_mode := 'preserve_run_at');
end
$$;

revoke all on function public.enqueue_integration_run(uuid, integer, timestamptz) from public;
grant execute on function public.enqueue_integration_run(uuid, integer, timestamptz)
  to authenticated, service_role;
