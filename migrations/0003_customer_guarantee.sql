-- The customer's guarantee against the provider itself (docs/security.md).

-- A tenant's first global admin enrolls with a single-use code. The provider sees
-- the code once; only its SHA-256 is kept. Issuing a new code supersedes the
-- unredeemed ones.
CREATE TABLE enrollment_codes (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    code_id text NOT NULL,
    code_hash bytea NOT NULL UNIQUE,
    issued_by text NOT NULL,
    issued_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL,
    redeemed_at_ms bigint,
    redeemed_by text,
    superseded_at_ms bigint,
    PRIMARY KEY (tenant_id, code_id)
);

-- A suspended principal cannot authenticate; an operator's checks are denied.
ALTER TABLE principals ADD COLUMN suspended_at_ms bigint;

-- A role is held only by a principal of its own tenant, and a provider role only
-- by a provider principal: no provider principal can hold a tenant role, whatever
-- writes the row.
ALTER TABLE principals ADD COLUMN home text GENERATED ALWAYS AS (COALESCE(tenant_id, '')) STORED;
ALTER TABLE principals ADD CONSTRAINT principals_home UNIQUE (principal_id, home);
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_home
    FOREIGN KEY (principal_id, tenant_id) REFERENCES principals (principal_id, home);

-- What each audit record is about (lifecycle, operator_action, role_change, …).
-- Records written before this migration keep kind ''.
ALTER TABLE audit_records ADD COLUMN kind text NOT NULL DEFAULT '';
CREATE INDEX audit_records_tenant_kind ON audit_records (tenant_id, kind, audit_id);
DROP INDEX audit_records_operator_actions;
CREATE INDEX audit_records_operator_actions ON audit_records (tenant_id, item) WHERE kind = 'operator_action';

-- A request waiting for a support manager expires too, by the clock.
ALTER TABLE access_requests ADD COLUMN internal_deadline_ms bigint;
UPDATE access_requests SET internal_deadline_ms = created_at_ms + 86400000 WHERE status = 'PENDING_INTERNAL';
CREATE INDEX access_requests_pending_internal ON access_requests (internal_deadline_ms)
    WHERE status = 'PENDING_INTERNAL';
CREATE INDEX access_requests_requester ON access_requests (requester_id, tenant_id, service, created_at_ms DESC);

-- lockboxd serves as a runtime role that owns nothing and may only INSERT and SELECT
-- audit records. `lockboxd migrate --runtime-role NAME` grants it, table by table,
-- through this function, which quotes every identifier and accepts only plain
-- privileges (the list itself is LockboxStore's RuntimeRole.privileges).
-- Both run with a fixed search_path and name every object by schema, so that nothing a
-- less privileged role creates can stand in for pg_catalog's functions while the owner runs them.
CREATE FUNCTION lockbox_grant(runtime name, relation name, privileges text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF privileges !~ '^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$' THEN
        RAISE EXCEPTION 'lockbox_grant: unexpected privileges %', privileges;
    END IF;
    EXECUTE pg_catalog.format('GRANT %s ON TABLE public.%I TO %I', privileges, relation, runtime);
END;
$$;

-- Revokes everything the runtime role holds in this schema, before the grants are made again.
CREATE FUNCTION lockbox_revoke_all(runtime name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', runtime);
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', runtime);
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', runtime);
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA public TO %I', runtime);
END;
$$;
REVOKE ALL ON FUNCTION lockbox_grant(name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION lockbox_revoke_all(name) FROM PUBLIC;
