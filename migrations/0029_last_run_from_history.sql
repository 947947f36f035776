-- The last run of integrations that ran before the engine (found by an outside check).
--
-- The customer's `tenant_integrations` had no last run: 0002 added `last_run`,
-- `last_status` and `last_error`, and only the engine writes them, when it concludes a
-- sync. An integration with a history from the old sync jobs and no sync since then showed
-- "Nunca executada" and "Última execução: —" above that history (and did not count in
-- "Com erro agora" when its last run had failed). They now come from the newest settled
-- sync of its log: its time, its status and its error, as the engine writes them when it
-- concludes one. Only where nothing was written yet; a sync since then keeps its own.
--
-- What counts is what the card's history lists: the rows keyed by the tenant's id or, in
-- the old jobs' rows, by its slug (`history::tenant_keys`, the RLS helper
-- `member_tenant_keys()`); OneCode's webhook batches are not syncs (the engine never
-- writes them into the card, and 0020 leaves them out of the last sync's totals).
-- A look-up per integration that has none, not a pass over the log: one row from the top
-- of each of the history's keyset index ranges (0013). A first form read the whole log:
-- 25.6 s at 10,000,000 rows, inside the server's start.
set local lock_timeout = '15s';

create or replace function public.last_sync_in_log(_tenant uuid, _provider text)
  returns table (created_at timestamptz, status text, error_message text)
  language sql stable set search_path = public
  as $$
  select u.created_at, u.status, left(u.error_message, 2000)
  from (
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = _tenant::text and l.provider_slug = _provider
       and l.status in ('success', 'partial', 'error', 'cancelled')
       and l.trigger is distinct from 'webhook'
     order by l.created_at desc, l.id desc limit 1)
    union all
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = (select o.slug from public.organizacoes o where o.id = _tenant)
       and l.provider_slug = _provider
       and l.status in ('success', 'partial', 'error', 'cancelled')
       and l.trigger is distinct from 'webhook'
     order by l.created_at desc, l.id desc limit 1)
  ) u
  order by u.created_at desc, u.id desc
  limit 1
$$;
-- Security invoker: whoever calls it reads the log under their own row-level security.
revoke all on function public.last_sync_in_log(uuid, text) from public, anon;
grant execute on function public.last_sync_in_log(uuid, text) to authenticated, service_role;

with found as (
  select ti.id, s.created_at, s.status, s.error_message
  from public.tenant_integrations ti
  join public.integration_providers p on p.id = ti.provider_id
  cross join lateral public.last_sync_in_log(ti.tenant_id, p.slug) s
  where ti.last_run is null and ti.last_status is null
)
update public.tenant_integrations ti
set last_run = f.created_at,
    last_status = f.status,
    last_error = f.error_message
from found f
where f.id = ti.id
  and ti.last_run is null
  and ti.last_status is null;

-- The same for an integration added later (the portal's *Adicionar*, the demo's seed, a
-- PostgREST insert): a tenant whose old jobs synced OneCode gets OneCode's last run with
-- it. As the inserting role, under its row-level security: what it cannot read, it does
-- not copy. It reads `provider_id`, which `tenant_integrations_guard` (0010/0012) fills from
-- the old `provider` text: PostgreSQL fires before-insert triggers by name, and "guard"
-- sorts before "last_run_from_log"; a rename that changed that order would lose the copy.
create or replace function public.tenant_integration_last_run_from_log() returns trigger
  language plpgsql set search_path = public
  as $$
declare
  r record;
begin
  if new.last_run is not null or new.last_status is not null then
    return new;
  end if;
  select s.* into r
  from public.integration_providers p,
       lateral public.last_sync_in_log(new.tenant_id, p.slug) s
  where p.id = new.provider_id;
  if found then
    new.last_run := r.created_at;
    new.last_status := r.status;
    new.last_error := r.error_message;
  end if;
  return new;
end
$$;
revoke all on function public.tenant_integration_last_run_from_log() from public, anon, authenticated;
drop trigger if exists tenant_integrations_last_run_from_log on public.tenant_integrations;
create trigger tenant_integrations_last_run_from_log before insert on public.tenant_integrations
  for each row execute function public.tenant_integration_last_run_from_log();
