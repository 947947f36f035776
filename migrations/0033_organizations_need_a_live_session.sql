-- The two catalogs readable by every signed-in user are read only with a session still
-- open (#13, found by the outside check).
--
-- The customer's baseline lets any `authenticated` caller read `organizacoes` (`using
-- (true)`), and 0003 did the same for `integration_providers`: a token whose session had
-- ended (signed out, or every session ended by an administrator) still listed every
-- organization's name and slug through PostgREST until it expired. Every other policy
-- asks `caller_session_ok()`; reads of these two now ask it too, once per statement (an
-- init plan).
--
-- As restrictive policies, which every permissive one is then combined with: the
-- customer's own read policy stays as it is, whatever its name in their database. Who
-- loses the read is whoever `caller_session_ok()` refuses, as for every other table: a
-- token whose session ended or whose user's sessions were all ended, a deactivated or
-- deleted user, Supabase's anonymous sign-ins. A Supabase token with no portal session is
-- a live one until then (0011 and 0021), so the customer's old portal reads as before.

-- Waits at most 15 s for the customer's `organizacoes` (the policy's lock), as 0015-0032.
set local lock_timeout = '15s';

drop policy if exists "organizacoes: a live session reads" on public.organizacoes;
create policy "organizacoes: a live session reads" on public.organizacoes
  as restrictive for select to authenticated
  using ((select public.caller_session_ok()));

drop policy if exists "integration_providers: a live session reads"
  on public.integration_providers;
create policy "integration_providers: a live session reads" on public.integration_providers
  as restrictive for select to authenticated
  using ((select public.caller_session_ok()));
