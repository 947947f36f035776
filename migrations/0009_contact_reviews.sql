-- Decisions on OneCode's review queue (*Revisar contatos*, issue #10) are audited: the
-- server records `contact_decided` (who linked which contact to which company, or ignored
-- it) in the same transaction as the decision. The trail's action list grows by one.
alter table public.integration_audit drop constraint if exists integration_audit_action_check;
alter table public.integration_audit add constraint integration_audit_action_check check (action in (
  'integration_added', 'integration_removed', 'enabled', 'disabled', 'config_changed', 'secret_set',
  'secret_removed', 'schedule_changed', 'run_requested', 'run_cancelled',
  'connection_tested', 'member_role_changed', 'contact_decided'));
