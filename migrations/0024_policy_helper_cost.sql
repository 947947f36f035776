-- The tenant helpers every policy reaches, at a fraction of their cost (#13).
--
-- Every statement a signed-in user sends runs, in its policies' init plans, one to four of
-- `member_tenant_ids()`, `member_tenant_keys()`, `admin_tenant_ids()` and
-- `is_global_admin()`. They were SQL functions: PostgreSQL (before 18) plans a
-- non-inlined SQL function's query again in every statement that calls it (security
-- definers are never inlined), and they called each other, so a statement on
-- `integration_logs` checked the session three times and planned six queries before its
-- own. Measured as `authenticated` with a real admin's claims (EXPLAIN ANALYZE, 500
-- tenants): `member_tenant_keys()` 0.68-0.74 ms a call, `member_tenant_ids()` and
-- `admin_tenant_ids()` 0.24-0.32, `is_global_admin()` 0.12-0.16; the dashboard's list
-- query 1.0-1.5 ms, nearly all of it these. Now PL/pgSQL (plans kept for the connection),
-- each checking the session once, first (a signed-in caller's bad `sub` is refused by its
-- shape there, before anything casts it; the service's is cast, and fails, as before), then
-- the admin role by its key: 0.12-0.35, 0.08-0.29, 0.07 ms; the list query 0.25-0.46 ms.
--
-- Same answers: `is_global_admin()` was `caller_session_ok() and has_role(auth.uid(),
-- 'admin')`, and `has_role()` about the caller's own id is the role's row and the session
-- check (0022); a caller without an id (the service, anon) is no global admin, as before.
-- The isolation matrix, the session tests and the attack suite check them as the callers
-- they are written for. Grants are kept by `create or replace`.

create or replace function public.is_global_admin() returns boolean
  language plpgsql stable security definer set search_path = public
  as $$
begin
  -- has_role(auth.uid(), 'admin') about the caller's own id: the session, then the role.
  if not public.caller_session_ok() then
    return false;
  end if;
  return exists (select 1 from public.user_roles where user_id = auth.uid() and role = 'admin');
end
$$;

-- The two lists below check the session once, then ask for the role themselves (what
-- is_global_admin() would ask, without its second session check).
create or replace function public.member_tenant_ids() returns uuid[]
  language plpgsql stable security definer set search_path = public
  as $$
begin
  if not public.caller_session_ok() then
    return '{}'::uuid[];
  end if;
  if exists (select 1 from public.user_roles where user_id = auth.uid() and role = 'admin') then
    return array(select o.id from public.organizacoes o);
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
    return array(select o.id from public.organizacoes o);
  end if;
  return array(select ut.tenant_id from public.user_tenants ut
               where ut.user_id = auth.uid() and ut.role = 'admin');
end
$$;

create or replace function public.member_tenant_keys() returns text[]
  language plpgsql stable security definer set search_path = public
  as $$
declare
  -- Once, not once per organization row.
  ids uuid[] := public.member_tenant_ids();
begin
  return (select coalesce(array_agg(k), '{}'::text[])
          from public.organizacoes o,
               lateral (values (o.id::text), (o.slug)) as v(k)
          where o.id = any (ids));
end
$$;
