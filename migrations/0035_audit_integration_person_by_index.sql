-- One integration's entries by one person, and one person's of one action, are each one
-- index range (#13, left by stop 32; the second found by an outside check).
--
-- The detail page's audit panel is always one integration's; filtered by a person who
-- acted often, but elsewhere, it read the whole of one filter's range (the integration's
-- or the person's) to find nothing: 33,333 entries, 72–135 ms, at 200,000 entries of one
-- tenant. A person who acts often but never asks for a run by hand, filtered by that
-- action, read all their entries the same way (28,572 entries, 100 ms). Each pair is now
-- one range, newest first. An integration and an action need no such pair: every action
-- but a run's is rare, and a run is asked for on every integration.

-- Waits at most 15 s for the trail (the index's lock), as 0015-0034.
set local lock_timeout = '15s';

-- Only entries with a person: the schedule's (most of the trail) have none, and a page
-- filtered by a person is planned for its value, which says it is not null.
create index if not exists integration_audit_tenant_provider_actor_id_idx
  on public.integration_audit (tenant_id, provider_slug, actor_id, id desc)
  where actor_id is not null;
create index if not exists integration_audit_tenant_actor_action_id_idx
  on public.integration_audit (tenant_id, actor_id, action, id desc)
  where actor_id is not null;
