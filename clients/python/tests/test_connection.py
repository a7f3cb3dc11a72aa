"""The connection against a real lockboxd: calls multiplexed from many threads on one
connection, a stream abandoned early (cancel frame: CANCELLED, and the connection goes on), a
stream's deadline, reconnecting with back-off after the server went away (GOAWAY), and a
server whose signing key the database does not trust."""

from __future__ import annotations

import base64
import os
import subprocess
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import lockbox
from lockbox import StatusCode
from lockbox.integrity import key_id

from support import WAIT, Database, Lockboxd, eventually, free_port


def fill_audit(database, tenant_id: str, count: int, pad: int = 200) -> None:
    """Inserts audit records for ``tenant_id`` as the owner role, as the Swift tests do."""
    database.sql(
        "INSERT INTO audit_records (tenant_id, recorded_at_ms, kind, actor_id, actor_display, activity, item, details) "
        "SELECT '%s', 1700000000000 + i, 'operator_action', 'op', 'Provider Operator', 'Get-Mailbox', 'req_' || i, "
        "jsonb_build_object('pad', repeat('x', %d), 'n', i) FROM generate_series(1, %d) i" % (tenant_id, pad, count)
    )


def test_many_threads_share_one_connection(server, world):
    with lockbox.Client(server.address, plaintext=True, token=world.contoso.admin) as client:
        errors = []
        done = []

        def work(n):
            try:
                for i in range(40):
                    if i % 2:
                        assert client.ping().version
                    else:
                        assert client.get_tenant_settings(tenant_id="contoso").tenant_id == "contoso"
                done.append(n)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not errors and len(done) == 8
        assert client.stats.connections_opened == 1 and client.stats.calls_started == 320


def test_a_stream_abandoned_early_is_cancelled_and_the_connection_goes_on(server, world, database, new_tenant):
    tenant = new_tenant("cut")
    fill_audit(database, tenant.id, 10_000)  # 20 pages of 500 records
    with lockbox.Client(server.address, plaintext=True, token=tenant.admin) as client:
        stream = client.export_audit(tenant_id=tenant.id)
        first = next(stream)
        assert first.data.count(b"\n") > 0
        stream.close()  # the consumer stops after one chunk: a cancel frame goes to the server
        assert client.stats.cancels_sent == 1
        status = stream.wait_status(WAIT)
        assert status is not None and status.code == StatusCode.CANCELLED, status
        # The same connection carries on.
        assert client.get_tenant_settings(tenant_id=tenant.id).lockbox_enabled
        assert client.stats.connections_opened == 1
        # A stream dropped in a for loop (break) is cancelled too.
        for _ in client.export_audit(tenant_id=tenant.id):
            break
        eventually(lambda: client.stats.cancels_sent == 2, "the dropped stream's cancel frame")
        assert client.ping().version and client.stats.connections_opened == 1
        # A watch cancelled at once ends CANCELLED as well (the server unsubscribes it).
        watch = client.watch_access_requests(tenant_id=tenant.id)
        assert next(watch).live
        watch.close()
        assert watch.wait_status(WAIT).code == StatusCode.CANCELLED


def test_a_streams_deadline(server, world, new_tenant):
    tenant = new_tenant("ddl")
    with lockbox.Client(server.address, plaintext=True, token=tenant.admin) as client:
        stream = client.watch_access_requests(tenant_id=tenant.id, timeout=1.0)
        with pytest.raises(lockbox.DeadlineExceeded):
            # Nothing happens in this tenant: at most the live marker, then the deadline passes
            # (on a busy machine the deadline may pass before the marker arrives).
            for message in stream:
                assert message.live
        assert client.ping().version and client.stats.connections_opened == 1


def test_tokens_that_cannot_be_ours_are_unauthenticated(client):
    # A token failing its checksum costs the address nothing (no database work).
    with pytest.raises(lockbox.Unauthenticated) as info:
        client.get_tenant_settings(tenant_id="contoso", auth_token="lbx_" + "A" * 51)
    assert info.value.code == StatusCode.UNAUTHENTICATED
    with pytest.raises(lockbox.Unauthenticated):
        client.get_tenant_settings(tenant_id="contoso", auth_token="")


def test_reconnects_with_back_off_after_the_server_went_away(servers, world):
    port = free_port()
    replica = servers.start(port=port)
    policy = lockbox.RetryPolicy(max_attempts=None, initial_backoff=0.05, max_backoff=0.5)
    with lockbox.Client(replica.address, plaintext=True, token=world.auditor, retry=policy) as client:
        assert client.list_signing_keys().keys
        # SIGTERM: lockboxd sends GOAWAY on every connection, then closes them and exits.
        assert replica.stop() == 0
        eventually(lambda: client.stats.goaways_received == 1, "the GOAWAY")
        attempts = client.stats.connect_attempts
        result = {}

        def call():
            try:
                result["settings"] = client.search_audit(tenant_id="contoso", page_size=1, timeout=WAIT)
            except Exception as error:  # pragma: no cover - reported below
                result["error"] = error

        caller = threading.Thread(target=call)
        caller.start()
        # The call retries connecting while nothing listens ...
        eventually(lambda: client.stats.connect_attempts >= attempts + 2, "failed connection attempts")
        # ... and succeeds once a server is back on the port.
        replica.start()
        caller.join(WAIT)
        assert "error" not in result, result.get("error")
        assert result["settings"].records
        assert client.stats.retries >= 2 and client.stats.connections_opened == 2
    replica.stop()


def test_lockboxd_serves_only_with_a_key_its_database_trusts(lockboxd_binary, migrations, workdir):
    """A server key is trusted once the database's owner introduced it (migrations/0011): a
    database migrated without it refuses the server; `lockboxd keys add` (as the owner) fixes
    that. On a database of its own, so that the session's chains keep their one key."""
    key_file = os.path.join(workdir, "untrusted.key")
    subprocess.run([lockboxd_binary, "keygen", "--output", key_file], check=True, capture_output=True, timeout=60)
    with open(key_file) as handle:
        seed = base64.b64decode(handle.read().strip())
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    database = Database.create(lockboxd_binary, migrations)  # no key introduced
    server = Lockboxd(lockboxd_binary, migrations, database, key_file, workdir)
    try:
        with pytest.raises(RuntimeError, match="lockboxd exited") as info:
            server.start()
        assert server.process.returncode == 3 and "not trusted by the database" in server.log_tail(), info.value
        added = subprocess.run([lockboxd_binary, "keys", "add", "--database-url", database.owner_url,
                                "--migrations", migrations, "--public-key", public.hex()],
                               capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stdout + added.stderr
        server.start()
        with lockbox.Client(server.address, plaintext=True) as client:
            [key] = client.list_signing_keys().keys
        assert (key.key_id, bytes(key.public_key)) == (key_id(public), public)
        assert key.introduced_by_owner and not key.attested_by
    finally:
        server.stop()
        database.drop()
