-- Approval policy (issue 20): a request may schedule its start, and an extension is a request
-- of its own that continues an approved grant from its end.
ALTER TABLE access_requests ADD COLUMN scheduled_start_ms bigint;
ALTER TABLE access_requests ADD COLUMN extends_request_id text;
ALTER TABLE access_requests ADD COLUMN chain_started_at_ms bigint;
ALTER TABLE access_requests ADD CONSTRAINT access_requests_extension
    CHECK ((extends_request_id IS NULL) = (chain_started_at_ms IS NULL)
           AND (extends_request_id IS NULL OR scheduled_start_ms IS NOT NULL));
CREATE INDEX access_requests_extensions ON access_requests (tenant_id, extends_request_id)
    WHERE extends_request_id IS NOT NULL;

-- An extension withdrawn because the grant it continues was revoked.
ALTER TABLE request_events DROP CONSTRAINT request_events_activity;
ALTER TABLE request_events ADD CONSTRAINT request_events_activity
    CHECK (activity IN ('AccessRequestCreated', 'InternalApprove', 'InternalDeny', 'CustomerApprove', 'CustomerDeny',
                        'CustomerCancel', 'RequesterCancel', 'SuspensionCancel', 'AccessRevoked', 'RequestExpired',
                        'GrantCompleted', 'CustomerDecisionCounted', 'ExtensionWithdrawn', 'AutoApproved'));

-- The operations a request asks for, lower-cased and sorted; NULL asks for all those
-- pre-approved for its service. The customer approves all of them or fewer.
ALTER TABLE access_requests ADD COLUMN requested_operations text[];

-- Why access is needed, in a word a tenant's policy can require or refuse; NULL for none.
ALTER TABLE access_requests ADD COLUMN justification_category text
    CHECK (justification_category IN ('incident', 'service_request', 'security_investigation', 'customer_requested'));

-- The support managers who approved a request internally so far, in order: the provider may
-- require up to three levels, each a different manager (lockboxd --internal-approvals).
ALTER TABLE access_requests ADD COLUMN internal_approvers text[] NOT NULL DEFAULT '{}';
