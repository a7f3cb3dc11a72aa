-- Consent that lockboxd itself cannot forge (docs/audit-integrity.md, "Customer-signed
-- statements"): each tenant's root, the keys it certified, their revocations and its policy,
-- all signed by the tenant's own keys; and the approver's signed decision on each request.
-- Every table here is append-only, and every row is recorded in the tenant's audit chain with
-- its statement and signature, so that the customer's verifier can check them from the chain.

CREATE TABLE tenant_roots (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    seq bigint NOT NULL CHECK (seq > 0),
    key_id text NOT NULL,
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    statement bytea NOT NULL,
    signature bytea NOT NULL,
    previous_signature bytea NOT NULL DEFAULT '',
    -- lockboxd's signature over its "lockbox/root-attestation/v1" statement, and its key.
    attestation bytea NOT NULL,
    attested_by text NOT NULL,
    adopted_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE key_certificates (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    key_id text NOT NULL,
    principal_id text NOT NULL,
    algorithm text NOT NULL CHECK (algorithm IN ('ed25519', 'es256-webauthn')),
    public_key bytea NOT NULL,
    capabilities bigint NOT NULL,
    not_before_ms bigint NOT NULL,
    not_after_ms bigint NOT NULL,
    statement bytea NOT NULL,
    issuer_key_id text NOT NULL,
    signature bytea NOT NULL,
    certified_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, key_id)
);
CREATE INDEX key_certificates_principal ON key_certificates (principal_id);

-- A revocation the tenant signed, or lockboxd's own when it takes away the role a key
-- served (statement, issuer and signature empty, a reason given).
CREATE TABLE key_revocations (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    key_id text NOT NULL,
    statement bytea NOT NULL DEFAULT '',
    issuer_key_id text NOT NULL DEFAULT '',
    signature bytea NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '',
    revoked_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, key_id)
);

CREATE TABLE tenant_policies (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    version bigint NOT NULL CHECK (version > 0),
    statement bytea NOT NULL,
    issuer_key_id text NOT NULL,
    signature bytea NOT NULL,
    set_at_ms bigint NOT NULL DEFAULT lockbox_now_ms(),
    PRIMARY KEY (tenant_id, version)
);

-- A passkey's signature counter, which must grow with each assertion.
CREATE TABLE passkey_counters (
    tenant_id text NOT NULL,
    key_id text NOT NULL,
    counter bigint NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

-- Every change to a tenant's trust, in order: what CheckAccess compares its cache with. Filled
-- by the triggers below only; nobody may write or erase it.
CREATE TABLE trust_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id text NOT NULL,
    PRIMARY KEY (tenant_id, change_id)
);

-- The approver's signed decision, and the nonce lockboxd gives the request's decision.
ALTER TABLE access_requests ADD COLUMN decision_nonce bytea;
ALTER TABLE access_requests ADD COLUMN decision_statement bytea;
ALTER TABLE access_requests ADD COLUMN decision_key_id text;
ALTER TABLE access_requests ADD COLUMN decision_signature bytea;
ALTER TABLE access_requests ADD COLUMN decision_authenticator_data bytea;
ALTER TABLE access_requests ADD COLUMN decision_client_data bytea;

-- Append-only: the tenant's statements are never changed or taken back but by new ones.
CREATE FUNCTION lockbox_trust_append_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER tenant_roots_append_only BEFORE UPDATE OR DELETE ON tenant_roots
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER key_certificates_append_only BEFORE UPDATE OR DELETE ON key_certificates
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER key_revocations_append_only BEFORE UPDATE OR DELETE ON key_revocations
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER tenant_policies_append_only BEFORE UPDATE OR DELETE ON tenant_policies
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER trust_changes_append_only BEFORE UPDATE OR DELETE ON trust_changes
    FOR EACH ROW EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER tenant_roots_no_truncate BEFORE TRUNCATE ON tenant_roots
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER key_certificates_no_truncate BEFORE TRUNCATE ON key_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER key_revocations_no_truncate BEFORE TRUNCATE ON key_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER tenant_policies_no_truncate BEFORE TRUNCATE ON tenant_policies
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();
CREATE TRIGGER trust_changes_no_truncate BEFORE TRUNCATE ON trust_changes
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_trust_append_only();

-- Each row is a change to the tenant's trust (trust_changes) and a record in its chain.
CREATE FUNCTION lockbox_trust_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.trust_changes (tenant_id) VALUES (NEW.tenant_id);
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION lockbox_trust_changed() FROM PUBLIC;

CREATE FUNCTION lockbox_audit_trust() RETURNS trigger
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
    ELSE
        PERFORM lockbox_record(NEW.tenant_id, 'trust', 'TenantPolicySet', '',
            jsonb_build_object('version', NEW.version, 'issuer_key_id', NEW.issuer_key_id,
                               'statement', encode(NEW.statement, 'hex'), 'signature', encode(NEW.signature, 'hex')));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenant_roots_changed AFTER INSERT ON tenant_roots FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER key_certificates_changed AFTER INSERT ON key_certificates FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER key_revocations_changed AFTER INSERT ON key_revocations FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER tenant_policies_changed AFTER INSERT ON tenant_policies FOR EACH ROW EXECUTE FUNCTION lockbox_trust_changed();
CREATE TRIGGER tenant_roots_audit AFTER INSERT ON tenant_roots FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();
CREATE TRIGGER key_certificates_audit AFTER INSERT ON key_certificates FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();
CREATE TRIGGER key_revocations_audit AFTER INSERT ON key_revocations FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();
CREATE TRIGGER tenant_policies_audit AFTER INSERT ON tenant_policies FOR EACH ROW EXECUTE FUNCTION lockbox_audit_trust();

ALTER TABLE audit_records DROP CONSTRAINT audit_records_kind;
ALTER TABLE audit_records ADD CONSTRAINT audit_records_kind
    CHECK (kind IN ('', 'lifecycle', 'operator_action', 'role_change', 'settings', 'principal', 'token', 'tenant',
                    'operation', 'enrollment', 'notification', 'key', 'trust'));

-- Every new seal hashes its seal time (version 2): a version 1 seal written now would escape the
-- time checks. Only the owner role (a repair) may write another.
DO $migration$
BEGIN
    EXECUTE format($function$
        CREATE FUNCTION audit_seals_version() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            IF NEW.hash_version <> 2 AND session_user <> %L THEN
                RAISE EXCEPTION 'new seals are hash version 2';
            END IF;
            RETURN NEW;
        END;
        $body$
    $function$, current_user);
END;
$migration$;
CREATE TRIGGER audit_seals_version BEFORE INSERT ON audit_seals FOR EACH ROW EXECUTE FUNCTION audit_seals_version();

-- Cheaper on every append (CheckAccess writes one record per call): the database's clock and
-- the attribution as plain SQL functions that PostgreSQL inlines (no SET clause: every name in
-- them is schema-qualified, and the runtime role can create functions nowhere on the search
-- path), and one trigger that stamps the record and queues it, instead of two.
CREATE OR REPLACE FUNCTION lockbox_now_ms() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint $$;
CREATE OR REPLACE FUNCTION lockbox_attribute(actor_id text, actor_display text, actor_ip text, token_id text) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT pg_catalog.set_config('lockbox.actor_id', actor_id, true),
           pg_catalog.set_config('lockbox.actor_display', actor_display, true),
           pg_catalog.set_config('lockbox.actor_ip', actor_ip, true),
           pg_catalog.set_config('lockbox.token_id', token_id, true)
$$;
DROP TRIGGER audit_records_queue ON audit_records;
DROP TRIGGER audit_records_stamp ON audit_records;
DO $migration$
BEGIN
    EXECUTE format($function$
        CREATE OR REPLACE FUNCTION audit_records_stamp() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            IF session_user <> %L THEN
                NEW.audit_id := nextval('public.audit_records_audit_id_seq');
                NEW.recorded_at_ms := floor(date_part('epoch', clock_timestamp()) * 1000)::bigint;
            END IF;
            -- Queued for its chain here, before the row exists: a rolled-back insert rolls back both.
            INSERT INTO public.audit_unsealed (tenant_id, audit_id) VALUES (NEW.tenant_id, NEW.audit_id);
            RETURN NEW;
        END;
        $body$
    $function$, current_user);
END;
$migration$;
CREATE TRIGGER audit_records_stamp BEFORE INSERT ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_stamp();
DROP FUNCTION audit_records_queue();
