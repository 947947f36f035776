-- Live status (issue "The engine under pressure", item 9): every change a page shows of a
-- run (an attempt inserted, its status or its progress written) is told on the channel
-- `run_changed`, at commit, as "<tenant key> <provider slug>". The server's one listener
-- passes it on to the open pages of that tenant over Server-Sent Events, each of which
-- reads the integration's summary under its own caller's row-level security
-- (server/src/live.rs): the payload itself reaches no browser.
-- Replacing a trigger locks the log for a moment; behind a long transaction on the
-- customer's database, give up rather than hold every reader of the log in line.
set local lock_timeout = '15s';

create or replace function public.integration_logs_notify_change() returns trigger
  language plpgsql set search_path = public
  as $$
begin
  if new.provider_slug is not null then
    perform pg_notify('run_changed', new.tenant_id || ' ' || new.provider_slug);
  end if;
  return null;
end
$$;
revoke all on function public.integration_logs_notify_change() from public, anon, authenticated;
-- Inserts always; updates only when the status or the progress moved (the heartbeat writes
-- `progress` every few seconds, mostly unchanged).
drop trigger if exists integration_logs_notify_insert on public.integration_logs;
create trigger integration_logs_notify_insert
  after insert on public.integration_logs
  for each row execute function public.integration_logs_notify_change();
drop trigger if exists integration_logs_notify_update on public.integration_logs;
create trigger integration_logs_notify_update
  after update of status, progress on public.integration_logs
  for each row
  when (old.status is distinct from new.status or old.progress is distinct from new.progress)
  execute function public.integration_logs_notify_change();
