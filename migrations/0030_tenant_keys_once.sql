-- A platform administrator's policies, without building every organization's keys in
-- every statement (#13).
--
-- Every policy on tenant data asks for the caller's tenants: `member_tenant_ids()`,
-- `member_tenant_keys()` (`integration_logs`, whose tenant is an id or an old slug) or
-- `admin_tenant_ids()`, once per statement (an init plan). For a platform administrator
-- that is every organization, and these functions built it again each time:
-- `member_tenant_keys()` looked up each organization's id in an array of all of them,
-- quadratic in their number. Measured as `authenticated` with a platform administrator's
-- real claims, 500 organizations, warm connection, a call averaged over 1,000:
-- `member_tenant_keys()` 1.0-1.95 ms, `member_tenant_ids()` 0.06-0.14 ms, `admin_tenant_ids()`
-- 0.06-0.10 ms; a portal page makes a dozen such statements. An accounting firm's own staff,
-- the portal's main users, are platform administrators over every client firm.
--
-- Now the lists of every organization's ids and keys are kept in one row, written in the
-- same transaction as each statement that inserts, deletes or truncates organizations or
-- sets their `id` or `slug` (a statement trigger), and read by the helpers for a platform
-- administrator: 0.03-0.13 ms a call. Members of a few tenants are
-- answered from their memberships as before (`member_tenant_keys()` by a join instead of
-- the array look-up). Same answers: the isolation matrix, the session tests and the
-- attack suite check them as the callers they are written for.
--
-- Whoever writes `organizacoes` with triggers off (`session_replication_role = replica`, a
-- data-only restore with `--disable-triggers`) must then run
-- `select public.refresh_tenant_key_cache()` (`scripts/bench/seed.sql` adds its tenants
-- before it turns triggers off); the server also runs it at each start, after the
-- migrations (`backend::db::migrate`). Should the row be missing, the helpers build the
-- lists as before.

-- Waits at most 15 s for the customer's `organizacoes` (the trigger's lock), as 0015-0029.
set local lock_timeout = '15s';

create table public.tenant_key_cache (
  singleton boolean primary key default true check (singleton),
  -- Every organization's id.
  ids uuid[] not null,
  -- Every organization's id as text and its slug: what integration_logs.tenant_id holds.
  keys text[] not null
);
comment on table public.tenant_key_cache is
  'Every organization''s ids and keys, kept by a trigger on organizacoes for the policy helpers (0030). Server only.';
alter table public.tenant_key_cache enable row level security;
revoke all on public.tenant_key_cache from public, anon, authenticated;

create or replace function public.refresh_tenant_key_cache() returns void
  language plpgsql volatile security definer set search_path = public
  as $$
begin
  -- One writer at a time, held to the end of its transaction: the statement below takes
  -- its snapshot after every earlier writer committed (read committed), so the last one
  -- sees every organization. Readers (access share) are not blocked. Under repeatable
  -- read a concurrent writer's row makes this fail instead of writing a stale list. The
  -- price: transactions writing organizations run one after another, and two that each
  -- change several organizations in opposite orders may meet in a deadlock (one fails)
  -- where before one waited. Organizations are written by platform administrators, a few
  -- at a time; nothing in the portal's server writes them.
  lock table public.tenant_key_cache in exclusive mode;
  insert into public.tenant_key_cache as c (singleton, ids, keys)
  values (true,
          array(select o.id from public.organizacoes o order by o.id),
          array(select v.k from public.organizacoes o,
                       lateral (values (1, o.id::text), (2, o.slug)) as v(n, k)
                order by o.id, v.n))
  on conflict (singleton) do update set ids = excluded.ids, keys = excluded.keys
    -- A statement that changed nothing (an update matching no row) writes nothing.
    where c.ids is distinct from excluded.ids or c.keys is distinct from excluded.keys;
end
$$;
revoke all on function public.refresh_tenant_key_cache() from public, anon, authenticated;

create or replace function public.organizacoes_tenant_key_cache() returns trigger
  language plpgsql security definer set search_path = public
  as $$
begin
  perform public.refresh_tenant_key_cache();
  return null;
end
$$;
revoke all on function public.organizacoes_tenant_key_cache() from public, anon, authenticated;

create trigger organizacoes_tenant_key_cache
  after insert or update of id, slug or delete or truncate on public.organizacoes
  for each statement execute function public.organizacoes_tenant_key_cache();

select public.refresh_tenant_key_cache();

-- The helpers of 0024, with a platform administrator's lists read from the row.
create or replace function public.member_tenant_ids() returns uuid[]
  language plpgsql stable security definer set search_path = public
  as $$
begin
  if not public.caller_session_ok() then
    return '{}'::uuid[];
  end if;
  if exists (select 1 from public.user_roles where user_id = auth.uid() and role = 'admin') then
    return coalesce((select c.ids from public.tenant_key_cache c),
                    array(select o.id from public.organizacoes o));
  end if;
  return array(select ut.tenant_id from public.user_tenants ut
               where ut.user_id = auth.uid());
end
$$;

create or replace function public.admin_tenant_ids() returns uuid[]
  language plpgsql stable security definer set search_path = public
  as $$
begin
  if not public.caller_session_ok() then
    return '{}'::uuid[];
  end if;
  if exists (select 1 from public.user_roles where user_id = auth.uid() and role = 'admin') then
    return coalesce((select c.ids from public.tenant_key_cache c),
                    array(select o.id from public.organizacoes o));
  end if;
  return array(select ut.tenant_id from public.user_tenants ut
               where ut.user_id = auth.uid() and ut.role = 'admin');
end
$$;

create or replace function public.member_tenant_keys() returns text[]
  language plpgsql stable security definer set search_path = public
  as $$
begin
  if not public.caller_session_ok() then
    return '{}'::text[];
  end if;
  if exists (select 1 from public.user_roles where user_id = auth.uid() and role = 'admin') then
    return coalesce((select c.keys from public.tenant_key_cache c),
                    array(select k from public.organizacoes o,
                                 lateral (values (o.id::text), (o.slug)) as v(k)));
  end if;
  -- The caller's memberships, each organization's id and slug (by its primary key).
  return array(select k from public.user_tenants ut
               join public.organizacoes o on o.id = ut.tenant_id,
               lateral (values (o.id::text), (o.slug)) as v(k)
               where ut.user_id = auth.uid());
end
$$;
