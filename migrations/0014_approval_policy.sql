-- Approval policy (issue 20): a tenant's signed policy may ask for several approvers' decisions
-- on one request (N of M). Each approver's signed decision is kept here, one per approver and
-- request, whatever it decided; the request's own decision columns keep the one that decided it.
-- Append-only, like the tenant's other statements: a decision is never withdrawn or changed.
CREATE TABLE customer_decisions (
    tenant_id text NOT NULL,
    request_id text NOT NULL,
    approver_id text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('Approve', 'Deny')),
    statement bytea NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    authenticator_data bytea NOT NULL DEFAULT '',
    client_data bytea NOT NULL DEFAULT '',
    decided_at_ms bigint NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, request_id, approver_id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES access_requests (tenant_id, request_id)
);
-- The signed decisions made before this migration, each the one that decided its request.
INSERT INTO customer_decisions (request_id, approver_id, tenant_id, decision, statement, key_id, signature,
                                authenticator_data, client_data, decided_at_ms)
SELECT request_id, customer_decided_by, tenant_id, CASE customer_decision WHEN 1 THEN 'Approve' ELSE 'Deny' END,
       decision_statement, coalesce(decision_key_id, ''), coalesce(decision_signature, ''),
       coalesce(decision_authenticator_data, ''), coalesce(decision_client_data, ''),
       coalesce(customer_decided_at_ms, updated_at_ms)
FROM access_requests
WHERE decision_statement IS NOT NULL AND customer_decided_by IS NOT NULL AND customer_decision IN (1, 2)
ORDER BY customer_decided_at_ms;

CREATE TRIGGER customer_decisions_append_only BEFORE UPDATE OR DELETE ON customer_decisions
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER customer_decisions_no_truncate BEFORE TRUNCATE ON customer_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();

-- A decision that counted toward the request's threshold without deciding it.
ALTER TABLE request_events DROP CONSTRAINT request_events_activity;
ALTER TABLE request_events ADD CONSTRAINT request_events_activity
    CHECK (activity IN ('AccessRequestCreated', 'InternalApprove', 'InternalDeny', 'CustomerApprove', 'CustomerDeny',
                        'CustomerCancel', 'RequesterCancel', 'SuspensionCancel', 'AccessRevoked', 'RequestExpired',
                        'GrantCompleted', 'CustomerDecisionCounted'));
