-- A change to what a principal is or may do wakes that principal's open watches, which then
-- check its authorization again. The database announces it (on the channel lockboxd
-- listens to, ChangeFeed in LockboxStore), whatever statement made the change: no code path
-- has to remember to.
CREATE FUNCTION lockbox_announce_principal() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('lockbox_requests', 'principal ' || OLD.principal_id);
    ELSE
        PERFORM pg_notify('lockbox_requests', 'principal ' || NEW.principal_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER role_assignments_announce AFTER INSERT OR UPDATE OR DELETE ON role_assignments
    FOR EACH ROW EXECUTE FUNCTION lockbox_announce_principal();
CREATE TRIGGER api_tokens_announce AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION lockbox_announce_principal();
CREATE TRIGGER principals_announce AFTER UPDATE OR DELETE ON principals
    FOR EACH ROW EXECUTE FUNCTION lockbox_announce_principal();

-- Every stored vocabulary has its CHECK, held equal to its Swift enum by StoredEnumTests.
ALTER TABLE request_events ADD CONSTRAINT request_events_state
    CHECK (state IN ('PENDING_INTERNAL', 'PENDING_CUSTOMER', 'APPROVED', 'DENIED', 'EXPIRED', 'CANCELED',
                     'REVOKED', 'COMPLETED'));
ALTER TABLE request_events ADD CONSTRAINT request_events_activity
    CHECK (activity IN ('AccessRequestCreated', 'InternalApprove', 'InternalDeny', 'CustomerApprove', 'CustomerDeny',
                        'CustomerCancel', 'RequesterCancel', 'SuspensionCancel', 'AccessRevoked', 'RequestExpired',
                        'GrantCompleted'));
-- Records written before migration 0003 have kind ''.
ALTER TABLE audit_records ADD CONSTRAINT audit_records_kind
    CHECK (kind IN ('', 'lifecycle', 'operator_action', 'role_change', 'settings', 'principal', 'token', 'tenant',
                    'operation', 'enrollment', 'notification'));
ALTER TABLE notifications ADD CONSTRAINT notifications_kind
    CHECK (kind IN ('awaiting_decision', 'reminder', 'outcome', 'event'));
