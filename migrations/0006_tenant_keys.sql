-- Every unique key of a tenant-scoped table includes tenant_id, as a table distributed by
-- tenant (Citus) requires (docs/scaling.md; ShardingPathTests keeps it so).

-- Request ids are random 128-bit values the server makes: looked up by id, unique with the tenant.
DROP INDEX access_requests_id;
CREATE INDEX access_requests_id ON access_requests (request_id);

-- Idempotency keys are scoped to the tenant and the requester.
DROP INDEX access_requests_idempotency;
CREATE UNIQUE INDEX access_requests_idempotency ON access_requests (tenant_id, requester_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A code is redeemed for its tenant.
ALTER TABLE enrollment_codes DROP CONSTRAINT enrollment_codes_code_hash_key;
ALTER TABLE enrollment_codes ADD CONSTRAINT enrollment_codes_code_hash_key UNIQUE (tenant_id, code_hash);
