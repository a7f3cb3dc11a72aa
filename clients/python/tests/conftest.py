"""Fixtures: a database of the session's own, a real lockboxd on it, and a world of principals.

Environment (clients/python/scripts/test sets it; see the top of that script):
LOCKBOX_TEST_LOCKBOXD, LOCKBOX_TEST_MIGRATIONS, LOCKBOX_TEST_DATABASE_URL (superuser),
LOCKBOX_TEST_OWNER_URL, LOCKBOX_TEST_RUNTIME_URL; optionally LOCKBOX_TEST_VERIFY_EXPORT and
LOCKBOX_TEST_LOCKBOX (verifiers to agree with).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import lockbox  # noqa: E402
from support import Database, Lockboxd, World, bootstrap, make_tenant, make_world, require_env  # noqa: E402


@pytest.fixture(scope="session")
def lockboxd_binary() -> str:
    return require_env("LOCKBOX_TEST_LOCKBOXD")


@pytest.fixture(scope="session")
def migrations() -> str:
    return require_env("LOCKBOX_TEST_MIGRATIONS")


@pytest.fixture(scope="session")
def workdir():
    directory = tempfile.mkdtemp(prefix="lockbox-pytest-")
    yield directory
    if os.environ.get("LOCKBOX_TEST_KEEP") != "1":
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def signing_key(lockboxd_binary, workdir) -> str:
    path = os.path.join(workdir, "signing.key")
    subprocess.run([lockboxd_binary, "keygen", "--output", path], check=True, capture_output=True, timeout=60)
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="session")
def database(lockboxd_binary, migrations, signing_key):
    """The session's database, migrated by its owner, who introduces the session's signing key
    (lockboxd serve refuses a key the database does not trust)."""
    db = Database.create(lockboxd_binary, migrations, signing_key)
    yield db
    if os.environ.get("LOCKBOX_TEST_KEEP") != "1":
        db.drop()


class Servers:
    """Starts lockboxd processes on the session's database; stops them all at the end."""

    def __init__(self, binary, migrations, database, key, workdir):
        self.binary, self.migrations, self.database, self.key, self.workdir = binary, migrations, database, key, workdir
        self.started = []

    def start(self, **options) -> Lockboxd:
        server = Lockboxd(self.binary, self.migrations, self.database, self.key, self.workdir, **options)
        self.started.append(server)
        return server.start()

    def stop_all(self):
        for server in self.started:
            server.stop()


@pytest.fixture(scope="session")
def servers(lockboxd_binary, migrations, database, signing_key, workdir):
    group = Servers(lockboxd_binary, migrations, database, signing_key, workdir)
    yield group
    group.stop_all()


@pytest.fixture(scope="session")
def server(servers) -> Lockboxd:
    """The session's plaintext lockboxd on loopback. The tests enroll a tenant admin per tenant
    they make, all from 127.0.0.1: the enrollment budget is raised to allow that."""
    return servers.start(extra=["--enrollment-burst", "1000", "--enrollment-per-minute", "6000"])


@pytest.fixture(scope="session")
def admin_token(lockboxd_binary, migrations, database, server) -> str:
    """The first provider admin's token (lockboxd bootstrap)."""
    return bootstrap(lockboxd_binary, migrations, database)


@pytest.fixture(scope="session")
def client(server):
    """A blocking client on the session's server; tests pick the principal per call or with with_token."""
    with lockbox.Client(server.address, plaintext=True) as shared:
        yield shared


@pytest.fixture(scope="session")
def keys_dir(workdir) -> str:
    """Where the tests' tenant key files live (mode 600 each)."""
    directory = os.path.join(workdir, "keys")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def world(client, admin_token, keys_dir) -> World:
    return make_world(client, admin_token, keys_dir)


@pytest.fixture
def new_tenant(client, world, keys_dir):
    """Makes a tenant of the test's own (an enrolled admin with the tenant's root key, and an
    approver whose key the root certified to decide)."""

    def make(prefix: str = "t"):
        tenant = make_tenant(client, "%s-%s" % (prefix, uuid.uuid4().hex[:10]), by=world.provider_admin,
                             keys_dir=keys_dir)
        world.tenants[tenant.id] = tenant
        return tenant

    return make


def file_request(client, world, tenant_id: str, *, token=None, duration=3600, ticket="SR-1001"):
    return client.create_access_request(
        tenant_id=tenant_id,
        service="exchange",
        ticket_number=ticket,
        justification="mailbox fails to sync",
        requested_duration_seconds=duration,
        auth_token=token or world.operator,
    )


@pytest.fixture
def file(client, world):
    """Files an access request as an operator: file(tenant_id, token=..., duration=...)."""

    def make(tenant_id: str, **options):
        return file_request(client, world, tenant_id, **options)

    return make
