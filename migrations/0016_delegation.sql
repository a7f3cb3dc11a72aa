-- Delegation (issue 20): an approver lets another approver of the same tenant decide in their
-- place for a period, with a statement signed by a key certified to the delegator to decide;
-- and withdraws it with a revocation signed by such a key or by one that administers the
-- tenant. Both are part of the tenant's trust, like its keys: append-only, a trust change each
-- (so CheckAccess verifies again), and a record in the tenant's audit chain with the statement
-- and its signature, so that the customer's verifier checks them from the chain alone.
CREATE TABLE delegations (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    delegation_id text NOT NULL,
    delegator_id text NOT NULL,
    delegate_id text NOT NULL,
    starts_at_ms bigint NOT NULL,
    ends_at_ms bigint NOT NULL CHECK (ends_at_ms > starts_at_ms),
    statement bytea NOT NULL,
    issuer_key_id text NOT NULL,
    signature bytea NOT NULL,
    -- What a passkey signed, when one did.
    authenticator_data bytea NOT NULL DEFAULT '',
    client_data bytea NOT NULL DEFAULT '',
    created_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, delegation_id),
    -- The id is the one the statement's bytes name: the same statement cannot be stored twice
    -- under two ids, and a revocation read by this column is one of this statement.
    CONSTRAINT delegations_id_names_statement
        CHECK (delegation_id = 'dlg_' || left(encode(sha256(statement), 'hex'), 32))
);
CREATE INDEX delegations_delegator ON delegations (tenant_id, delegator_id, ends_at_ms);

-- Several rows may name one delegation: only those a key of the tenant signed withdraw it, so a
-- row written behind lockboxd's back, which withdraws nothing, cannot stand in the way of the
-- delegator's own revocation either.
CREATE TABLE delegation_revocations (
    tenant_id text NOT NULL,
    delegation_id text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    statement bytea NOT NULL,
    issuer_key_id text NOT NULL,
    signature bytea NOT NULL,
    authenticator_data bytea NOT NULL DEFAULT '',
    client_data bytea NOT NULL DEFAULT '',
    revoked_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, delegation_id) REFERENCES delegations (tenant_id, delegation_id)
);
CREATE INDEX delegation_revocations_delegation ON delegation_revocations (tenant_id, delegation_id);

CREATE TRIGGER delegations_append_only BEFORE UPDATE OR DELETE ON delegations
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER delegation_revocations_append_only BEFORE UPDATE OR DELETE ON delegation_revocations
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER delegations_no_truncate BEFORE TRUNCATE ON delegations
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER delegation_revocations_no_truncate BEFORE TRUNCATE ON delegation_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();

CREATE OR REPLACE FUNCTION lockbox_audit_trust() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenant_roots' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'TenantRootAdopted', '',
            jsonb_build_object('key_id', NEW.key_id, 'public_key', encode(NEW.public_key, 'hex'),
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex'),
                               'previous_signature', encode(NEW.previous_signature, 'hex'),
                               'attested_by', NEW.attested_by));
    ELSIF TG_TABLE_NAME = 'key_certificates' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'KeyCertified', '',
            jsonb_build_object('key_id', NEW.key_id, 'principal_id', NEW.principal_id, 'algorithm', NEW.algorithm,
                               'capabilities', NEW.capabilities, 'issuer_key_id', NEW.issuer_key_id,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex')));
    ELSIF TG_TABLE_NAME = 'key_revocations' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'KeyRevoked', '',
            jsonb_build_object('key_id', NEW.key_id, 'issuer_key_id', NEW.issuer_key_id, 'reason', NEW.reason,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex')));
    ELSIF TG_TABLE_NAME = 'delegations' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'DelegationGranted', NEW.delegation_id,
            jsonb_build_object('delegation_id', NEW.delegation_id, 'delegator_id', NEW.delegator_id,
                               'delegate_id', NEW.delegate_id, 'starts_at_ms', NEW.starts_at_ms,
                               'ends_at_ms', NEW.ends_at_ms, 'issuer_key_id', NEW.issuer_key_id,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex'),
                               'authenticator_data', encode(NEW.authenticator_data, 'hex'),
                               'client_data', encode(NEW.client_data, 'hex')));
    ELSIF TG_TABLE_NAME = 'delegation_revocations' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'DelegationRevoked', NEW.delegation_id,
            jsonb_build_object('delegation_id', NEW.delegation_id, 'issuer_key_id', NEW.issuer_key_id,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex'),
                               'authenticator_data', encode(NEW.authenticator_data, 'hex'),
                               'client_data', encode(NEW.client_data, 'hex')));
    ELSE
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'TenantPolicySet', '',
            jsonb_build_object('version', NEW.version, 'issuer_key_id', NEW.issuer_key_id,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex')));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER delegations_changed AFTER INSERT ON delegations FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER delegation_revocations_changed AFTER INSERT ON delegation_revocations
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER delegations_audit AFTER INSERT ON delegations FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();
CREATE TRIGGER delegation_revocations_audit AFTER INSERT ON delegation_revocations
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();

-- A delegate's decision is kept under the delegator it counts as. Whether an approver has decided
-- a request is now read from the decisions that verify, not from a key on the table: a decision
-- that counts for nothing (made under a delegation revoked since, or written behind lockboxd's
-- back) does not stand in the way of the approver's own. The table stays append-only.
ALTER TABLE customer_decisions DROP CONSTRAINT customer_decisions_pkey;
ALTER TABLE customer_decisions ADD PRIMARY KEY (tenant_id, request_id, seq);
