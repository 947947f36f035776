-- The last run of integrations that ran before the engine (found by an outside check).
--
-- The customer's `tenant_integrations` had no last run: 0002 added `last_run`,
-- `last_status` and `last_error`, and only the engine writes them, when it concludes a run.
-- An integration with a history from the old sync jobs and no run since then showed
-- "Nunca executada" and "Última execução: —" above that history (and did not count in
-- "Com erro agora" when its last run had failed). They now come from the newest settled
-- row of its log, as the engine would have left them: its time, its status, and its error
-- when it failed. Only where nothing was written yet; a run since then keeps its own.
--
-- A look-up per integration that has none, not a pass over the log: one row from the top
-- of each range of the history's keyset index (0013), one range per form of the tenant id
-- the old jobs wrote (its id, upper-cased, its slug). A first form read the whole log
-- (25.6 s at 10,000,000 rows, inside the server's start-up).
update public.tenant_integrations ti
set last_run = s.created_at,
    last_status = s.status,
    last_error = case when s.status = 'error' then left(s.error_message, 2000) end
from public.organizacoes o, public.integration_providers p,
lateral (
  select u.created_at, u.status, u.error_message
  from (
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = o.id::text and l.provider_slug = p.slug
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
    union all
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = upper(o.id::text) and l.provider_slug = p.slug
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
    union all
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = o.slug and l.provider_slug = p.slug
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
  ) u
  order by u.created_at desc, u.id desc
  limit 1
) s
where o.id = ti.tenant_id
  and p.id = ti.provider_id
  and ti.last_run is null
  and ti.last_status is null;

-- The same for an integration added later (the portal's *Adicionar*, the demo's seed, a
-- PostgREST insert): a tenant whose old jobs synced OneCode gets OneCode's last run with it.
-- As the inserting role, under its row-level security: what it cannot read, it does not
-- copy.
create or replace function public.tenant_integration_last_run_from_log() returns trigger
  language plpgsql set search_path = public
  as $$
declare
  _provider text;
  _tenant_slug text;
  r record;
begin
  if new.last_run is not null or new.last_status is not null then
    return new;
  end if;
  select coalesce(p.slug, new.provider) into _provider
  from (select 1) one
  left join public.integration_providers p on p.id = new.provider_id;
  select o.slug into _tenant_slug from public.organizacoes o where o.id = new.tenant_id;
  select u.created_at, u.status, u.error_message into r
  from (
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = new.tenant_id::text and l.provider_slug = _provider
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
    union all
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = upper(new.tenant_id::text) and l.provider_slug = _provider
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
    union all
    (select l.created_at, l.id, l.status, l.error_message
     from public.integration_logs l
     where l.tenant_id = _tenant_slug and l.provider_slug = _provider
       and l.status in ('success', 'partial', 'error', 'cancelled')
     order by l.created_at desc, l.id desc limit 1)
  ) u
  order by u.created_at desc, u.id desc
  limit 1;
  if found then
    new.last_run := r.created_at;
    new.last_status := r.status;
    new.last_error := case when r.status = 'error' then left(r.error_message, 2000) end;
  end if;
  return new;
end
$$;
revoke all on function public.tenant_integration_last_run_from_log() from public, anon, authenticated;
drop trigger if exists tenant_integrations_last_run_from_log on public.tenant_integrations;
create trigger tenant_integrations_last_run_from_log before insert on public.tenant_integrations
  for each row execute function public.tenant_integration_last_run_from_log();
