-- Sessions the server can end (issue "Security", items 2 and 7). Every token the portal
-- issues names its session (`sid`); signing out revokes it, "Sair de todos os
-- dispositivos" revokes all of the user's and refuses any older token of theirs (tokens
-- that Supabase signs carry no `sid`: `revoked_before` covers them), and a deactivated
-- user (profiles.ativo = false) is refused on the next request. The server checks this
-- on every request, as service_role, by primary key.

create table if not exists public.portal_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text check (char_length(user_agent) <= 300)
);
create index if not exists portal_sessions_user_idx on public.portal_sessions (user_id)
  where revoked_at is null;
create index if not exists portal_sessions_expires_idx on public.portal_sessions (expires_at);

create table if not exists public.portal_user_revocations (
  user_id uuid primary key references auth.users (id) on delete cascade,
  revoked_before timestamptz not null
);

-- Server-only: no client role reads or writes them (Supabase's default grants revoked).
alter table public.portal_sessions enable row level security;
alter table public.portal_user_revocations enable row level security;
revoke all on public.portal_sessions, public.portal_user_revocations
  from public, anon, authenticated;
grant select, insert, update, delete on public.portal_sessions, public.portal_user_revocations
  to service_role;

-- Whether a verified token may still act: the user exists and is active, and either its
-- session is open or (a token naming none) it is not older than a "sign out everywhere".
create or replace function public.session_is_valid(_user uuid, _sid uuid, _issued_at timestamptz)
  returns boolean
  language sql stable set search_path = public
  as $$
    select exists (
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
    )
  $$;
revoke all on function public.session_is_valid(uuid, uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.session_is_valid(uuid, uuid, timestamptz) to service_role;

-- A user deactivated is signed out everywhere at once.
create or replace function public.profiles_deactivated() returns trigger
  language plpgsql security definer set search_path = public
  as $$
begin
  if old.ativo and not new.ativo then
    update public.portal_sessions set revoked_at = now()
    where user_id = new.id and revoked_at is null;
  end if;
  return new;
end
$$;
revoke all on function public.profiles_deactivated() from public, anon, authenticated;
drop trigger if exists profiles_deactivated on public.profiles;
create trigger profiles_deactivated after update of ativo on public.profiles
  for each row execute function public.profiles_deactivated();
