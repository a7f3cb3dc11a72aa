-- Operations an engineer may run under a grant, per service. Provider-wide reference
-- data (no tenant_id): in a tenant-sharded PostgreSQL this is a reference table.
-- Matching is exact on the name, case-insensitive (operation_key is the lower-cased name).
CREATE TABLE preapproved_operations (
    service text NOT NULL CHECK (service IN ('exchange', 'sharepoint', 'onedrive', 'teams')),
    operation text NOT NULL CHECK (operation ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    operation_key text GENERATED ALWAYS AS (lower(operation)) STORED,
    description text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    created_at_ms bigint NOT NULL,
    PRIMARY KEY (service, operation_key)
);

INSERT INTO preapproved_operations (service, operation, description, created_by, created_at_ms) VALUES
    ('exchange', 'Get-Mailbox', 'Read mailbox properties', 'migration', 0),
    ('exchange', 'Get-MailboxStatistics', 'Read mailbox size and item counts', 'migration', 0),
    ('exchange', 'Get-MessageTrace', 'Trace message delivery', 'migration', 0),
    ('exchange', 'Get-InboxRule', 'Read inbox rules', 'migration', 0),
    ('exchange', 'Search-Mailbox', 'Search mailbox content', 'migration', 0),
    ('exchange', 'Test-MailFlow', 'Test mail flow', 'migration', 0),
    ('sharepoint', 'Get-SPOSite', 'Read site properties', 'migration', 0),
    ('sharepoint', 'Get-SPOUser', 'Read site users', 'migration', 0),
    ('sharepoint', 'Get-SPOSiteGroup', 'Read site groups', 'migration', 0),
    ('sharepoint', 'Repair-SPOSite', 'Repair a site', 'migration', 0),
    ('onedrive', 'Get-SPOSite', 'Read OneDrive site properties', 'migration', 0),
    ('onedrive', 'Get-OneDriveUsage', 'Read OneDrive usage', 'migration', 0),
    ('onedrive', 'Restore-SPODeletedSite', 'Restore a deleted OneDrive', 'migration', 0),
    ('teams', 'Get-Team', 'Read team properties', 'migration', 0),
    ('teams', 'Get-TeamChannel', 'Read team channels', 'migration', 0),
    ('teams', 'Get-CsOnlineUser', 'Read a Teams user', 'migration', 0);

-- Usage of a grant is counted from its allowed operator actions.
CREATE INDEX audit_records_operator_actions ON audit_records (tenant_id, item)
    WHERE details->>'kind' = 'operator_action';
