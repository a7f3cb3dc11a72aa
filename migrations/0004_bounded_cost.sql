-- What a grant has been used for, kept as it happens instead of counted from the audit
-- log on every read: CheckAccess adds to one of a grant's shards (chosen by the database
-- session, so concurrent checks on one grant never wait for each other), and a read sums
-- at most 16 rows.
CREATE TABLE grant_usage (
    tenant_id text NOT NULL,
    request_id text NOT NULL,
    shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
    operations bigint NOT NULL,
    last_operation_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, request_id, shard),
    FOREIGN KEY (tenant_id, request_id) REFERENCES grants (tenant_id, request_id)
);
INSERT INTO grant_usage (tenant_id, request_id, shard, operations, last_operation_at_ms)
SELECT a.tenant_id, a.item, 0, count(*), max(a.recorded_at_ms)
FROM audit_records a
JOIN grants g ON g.tenant_id = a.tenant_id AND g.request_id = a.item
WHERE a.kind = 'operator_action' AND a.details->>'allowed' = 'true'
GROUP BY a.tenant_id, a.item;
DROP INDEX audit_records_operator_actions;

-- Request lists, newest first, as each kind of caller asks: a tenant's, an operator's own,
-- and everyone's (support managers, auditors); the keyset cursor is (created_at_ms, request_id).
DROP INDEX access_requests_tenant_created;
CREATE INDEX access_requests_tenant_created ON access_requests (tenant_id, created_at_ms DESC, request_id DESC);
CREATE INDEX access_requests_requester_created ON access_requests (requester_id, created_at_ms DESC, request_id DESC);
CREATE INDEX access_requests_created ON access_requests (created_at_ms DESC, request_id DESC);

-- Exports page through a time range by (recorded_at_ms, audit_id): a tenant's through
-- audit_records_tenant_time, everyone's through this one.
CREATE INDEX audit_records_time ON audit_records (recorded_at_ms, audit_id);

-- The sweeper completes grants that ended: it starts from the approved requests, which are
-- as many as the grants in force, not from every grant that ever ended.
CREATE INDEX access_requests_approved ON access_requests (tenant_id, request_id) WHERE status = 'APPROVED';
