-- The session check that every policy starts with, at a fraction of its cost (#13).
--
-- `caller_session_ok()` runs a few times in every statement a signed-in user sends (in
-- policies' init plans, and inside `is_global_admin()`, `has_role()` and the tenant
-- helpers every policy reaches). Measured as `authenticated` with a real session, it took about 0.4 ms a call,
-- and the portal's fixed cost of a request (the session's profile and tenants) 3.5 ms:
-- - `session_is_valid()` and `has_role()` were SQL functions. PostgreSQL (before 18) plans
--   a non-inlined SQL function's query again in every statement that calls it; PL/pgSQL
--   keeps its plans for the connection. Same queries, now in PL/pgSQL.
-- - `caller_session_ok()` caught a bad `sub`, `sid` or `iat` with exception blocks, each
--   entered a subtransaction. Those values are now checked by their shape first: a `sub`
--   or `sid` that is not a UUID as tokens write it (hyphenated), or an `iat` that is not a
--   plain number of seconds, is refused. Stricter than before, on purpose: a UUID in
--   braces or without hyphens, and an `iat` such as "Infinity", "1e3", " 123" or "-5",
--   were accepted (a no-`sid` token with `iat` "Infinity" outlived "sign out everywhere").
--   No issuer writes them: Supabase's and the portal's tokens carry a lowercase UUID and
--   an integer `iat`.
-- Same answers otherwise: the isolation matrix, the session tests and the attack suite
-- (`make test`) check them as the callers they are written for.

create or replace function public.session_is_valid(_user uuid, _sid uuid, _issued_at timestamptz)
  returns boolean
  language plpgsql stable set search_path = public
  as $$
begin
  return exists (
    select 1
    from auth.users u
    join public.profiles p on p.id = u.id
    left join public.portal_user_revocations r on r.user_id = u.id
    where u.id = _user
      and p.ativo
      and case when _sid is null
               -- A token without a session (Supabase's): refused when issued before a
               -- "sign out everywhere".
               then r.revoked_before is null or _issued_at >= r.revoked_before
               -- The portal's: its session must be open.
               else exists (select 1 from public.portal_sessions s
                            where s.id = _sid and s.user_id = _user
                              and s.revoked_at is null and s.expires_at > now())
          end
  );
end
$$;

create or replace function public.caller_session_ok() returns boolean
  language plpgsql stable security definer set search_path = public
  as $$
declare
  uuid_shape constant text :=
    '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
  claims jsonb;
  sub text;
  sid text;
  iat text;
begin
  if public.caller_is_service() then
    return true;
  end if;
  -- A claims setting that is not JSON fails the statement, as it did before (for all but
  -- the service, now checked first).
  claims := auth.jwt();
  -- The caller; one that is not a UUID is no caller (as before). The session is checked
  -- for the user every policy acts as: auth.uid(), which must read the same.
  sub := coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), claims ->> 'sub');
  if sub is null or sub !~ uuid_shape
     or coalesce(claims ->> 'is_anonymous', 'false') = 'true' then
    return false;
  end if;
  if auth.uid() is distinct from sub::uuid then
    return false;
  end if;
  sid := nullif(claims ->> 'sid', '');
  if sid is not null and sid !~ uuid_shape then
    return false;
  end if;
  iat := nullif(claims ->> 'iat', '');
  if iat is not null and iat !~ '^[0-9]{1,12}([.][0-9]+)?$' then
    return false;
  end if;
  return public.session_is_valid(sub::uuid, sid::uuid, to_timestamp(coalesce(iat::float8, 0)));
end
$$;

create or replace function public.has_role(_user_id uuid, _role public.app_role) returns boolean
  language plpgsql stable security definer set search_path = public
  as $$
begin
  return exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
     and (_user_id is distinct from auth.uid() or public.caller_session_ok());
end
$$;
