-- `has_role(user, role)` answered any signed-in caller about anyone.
--
-- It is the customer's own function (BASELINE.md), a security definer callable through
-- PostgREST's `/rpc/has_role`. `user_roles` lets a person read only their own roles
-- ("user_roles: self read"), but `has_role('<someone else>', 'admin')` told every signed-in
-- user, tenant member or not, whether that account is a platform administrator: a way to
-- find whose account to attack. Every policy calls it about the caller
-- (`has_role(auth.uid(), …)`), and that answer is unchanged.
--
-- Now it answers about another person only to the server (service_role, or a connection
-- that bypasses RLS) and to a platform administrator whose session is valid (the
-- customer's admin pages manage people's roles); anyone else learns `false`.
create or replace function public.has_role(_user_id uuid, _role public.app_role) returns boolean
  language plpgsql stable security definer set search_path = public
  as $$
declare
  caller uuid := auth.uid();
begin
  if caller is not null and _user_id = caller then
    return exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
       and public.caller_session_ok();
  end if;
  if not public.caller_is_service()
     and not (caller is not null
              and exists (select 1 from public.user_roles where user_id = caller and role = 'admin')
              and public.caller_session_ok()) then
    return false;
  end if;
  return exists (select 1 from public.user_roles where user_id = _user_id and role = _role);
end
$$;
