-- A principal (a data-plane service's, typically) may be bound to its client certificate: its
-- tokens then authenticate only on mutual-TLS connections that present that certificate.
ALTER TABLE principals ADD COLUMN certificate_sha256 bytea CHECK (length(certificate_sha256) = 32);
