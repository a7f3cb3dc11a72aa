-- Nothing changes behind the audit log's back (docs/security.md, "Whoever holds the database
-- role"): the database assigns audit ids and times, records every change to authority itself,
-- trusts only the server keys its owner introduced, and keeps the scope a grant was approved for.

-- The database's clock, in milliseconds.
CREATE FUNCTION lockbox_now_ms() RETURNS bigint
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- How lockboxd names the actor of its transaction (AuditStore.attribute).
CREATE FUNCTION lockbox_attribute(actor_id text, actor_display text, actor_ip text, token_id text) RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT set_config('lockbox.actor_id', actor_id, true), set_config('lockbox.actor_display', actor_display, true),
           set_config('lockbox.actor_ip', actor_ip, true), set_config('lockbox.token_id', token_id, true)
$$;

-- The vocabularies these add.
ALTER TABLE audit_records DROP CONSTRAINT audit_records_kind;
ALTER TABLE audit_records ADD CONSTRAINT audit_records_kind
    CHECK (kind IN ('', 'lifecycle', 'operator_action', 'role_change', 'settings', 'principal', 'token', 'tenant',
                    'operation', 'enrollment', 'notification', 'key'));

-- 1. Every audit record's id and time come from the database, and every record is queued for
-- its chain. An id or a time the inserter gives is ignored: the trigger draws the id from the
-- sequence again (ids skip, as they do for rolled-back records) and stamps the database's
-- clock. The queue is filled here, not by the inserter, who may no longer write it: a record
-- cannot be kept out of its chain. The owner role (migrations, repairs, test fixtures) may
-- choose both, as it could disable this trigger anyway; its name is fixed here, as it runs this.
ALTER TABLE audit_records ALTER COLUMN recorded_at_ms SET DEFAULT lockbox_now_ms();
DO $migration$
BEGIN
    EXECUTE format($function$
        CREATE FUNCTION audit_records_stamp() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            IF session_user = %L THEN
                RETURN NEW;
            END IF;
            NEW.audit_id := nextval('public.audit_records_audit_id_seq');
            NEW.recorded_at_ms := public.lockbox_now_ms();
            RETURN NEW;
        END;
        $body$
    $function$, current_user);
END;
$migration$;
REVOKE ALL ON FUNCTION audit_records_stamp() FROM PUBLIC;
CREATE TRIGGER audit_records_stamp BEFORE INSERT ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_stamp();
CREATE FUNCTION audit_records_queue() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.audit_unsealed (tenant_id, audit_id) VALUES (NEW.tenant_id, NEW.audit_id);
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_records_queue() FROM PUBLIC;
CREATE TRIGGER audit_records_queue AFTER INSERT ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_queue();

-- 2. A seal's time is the database's too, hashed with the record (hash version 2), and never
-- goes backwards within a chain.
ALTER TABLE audit_seals ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));
ALTER TABLE audit_seals ALTER COLUMN hash_version SET DEFAULT 2;
CREATE FUNCTION audit_seals_time() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    now_ms bigint := lockbox_now_ms();
    previous bigint;
BEGIN
    IF NEW.hash_version = 2 THEN
        IF NEW.sealed_at_ms > now_ms + 1000 OR NEW.sealed_at_ms < now_ms - 600000 THEN
            RAISE EXCEPTION 'a seal is stamped with the database''s time';
        END IF;
        SELECT sealed_at_ms INTO previous FROM audit_seals WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq - 1;
        IF previous IS NOT NULL AND NEW.sealed_at_ms < previous THEN
            RAISE EXCEPTION 'a seal''s time never goes backwards within its chain';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_seals_time BEFORE INSERT ON audit_seals FOR EACH ROW EXECUTE FUNCTION audit_seals_time();

-- 3. Every change to who may do what is recorded by the database, in the same transaction,
-- whatever statement made it. lockboxd names the actor of its own calls (transaction-local
-- settings lockbox.actor_id, lockbox.actor_display, lockbox.actor_ip, lockbox.token_id, and
-- lockbox.details for what the change alone does not say); a change made without them is
-- recorded as the database role's, and marked unattributed.
CREATE FUNCTION lockbox_record(scope text, kind text, activity text, item text, details jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    actor text := nullif(current_setting('lockbox.actor_id', true), '');
    extra text := nullif(current_setting('lockbox.details', true), '');
    token text := nullif(current_setting('lockbox.token_id', true), '');
    recorded jsonb := coalesce(details, '{}'::jsonb);
BEGIN
    IF extra IS NOT NULL THEN
        recorded := recorded || extra::jsonb;
    END IF;
    IF token IS NOT NULL THEN
        recorded := recorded || jsonb_build_object('token_id', token);
    END IF;
    IF actor IS NULL THEN
        recorded := recorded || jsonb_build_object('unattributed', true, 'database_role', session_user::text);
    END IF;
    INSERT INTO audit_records (tenant_id, kind, actor_id, actor_display, actor_ip, activity, item, details)
    VALUES (scope, kind, coalesce(actor, 'database:' || session_user),
            coalesce(nullif(current_setting('lockbox.actor_display', true), ''), 'Database role ' || session_user),
            coalesce(current_setting('lockbox.actor_ip', true), ''), activity, coalesce(item, ''), recorded);
END;
$$;

-- What an audit record may show of an address or an endpoint: the rule of
-- LockboxCore.Masking, which a store test holds equal to these.
CREATE FUNCTION lockbox_mask_email(address text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN address IS NULL THEN NULL
        WHEN position('@' IN address) > 1 THEN left(address, 1) || '***' || substr(address, position('@' IN address))
        ELSE '***'
    END
$$;
CREATE FUNCTION lockbox_mask_url(url text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN url IS NULL THEN NULL
        WHEN url ~ '^https://([^/?#]*@)?[^/?#@]+([/?#]|$)' THEN
            'https://' || substring(url FROM '^https://(?:[^/?#]*@)?([^/?#@]+)(?:[/?#]|$)') || '/...'
        ELSE 'https://...'
    END
$$;

CREATE FUNCTION lockbox_audit_principals() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    scope text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'principal', 'PrincipalCreated', '',
            jsonb_build_object('principal_id', NEW.principal_id, 'display_name', NEW.display_name));
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM lockbox_record(coalesce(OLD.tenant_id, ''), 'principal', 'PrincipalDeleted', '',
            jsonb_build_object('principal_id', OLD.principal_id, 'display_name', OLD.display_name));
        RETURN NULL;
    END IF;
    scope := coalesce(NEW.tenant_id, '');
    IF OLD.suspended_at_ms IS NULL AND NEW.suspended_at_ms IS NOT NULL THEN
        PERFORM lockbox_record(scope, 'principal', 'PrincipalSuspended', '',
            jsonb_build_object('principal_id', NEW.principal_id));
    ELSIF OLD.suspended_at_ms IS NOT NULL AND NEW.suspended_at_ms IS NULL THEN
        PERFORM lockbox_record(scope, 'principal', 'PrincipalReactivated', '',
            jsonb_build_object('principal_id', NEW.principal_id));
    END IF;
    IF NEW.certificate_sha256 IS DISTINCT FROM OLD.certificate_sha256 THEN
        PERFORM lockbox_record(scope, 'principal',
            CASE WHEN NEW.certificate_sha256 IS NULL THEN 'PrincipalCertificateUnbound' ELSE 'PrincipalCertificateBound' END,
            '', jsonb_build_object('principal_id', NEW.principal_id,
                                   'certificate_sha256', coalesce(encode(NEW.certificate_sha256, 'hex'), '')));
    END IF;
    IF NEW.email IS DISTINCT FROM OLD.email THEN
        PERFORM lockbox_record(scope, 'notification', 'PrincipalEmailSet', '',
            jsonb_build_object('principal_id', NEW.principal_id, 'email', coalesce(lockbox_mask_email(NEW.email), '')));
    END IF;
    IF NEW.display_name IS DISTINCT FROM OLD.display_name OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.principal_id IS DISTINCT FROM OLD.principal_id
    THEN
        PERFORM lockbox_record(scope, 'principal', 'PrincipalChanged', '',
            jsonb_build_object('principal_id', NEW.principal_id, 'principal_id_before', OLD.principal_id,
                               'display_name', NEW.display_name, 'display_name_before', OLD.display_name,
                               'tenant_id_before', coalesce(OLD.tenant_id, '')));
        IF OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN
            PERFORM lockbox_record(coalesce(OLD.tenant_id, ''), 'principal', 'PrincipalChanged', '',
                jsonb_build_object('principal_id', NEW.principal_id, 'tenant_id', scope));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER principals_audit AFTER INSERT OR UPDATE OR DELETE ON principals
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_principals();

CREATE FUNCTION lockbox_audit_roles() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM lockbox_record(OLD.tenant_id, 'role_change', 'RoleRemoved', '',
            jsonb_build_object('principal_id', OLD.principal_id, 'role', OLD.role));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM lockbox_record(NEW.tenant_id, 'role_change', 'RoleAssigned', '',
            jsonb_build_object('principal_id', NEW.principal_id, 'role', NEW.role));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER role_assignments_audit AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_roles();

CREATE FUNCTION lockbox_audit_tokens() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'token', 'TokenIssued', '',
            jsonb_build_object('issued_token_id', NEW.token_id, 'principal_id', NEW.principal_id,
                               'expires_at_ms', NEW.expires_at_ms));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM lockbox_record(coalesce(OLD.tenant_id, ''), 'token', 'TokenDeleted', '',
            jsonb_build_object('token_id_deleted', OLD.token_id, 'principal_id', OLD.principal_id));
    ELSE
        IF OLD.revoked_at_ms IS NULL AND NEW.revoked_at_ms IS NOT NULL THEN
            PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'token', 'TokenRevoked', '',
                jsonb_build_object('revoked_token_id', NEW.token_id, 'principal_id', NEW.principal_id));
        END IF;
        IF NEW.token_hash IS DISTINCT FROM OLD.token_hash OR NEW.principal_id IS DISTINCT FROM OLD.principal_id
            OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.expires_at_ms IS DISTINCT FROM OLD.expires_at_ms
            OR NEW.token_id IS DISTINCT FROM OLD.token_id
            OR (OLD.revoked_at_ms IS NOT NULL AND NEW.revoked_at_ms IS DISTINCT FROM OLD.revoked_at_ms)
        THEN
            PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'token', 'TokenChanged', '',
                jsonb_build_object('changed_token_id', NEW.token_id, 'principal_id', NEW.principal_id,
                                   'principal_id_before', OLD.principal_id, 'expires_at_ms', NEW.expires_at_ms,
                                   'revoked_at_ms', NEW.revoked_at_ms));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER api_tokens_audit AFTER INSERT OR UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_tokens();

CREATE FUNCTION lockbox_audit_tenants() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    changed jsonb := '{}'::jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'tenant', 'TenantCreated', '',
            jsonb_build_object('display_name', NEW.display_name));
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM lockbox_record(OLD.tenant_id, 'tenant', 'TenantDeleted', '', '{}'::jsonb);
        RETURN NULL;
    END IF;
    IF NEW.lockbox_enabled IS DISTINCT FROM OLD.lockbox_enabled THEN
        PERFORM lockbox_record(NEW.tenant_id, 'settings',
            CASE WHEN NEW.lockbox_enabled THEN 'LockboxEnabled' ELSE 'LockboxDisabled' END, '', '{}'::jsonb);
    END IF;
    IF NEW.approval_window_seconds IS DISTINCT FROM OLD.approval_window_seconds THEN
        changed := changed || jsonb_build_object('approval_window_seconds_before', OLD.approval_window_seconds,
                                                 'approval_window_seconds', NEW.approval_window_seconds);
    END IF;
    IF NEW.max_access_duration_seconds IS DISTINCT FROM OLD.max_access_duration_seconds THEN
        changed := changed || jsonb_build_object('max_access_duration_seconds_before', OLD.max_access_duration_seconds,
                                                 'max_access_duration_seconds', NEW.max_access_duration_seconds);
    END IF;
    IF NEW.display_name IS DISTINCT FROM OLD.display_name OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.created_at_ms IS DISTINCT FROM OLD.created_at_ms
    THEN
        changed := changed || jsonb_build_object('display_name_before', OLD.display_name,
                                                 'display_name', NEW.display_name, 'tenant_id_before', OLD.tenant_id);
    END IF;
    IF changed <> '{}'::jsonb THEN
        PERFORM lockbox_record(NEW.tenant_id, 'settings', 'TenantSettingsChanged', '', changed);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tenants_audit AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_tenants();

CREATE FUNCTION lockbox_audit_enrollment() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lockbox_record(NEW.tenant_id, 'enrollment', 'EnrollmentCodeIssued', '',
            jsonb_build_object('code_id', NEW.code_id, 'expires_at_ms', NEW.expires_at_ms));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM lockbox_record(OLD.tenant_id, 'enrollment', 'EnrollmentCodeChanged', '',
            jsonb_build_object('code_id', OLD.code_id, 'deleted', true));
    ELSE
        IF OLD.redeemed_at_ms IS NULL AND NEW.redeemed_at_ms IS NOT NULL THEN
            PERFORM lockbox_record(NEW.tenant_id, 'enrollment', 'TenantAdminEnrolled', '',
                jsonb_build_object('code_id', NEW.code_id, 'principal_id', NEW.redeemed_by));
        END IF;
        IF OLD.superseded_at_ms IS NULL AND NEW.superseded_at_ms IS NOT NULL THEN
            PERFORM lockbox_record(NEW.tenant_id, 'enrollment', 'EnrollmentCodeSuperseded', '',
                jsonb_build_object('code_id', NEW.code_id));
        END IF;
        IF NEW.code_hash IS DISTINCT FROM OLD.code_hash OR NEW.expires_at_ms IS DISTINCT FROM OLD.expires_at_ms
            OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.code_id IS DISTINCT FROM OLD.code_id
            OR (OLD.redeemed_at_ms IS NOT NULL AND NEW.redeemed_at_ms IS DISTINCT FROM OLD.redeemed_at_ms)
            OR (OLD.superseded_at_ms IS NOT NULL AND NEW.superseded_at_ms IS DISTINCT FROM OLD.superseded_at_ms)
        THEN
            PERFORM lockbox_record(NEW.tenant_id, 'enrollment', 'EnrollmentCodeChanged', '',
                jsonb_build_object('code_id', NEW.code_id, 'expires_at_ms', NEW.expires_at_ms));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER enrollment_codes_audit AFTER INSERT OR UPDATE OR DELETE ON enrollment_codes
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_enrollment();

CREATE FUNCTION lockbox_audit_webhooks() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'notification', 'WebhookAdded', '',
            jsonb_build_object('webhook_id', NEW.webhook_id, 'url', lockbox_mask_url(NEW.url)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM lockbox_record(coalesce(OLD.tenant_id, ''), 'notification', 'WebhookRemoved', '',
            jsonb_build_object('webhook_id', OLD.webhook_id, 'url', lockbox_mask_url(OLD.url), 'deleted', true));
    ELSE
        IF OLD.removed_at_ms IS NULL AND NEW.removed_at_ms IS NOT NULL THEN
            PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'notification', 'WebhookRemoved', '',
                jsonb_build_object('webhook_id', NEW.webhook_id, 'url', lockbox_mask_url(NEW.url)));
        END IF;
        IF OLD.disabled_at_ms IS NULL AND NEW.disabled_at_ms IS NOT NULL THEN
            PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'notification', 'WebhookDisabled', '',
                jsonb_build_object('webhook_id', NEW.webhook_id));
        END IF;
        IF NEW.url IS DISTINCT FROM OLD.url OR NEW.secret IS DISTINCT FROM OLD.secret
            OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.webhook_id IS DISTINCT FROM OLD.webhook_id
            OR (OLD.removed_at_ms IS NOT NULL AND NEW.removed_at_ms IS DISTINCT FROM OLD.removed_at_ms)
            OR (OLD.disabled_at_ms IS NOT NULL AND NEW.disabled_at_ms IS DISTINCT FROM OLD.disabled_at_ms)
        THEN
            PERFORM lockbox_record(coalesce(NEW.tenant_id, ''), 'notification', 'WebhookChanged', '',
                jsonb_build_object('webhook_id', NEW.webhook_id, 'url', lockbox_mask_url(NEW.url),
                                   'url_before', lockbox_mask_url(OLD.url),
                                   'secret_changed', NEW.secret IS DISTINCT FROM OLD.secret));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhooks_audit AFTER INSERT OR UPDATE OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_webhooks();

-- A change to what may be pre-approved is told to every tenant, in its own chain (and to the
-- provider's): a tenant's customer reads and verifies the facts that concern it in one chain.
-- It changes no grant already approved (4, below).
CREATE FUNCTION lockbox_audit_operations() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    row_ preapproved_operations;
    activity text;
    details jsonb;
    tenant text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_ := OLD;
        activity := 'PreapprovedOperationRemoved';
    ELSE
        row_ := NEW;
        activity := 'PreapprovedOperationAdded';
    END IF;
    details := jsonb_build_object('service', row_.service, 'operation', row_.operation);
    IF TG_OP = 'UPDATE' THEN
        details := details || jsonb_build_object('operation_before', OLD.operation, 'service_before', OLD.service);
        activity := 'PreapprovedOperationChanged';
    END IF;
    PERFORM lockbox_record('', 'operation', activity, '', details);
    FOR tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM lockbox_record(tenant, 'operation', activity, '', details);
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER preapproved_operations_audit AFTER INSERT OR UPDATE OR DELETE ON preapproved_operations
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_operations();

-- 4. The scope a grant was approved for is the grant's: the pre-approved operations of its
-- service when it was approved (lower-cased), kept with it and signed with the decision. A
-- later change to the list is for later approvals.
ALTER TABLE grants ADD COLUMN operations text[];
UPDATE grants g SET operations = ARRAY(
    SELECT p.operation_key FROM preapproved_operations p WHERE p.service = g.service ORDER BY p.operation_key
);
ALTER TABLE grants ALTER COLUMN operations SET NOT NULL;

-- 5. Server signing keys are trusted only when the owner role introduced them (lockboxd keys
-- add, or migrate --signing-key-file) or a trusted key cross-signed them. The database stamps
-- who introduced a key and when; the runtime role can add a key only with a cross-signature,
-- which lockboxd verifies before it trusts the key.
ALTER TABLE signing_keys ADD COLUMN introduced_by_owner boolean NOT NULL DEFAULT false;
ALTER TABLE signing_keys ADD COLUMN attested_by text;
ALTER TABLE signing_keys ADD COLUMN attestation bytea;
ALTER TABLE signing_keys DISABLE TRIGGER signing_keys_no_update_or_delete;
-- Keys published before this migration: the owner adopts them as it migrates.
UPDATE signing_keys SET introduced_by_owner = true;
ALTER TABLE signing_keys ENABLE TRIGGER signing_keys_no_update_or_delete;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_attested
    CHECK (introduced_by_owner OR (attested_by IS NOT NULL AND attestation IS NOT NULL));
DO $migration$
BEGIN
    EXECUTE format($function$
        CREATE FUNCTION signing_keys_stamp() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            NEW.introduced_by_owner := session_user = %L;
            NEW.first_seen_at_ms := public.lockbox_now_ms();
            RETURN NEW;
        END;
        $body$
    $function$, current_user);
END;
$migration$;
CREATE TRIGGER signing_keys_stamp BEFORE INSERT ON signing_keys FOR EACH ROW EXECUTE FUNCTION signing_keys_stamp();
-- A key's arrival is recorded in every chain it will sign: the provider's, every tenant's,
-- and (below) each new tenant's from its start.
CREATE FUNCTION lockbox_key_details(k signing_keys) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('key_id', k.key_id, 'public_key', encode(k.public_key, 'hex'),
                              'introduced_by_owner', k.introduced_by_owner,
                              'attested_by', coalesce(k.attested_by, ''),
                              'attestation', coalesce(encode(k.attestation, 'hex'), ''))
$$;
CREATE FUNCTION lockbox_audit_signing_keys() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    tenant text;
BEGIN
    PERFORM lockbox_record('', 'key', 'SigningKeyAdded', '', lockbox_key_details(NEW));
    FOR tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM lockbox_record(tenant, 'key', 'SigningKeyAdded', '', lockbox_key_details(NEW));
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER signing_keys_audit AFTER INSERT ON signing_keys FOR EACH ROW EXECUTE FUNCTION lockbox_audit_signing_keys();
CREATE FUNCTION lockbox_audit_new_tenant_keys() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    k signing_keys;
BEGIN
    FOR k IN SELECT * FROM signing_keys ORDER BY first_seen_at_ms, key_id LOOP
        PERFORM lockbox_record(NEW.tenant_id, 'key', 'SigningKeyAdded', '', lockbox_key_details(k));
    END LOOP;
    RETURN NULL;
END;
$$;
-- Named to fire after tenants_audit (triggers fire in name order), so TenantCreated comes first.
CREATE TRIGGER tenants_zz_keys AFTER INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION lockbox_audit_new_tenant_keys();
-- The keys this migration adopted, recorded in every chain as the migration's.
SELECT lockbox_attribute('lockboxd', 'lockboxd migrate', '', '');
SELECT lockbox_record(scope, 'key', 'SigningKeyAdded', '', lockbox_key_details(k))
FROM signing_keys k, (SELECT '' AS scope UNION ALL SELECT tenant_id FROM tenants) scopes
ORDER BY k.first_seen_at_ms, k.key_id, scopes.scope;
SELECT lockbox_attribute('', '', '', '');

-- Refused enrollments are recorded one by one up to an hourly limit per tenant (AdminAPI):
-- counting them reads this index, not the tenant's whole hour of records.
CREATE INDEX audit_records_enrollment_refused ON audit_records (tenant_id, recorded_at_ms)
    WHERE activity = 'EnrollmentRefused';
