-- Lockbox schema. Times are Unix epoch milliseconds (bigint) from lockboxd's
-- clock, never a client's. Every tenant-scoped table carries tenant_id so that
-- a tenant-sharded PostgreSQL (Citus) can distribute it by that column.

CREATE TABLE tenants (
    tenant_id text PRIMARY KEY,
    display_name text NOT NULL,
    lockbox_enabled boolean NOT NULL DEFAULT true,
    approval_window_seconds bigint NOT NULL DEFAULT 43200
        CHECK (approval_window_seconds BETWEEN 300 AND 604800),
    max_access_duration_seconds bigint NOT NULL DEFAULT 14400
        CHECK (max_access_duration_seconds BETWEEN 60 AND 14400),
    created_at_ms bigint NOT NULL
);

-- Provider principals have tenant_id NULL; tenant principals belong to one tenant.
CREATE TABLE principals (
    principal_id text PRIMARY KEY,
    tenant_id text REFERENCES tenants (tenant_id),
    display_name text NOT NULL,
    created_at_ms bigint NOT NULL
);
CREATE INDEX principals_tenant ON principals (tenant_id);

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE api_tokens (
    token_id text PRIMARY KEY,
    principal_id text NOT NULL REFERENCES principals (principal_id),
    tenant_id text,
    token_hash bytea NOT NULL UNIQUE,
    created_at_ms bigint NOT NULL,
    expires_at_ms bigint,
    revoked_at_ms bigint
);
CREATE INDEX api_tokens_principal ON api_tokens (principal_id);

-- Provider roles use tenant_id '' (they belong to no tenant); tenant roles name their tenant.
CREATE TABLE role_assignments (
    principal_id text NOT NULL REFERENCES principals (principal_id),
    role text NOT NULL CHECK (role IN ('operator', 'support_manager', 'provider_admin', 'service', 'auditor',
                                       'global_admin', 'lockbox_approver')),
    tenant_id text NOT NULL DEFAULT '',
    assigned_by text NOT NULL,
    assigned_at_ms bigint NOT NULL,
    PRIMARY KEY (principal_id, role, tenant_id),
    CHECK ((role IN ('global_admin', 'lockbox_approver')) = (tenant_id <> ''))
);
CREATE INDEX role_assignments_tenant ON role_assignments (tenant_id, role);

CREATE TABLE access_requests (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    request_id text NOT NULL,
    service text NOT NULL CHECK (service IN ('exchange', 'sharepoint', 'onedrive', 'teams')),
    ticket_number text NOT NULL,
    justification text NOT NULL,
    requested_duration_seconds bigint NOT NULL CHECK (requested_duration_seconds BETWEEN 60 AND 14400),
    requester_id text NOT NULL REFERENCES principals (principal_id),
    status text NOT NULL CHECK (status IN ('PENDING_INTERNAL', 'PENDING_CUSTOMER', 'APPROVED', 'DENIED', 'EXPIRED',
                                           'CANCELED', 'REVOKED', 'COMPLETED')),
    created_at_ms bigint NOT NULL,
    updated_at_ms bigint NOT NULL,
    customer_deadline_ms bigint,
    idempotency_key text,
    request_fingerprint text,
    internal_decided_by text,
    internal_approve boolean,
    internal_comment text,
    internal_decided_at_ms bigint,
    customer_decided_by text,
    customer_decision smallint,
    customer_comment text,
    customer_approved_duration_seconds bigint,
    customer_decided_at_ms bigint,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE UNIQUE INDEX access_requests_id ON access_requests (request_id);
CREATE UNIQUE INDEX access_requests_idempotency ON access_requests (requester_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX access_requests_tenant_created ON access_requests (tenant_id, created_at_ms DESC);
CREATE INDEX access_requests_pending_customer ON access_requests (customer_deadline_ms)
    WHERE status = 'PENDING_CUSTOMER';

-- One row per approved request: the access window.
CREATE TABLE grants (
    tenant_id text NOT NULL,
    request_id text NOT NULL,
    operator_id text NOT NULL,
    service text NOT NULL,
    starts_at_ms bigint NOT NULL,
    ends_at_ms bigint NOT NULL,
    revoked_at_ms bigint,
    PRIMARY KEY (tenant_id, request_id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES access_requests (tenant_id, request_id)
);
CREATE INDEX grants_operator ON grants (operator_id, tenant_id, service, ends_at_ms);
CREATE INDEX grants_open ON grants (ends_at_ms) WHERE revoked_at_ms IS NULL;

-- Append-only. tenant_id is '' for provider-wide records.
CREATE TABLE audit_records (
    audit_id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id text NOT NULL DEFAULT '',
    recorded_at_ms bigint NOT NULL,
    actor_id text NOT NULL,
    actor_display text NOT NULL,
    actor_ip text NOT NULL DEFAULT '',
    activity text NOT NULL,
    item text NOT NULL DEFAULT '',
    decision smallint NOT NULL DEFAULT 0,
    details jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, audit_id)
);
CREATE INDEX audit_records_id ON audit_records (audit_id);
CREATE INDEX audit_records_tenant_time ON audit_records (tenant_id, recorded_at_ms, audit_id);
CREATE INDEX audit_records_item ON audit_records (item, audit_id) WHERE item <> '';

CREATE FUNCTION audit_records_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_records_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_are_append_only();
CREATE TRIGGER audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_are_append_only();
