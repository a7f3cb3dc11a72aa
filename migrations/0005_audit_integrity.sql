-- The audit log as hash chains the customer can verify offline (docs/audit-integrity.md):
-- one chain per tenant and one for provider-wide records (tenant_id '').

-- Records not sealed into their chain yet. Every append adds its record here in the same
-- statement; the sealer moves them into audit_seals in the order their transactions
-- committed, so a record of a transaction that rolled back is never sealed, and one that
-- committed late is never skipped.
CREATE TABLE audit_unsealed (
    tenant_id text NOT NULL,
    audit_id bigint NOT NULL,
    PRIMARY KEY (tenant_id, audit_id)
);
INSERT INTO audit_unsealed (tenant_id, audit_id) SELECT tenant_id, audit_id FROM audit_records;

-- A record's place in its chain and its hash: SHA-256 over its canonical bytes and the
-- previous record's hash. Append-only, like the records.
CREATE TABLE audit_seals (
    tenant_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    audit_id bigint NOT NULL,
    hash bytea NOT NULL CHECK (length(hash) = 32),
    sealed_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, audit_id)
);

-- Signed heads of the chains. Append-only.
CREATE TABLE audit_checkpoints (
    checkpoint_id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL,
    signed_at_ms bigint NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    PRIMARY KEY (tenant_id, checkpoint_id)
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (tenant_id, seq, checkpoint_id);

-- Every public key a lockboxd ever signed with. Append-only: keys are never unpublished.
CREATE TABLE signing_keys (
    key_id text PRIMARY KEY,
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    first_seen_at_ms bigint NOT NULL
);

CREATE TRIGGER audit_seals_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER signing_keys_no_update_or_delete BEFORE UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();

-- A queued record leaves the queue only once it is sealed: a role that may append cannot make
-- a committed record vanish from the chain by deleting its queue row.
-- Checked once per statement over the rows it deleted, not once per row: the sealer deletes a
-- whole batch in one statement.
CREATE FUNCTION audit_unsealed_leaves_only_when_sealed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    unsealed bigint;
BEGIN
    SELECT g.audit_id INTO unsealed FROM gone g
    WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.tenant_id = g.tenant_id AND s.audit_id = g.audit_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit record % is not sealed yet: it stays queued', unsealed;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_unsealed_delete_only_sealed AFTER DELETE ON audit_unsealed
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION audit_unsealed_leaves_only_when_sealed();
CREATE TRIGGER audit_unsealed_no_update BEFORE UPDATE ON audit_unsealed
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_unsealed_no_truncate BEFORE TRUNCATE ON audit_unsealed
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();

-- The customer's approval, signed when it was made: the statement's exact bytes.
ALTER TABLE access_requests ADD COLUMN approval_statement bytea;
ALTER TABLE access_requests ADD COLUMN approval_key_id text;
ALTER TABLE access_requests ADD COLUMN approval_signature bytea;
