-- A timeline per attempt (issue "The engine under pressure", item 11): what the run did
-- (pages fetched and the time spent waiting for the request budget, calls tried again and
-- why, records written, checkpoints moved), recorded by the engine and shown in the
-- drawer. A JSON array of at most 101 small entries (model::timeline), written by the
-- worker with its heartbeat and when the attempt ends; bounded here too. Nullable without
-- a default: adding it rewrites nothing, and the check is not validated against old rows
-- (they have none).
set local lock_timeout = '15s';

alter table public.integration_logs add column if not exists events jsonb;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'integration_logs_events_check') then
    alter table public.integration_logs add constraint integration_logs_events_check
      check (events is null
             or (jsonb_typeof(events) = 'array' and pg_column_size(events) <= 65536)) not valid;
  end if;
end $$;
