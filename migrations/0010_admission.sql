-- The key of the checksum every new token and enrollment code carries (docs/security.md): a
-- token that fails it is refused in memory, without any database work. Made here, once, from
-- PostgreSQL's strong random source (two UUIDs: 244 random bits), and read by every replica.
CREATE TABLE credential_keys (
    key_id smallint PRIMARY KEY CHECK (key_id = 1),
    secret bytea NOT NULL CHECK (length(secret) = 32)
);
INSERT INTO credential_keys (key_id, secret)
VALUES (1, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
CREATE TRIGGER credential_keys_no_update_or_delete BEFORE UPDATE OR DELETE ON credential_keys
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();

-- Tokens issued before checksums: accepted while they last, by their hash, which every replica
-- holds in memory (so that a presented one costs no database work either).
ALTER TABLE api_tokens ADD COLUMN legacy boolean NOT NULL DEFAULT false;
UPDATE api_tokens SET legacy = true;

-- A principal's authority changes bump its auth_version, whatever writes the change: a cached
-- authentication is used only while the version it read is still the principal's.
ALTER TABLE principals ADD COLUMN auth_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION lockbox_bump_auth_version() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE principals SET auth_version = auth_version + 1 WHERE principal_id = OLD.principal_id;
    ELSE
        UPDATE principals SET auth_version = auth_version + 1 WHERE principal_id = NEW.principal_id;
        IF TG_OP = 'UPDATE' AND OLD.principal_id <> NEW.principal_id THEN
            UPDATE principals SET auth_version = auth_version + 1 WHERE principal_id = OLD.principal_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER role_assignments_bump_auth_version AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    FOR EACH ROW EXECUTE FUNCTION lockbox_bump_auth_version();
CREATE TRIGGER api_tokens_bump_auth_version AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION lockbox_bump_auth_version();

CREATE FUNCTION lockbox_principal_auth_version() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.suspended_at_ms IS DISTINCT FROM OLD.suspended_at_ms
        OR NEW.certificate_sha256 IS DISTINCT FROM OLD.certificate_sha256
        OR NEW.display_name IS DISTINCT FROM OLD.display_name
        OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.principal_id IS DISTINCT FROM OLD.principal_id
    THEN
        NEW.auth_version := OLD.auth_version + 1;
    ELSIF NEW.auth_version < OLD.auth_version THEN
        -- Never backwards: a cached authentication must not become good again.
        NEW.auth_version := OLD.auth_version;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER principals_auth_version BEFORE UPDATE ON principals
    FOR EACH ROW EXECUTE FUNCTION lockbox_principal_auth_version();

-- A new token announces its principal too, so that a replica's cache learns it at once.
CREATE TRIGGER api_tokens_announce_insert AFTER INSERT ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION lockbox_announce_principal();
