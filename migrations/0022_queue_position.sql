-- "Na fila" with its place (issue "The engine under pressure", item 1): a run that waits
-- for a worker says so on its card and its page, with its position among every tenant's
-- waiting runs, and the position moves live as runs ahead of it start.
-- Replacing a trigger locks the log for a moment; behind a long transaction on the
-- customer's database, give up rather than hold every reader of the log in line.
set local lock_timeout = '15s';

-- The place of the caller's execution `_execution` in the queue: 1 + the attempts ready
-- to start (running, no worker yet, due) claimed before it, across all tenants (a count,
-- no tenant's runs named). NULL when the caller does not belong to its tenant, when a
-- worker has it, or when it waits out a retry's backoff. Those attempts are few (at most
-- every tenant's one waiting run per integration): the count reads the running rows only.
create or replace function public.queue_position(_execution uuid) returns integer
  language plpgsql stable security definer set search_path = public
  as $$
declare
  me record;
begin
  select l.id, l.heartbeat_at into me
  from public.integration_logs l
  where l.execution_id = _execution
    and l.tenant_id = any (public.member_tenant_keys())
    and l.status = 'running' and l.started_at is null and l.heartbeat_at <= now()
  order by l.attempt desc
  limit 1;
  if not found then
    return null;
  end if;
  return 1 + (select count(*)
              from public.integration_logs q
              where q.status = 'running' and q.started_at is null and q.heartbeat_at <= now()
                and (q.heartbeat_at, q.id) < (me.heartbeat_at, me.id))::integer;
end
$$;
revoke all on function public.queue_position(uuid) from public, anon;
grant execute on function public.queue_position(uuid) to authenticated, service_role;

-- Pages hear a run leave the queue: its own card when a worker starts it, and every page
-- showing a waiting run ("# queue": the places behind it moved).
create or replace function public.integration_logs_notify_change() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  -- (Bounded: a notification's payload must stay under 8000 bytes; see 0017.)
  if new.provider_slug is not null
     and octet_length(new.tenant_id) + octet_length(new.provider_slug) < 7900 then
    perform pg_notify('run_changed', new.tenant_id || ' ' || new.provider_slug);
  end if;
  if tg_op = 'UPDATE' and old.status = 'running' and old.started_at is null
     and (new.started_at is not null or new.status <> 'running') then
    perform pg_notify('run_changed', '# queue');
  end if;
  return null;
end
$$;
revoke all on function public.integration_logs_notify_change() from public, anon, authenticated;
drop trigger if exists integration_logs_notify_update on public.integration_logs;
create trigger integration_logs_notify_update
  after update of status, progress, started_at on public.integration_logs
  for each row
  when (old.status is distinct from new.status or old.progress is distinct from new.progress
        or old.started_at is distinct from new.started_at)
  execute function public.integration_logs_notify_change();
