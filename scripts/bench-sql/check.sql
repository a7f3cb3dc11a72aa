-- CheckAccess: the statements lockboxd runs for one CheckAccess call (see Sources/LockboxServer), as pgbench -M extended runs them.
BEGIN;
SELECT p.principal_id, p.display_name, p.tenant_id, r.role, r.tenant_id AS role_tenant FROM api_tokens t JOIN principals p ON p.principal_id = t.principal_id LEFT JOIN role_assignments r ON r.principal_id = p.principal_id WHERE t.token_hash = decode(:service_hash, 'hex') AND t.revoked_at_ms IS NULL AND (t.expires_at_ms IS NULL OR t.expires_at_ms > :now::bigint);
SELECT g.request_id, g.tenant_id, g.service, g.starts_at_ms, g.ends_at_ms, g.revoked_at_ms, r.status FROM grants g JOIN access_requests r ON r.tenant_id = g.tenant_id AND r.request_id = g.request_id WHERE g.operator_id = :operator ORDER BY (g.tenant_id = :tenant AND g.service = 'exchange') DESC, g.ends_at_ms DESC LIMIT 50 FOR SHARE OF g;
SELECT 1 FROM preapproved_operations WHERE service = 'exchange' AND operation_key = lower('Get-Mailbox');
INSERT INTO audit_records (tenant_id, recorded_at_ms, actor_id, actor_display, actor_ip, activity, item, decision, details) VALUES (:tenant, :now::bigint, :operator, 'bench', '127.0.0.1', 'Get-Mailbox', :request, 0::smallint, '{"allowed": true, "checked_by": "bench", "checked_by_ip": "127.0.0.1", "kind": "operator_action", "operator_id": "bench", "reason": "ALLOWED", "service": "exchange"}'::jsonb);
COMMIT;
