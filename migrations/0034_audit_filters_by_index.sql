-- The audit trail filtered by a person or an action is one index range (#13, found by
-- review).
--
-- A page filtered so read the tenant's whole trail: a filter on the range of
-- `(tenant_id, id desc)`, by a bitmap and a sort, or by a walk of the range until it had a
-- page, every entry for a person or an action that is rare. The trail grows by an entry per
-- run (the schedule's included): tens of thousands a year for a busy tenant. Each filter
-- now has its own range, newest first, as the integration's has (0006).

-- Waits at most 15 s for the trail (the indexes' lock), as 0015-0033.
set local lock_timeout = '15s';

create index if not exists integration_audit_tenant_actor_id_idx
  on public.integration_audit (tenant_id, actor_id, id desc);
create index if not exists integration_audit_tenant_action_id_idx
  on public.integration_audit (tenant_id, action, id desc);
