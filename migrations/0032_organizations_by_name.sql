-- A platform administrator's session finds its default organization (the first by name)
-- by an index, not by sorting every organization (#13, found by the outside check).
--
-- `session_user_in` (backend/src/auth.rs) lists a platform administrator's memberships,
-- the organization chosen in the header, and the first other organization by
-- `(nome, slug)`: with 5,002 organizations that last branch sorted them all on each of a
-- page's panels (as `authenticated` with a platform administrator's claims: 2.5-13 ms
-- measured by the outside check on a loaded machine, 2.2-2.6 ms on a quiet one). This
-- index hands them out in that order: the first that is not a membership is the answer
-- (0.6-1.1 ms and 0.4-0.5 ms there). `slug` is unique, so `(nome, slug)` is a total order, the
-- same the query sorts by.

-- Waits at most 15 s for the customer's `organizacoes` (the index's lock), as 0015-0031.
set local lock_timeout = '15s';

create index if not exists organizacoes_nome_slug_idx on public.organizacoes (nome, slug);
