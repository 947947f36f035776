-- 0030's list of every organization is rebuilt only by statements that change an
-- organization's `id` or `slug`, or add or remove one (#13, found by the outside check).
--
-- 0030's trigger ran per statement, whatever the statement changed: anyone signed in may
-- send `update organizacoes set slug = slug where false` through PostgREST (the policies
-- then let a tenant's staff change no row), and that took the list's exclusive lock to
-- the end of their transaction, queueing the platform administrators' writes of
-- organizations behind it. No data was exposed or changed.
--
-- Now one trigger per kind of statement, each with its transition table: a statement
-- whose rows are none, or whose updates leave every (id, slug) as it was, returns before
-- the lock. A statement that does change them rebuilds the list once, not once per row.
-- (PostgreSQL allows a transition table only on a trigger of one event and no column
-- list, hence three triggers and the comparison below instead of `update of id, slug`.)
-- Truncating needs a privilege only the server has: it stays per statement.

-- Waits at most 15 s for the customer's `organizacoes` (the triggers), as 0015-0030.
set local lock_timeout = '15s';

create or replace function public.organizacoes_tenant_key_cache_changed() returns trigger
  language plpgsql security definer set search_path = public
  as $$
begin
  if tg_op = 'INSERT' then
    if not exists (select 1 from changed_new) then
      return null;
    end if;
  elsif tg_op = 'DELETE' then
    if not exists (select 1 from changed_old) then
      return null;
    end if;
  elsif not exists (select n.id, n.slug from changed_new n
                    except all
                    select o.id, o.slug from changed_old o) then
    -- An update: the same multiset of (id, slug) before and after changed no key.
    return null;
  end if;
  perform public.refresh_tenant_key_cache();
  return null;
end
$$;
revoke all on function public.organizacoes_tenant_key_cache_changed()
  from public, anon, authenticated;

drop trigger organizacoes_tenant_key_cache on public.organizacoes;

create trigger organizacoes_tenant_key_cache_insert
  after insert on public.organizacoes
  referencing new table as changed_new
  for each statement execute function public.organizacoes_tenant_key_cache_changed();
create trigger organizacoes_tenant_key_cache_update
  after update on public.organizacoes
  referencing old table as changed_old new table as changed_new
  for each statement execute function public.organizacoes_tenant_key_cache_changed();
create trigger organizacoes_tenant_key_cache_delete
  after delete on public.organizacoes
  referencing old table as changed_old
  for each statement execute function public.organizacoes_tenant_key_cache_changed();
create trigger organizacoes_tenant_key_cache_truncate
  after truncate on public.organizacoes
  for each statement execute function public.organizacoes_tenant_key_cache();
