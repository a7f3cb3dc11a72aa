-- Request events: a transactional outbox (docs/notifications.md). Every change to a request
-- writes one row here in the transaction that makes the change. `seq`, the event's place in
-- the feed, is given after commit by one sequencer at a time, so the feed only ever grows at
-- its end: a reader that has seen seq N has seen everything up to N, for good.
CREATE TABLE request_events (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    event_id bigint GENERATED ALWAYS AS IDENTITY,
    seq bigint,
    request_id text NOT NULL,
    requester_id text NOT NULL,
    activity text NOT NULL,
    state text NOT NULL,
    actor_id text NOT NULL,
    occurred_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX request_events_unsequenced ON request_events (event_id) WHERE seq IS NULL;
CREATE INDEX request_events_feed ON request_events (seq) WHERE seq IS NOT NULL;
CREATE INDEX request_events_tenant_feed ON request_events (tenant_id, seq) WHERE seq IS NOT NULL;

-- Positions in the feed, one row each so that their writers never wait on one another:
-- 'sequenced' (the last seq given), 'dispatched' (the last event turned into notifications),
-- 'pruned' (events up to here are gone; a watch cursor below it cannot be resumed).
CREATE TABLE event_positions (
    name text PRIMARY KEY CHECK (name IN ('sequenced', 'dispatched', 'pruned')),
    position bigint NOT NULL
);
INSERT INTO event_positions VALUES ('sequenced', 0), ('dispatched', 0), ('pruned', 0);

-- Where a principal is emailed. A tenant's global admins set it for their principals;
-- provider admins for provider principals.
ALTER TABLE principals ADD COLUMN email text CHECK (length(email) BETWEEN 3 AND 254);

-- Webhook endpoints: a tenant's (registered by its global admins) or, with no tenant, the
-- provider's for every tenant (registered by provider admins). The secret signs deliveries;
-- it is shown once, at registration.
CREATE TABLE webhooks (
    webhook_id text PRIMARY KEY,
    tenant_id text REFERENCES tenants (tenant_id),
    url text NOT NULL CHECK (length(url) <= 2048),
    secret text NOT NULL,
    created_by text NOT NULL,
    created_at_ms bigint NOT NULL,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at_ms bigint,
    removed_at_ms bigint
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id) WHERE removed_at_ms IS NULL;

-- Every email and webhook delivery an event calls for, with its state: at least once, and
-- never twice at the same time (a sender holds its row locked while it sends).
CREATE TABLE notifications (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id),
    notification_id bigint GENERATED ALWAYS AS IDENTITY,
    event_seq bigint NOT NULL,
    request_id text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    kind text NOT NULL,
    recipient text NOT NULL,
    address text NOT NULL,
    -- The recipient is the provider's (the requester's email, a provider endpoint): a tenant
    -- sees that such a delivery happened, not where it went.
    provider_side boolean NOT NULL DEFAULT false,
    message_id text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at_ms bigint NOT NULL,
    last_error text NOT NULL DEFAULT '',
    created_at_ms bigint NOT NULL,
    finished_at_ms bigint,
    PRIMARY KEY (tenant_id, notification_id),
    UNIQUE (tenant_id, event_seq, channel, kind, recipient)
);
CREATE INDEX notifications_due ON notifications (channel, next_attempt_at_ms) WHERE state = 'pending';
CREATE INDEX notifications_pending_recipient ON notifications (recipient) WHERE state = 'pending';
CREATE INDEX notifications_pending_event ON notifications (event_seq) WHERE state = 'pending';
CREATE INDEX notifications_finished ON notifications (finished_at_ms) WHERE state <> 'pending';
CREATE INDEX notifications_by_id ON notifications (notification_id);
CREATE INDEX notifications_by_state ON notifications (state, notification_id);
CREATE INDEX notifications_tenant_state ON notifications (tenant_id, state, notification_id);
