"""Test support: a PostgreSQL database of the tests' own, lockboxd processes, a world of
principals (as Tests/LockboxTestSupport/Harness.swift makes it), a TCP proxy that can cut
connections, certificates, and waiting for conditions with a deadline."""

from __future__ import annotations

import datetime
import ipaddress
import os
import queue
import re
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import lockbox

#: Every wait in these tests is for an event, with this generous deadline.
WAIT = float(os.environ.get("LOCKBOX_TEST_WAIT", "60"))


def eventually(condition: Callable[[], object], what: str, timeout: float = WAIT, interval: float = 0.02):
    """Waits until ``condition()`` is truthy (and returns it), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def require_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(
            "%s is not set: run the tests with clients/python/scripts/test (see the top of that script)" % name
        )
    return value


def with_database(url: str, database: str) -> str:
    head, _, _ = url.rpartition("/")
    return head + "/" + database


def psql(url: str, sql: str) -> str:
    """Runs SQL with psql (the tests' only database client), returning its unaligned output."""
    result = subprocess.run(
        ["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError("psql failed: %s" % result.stderr.strip())
    return result.stdout.strip()


@dataclass
class Database:
    """A fresh database, migrated: as TestDatabase.swift makes one."""

    name: str
    owner_url: str
    runtime_url: str

    @classmethod
    def create(cls, lockboxd: str, migrations: str, signing_key_file: Optional[str] = None) -> "Database":
        """Creates and migrates the database. With ``signing_key_file``, ``lockboxd migrate``
        (the owner) also introduces that server key, which ``lockboxd serve`` must be trusted
        with before it starts (migrations/0011)."""
        superuser = require_env("LOCKBOX_TEST_DATABASE_URL")
        owner = require_env("LOCKBOX_TEST_OWNER_URL")
        runtime = require_env("LOCKBOX_TEST_RUNTIME_URL")
        name = "lbx_py_" + uuid.uuid4().hex[:16]
        psql(superuser, "CREATE DATABASE %s OWNER lockbox_owner" % name)
        database = cls(name, with_database(owner, name), with_database(runtime, name))
        arguments = [lockboxd, "migrate", "--database-url", database.owner_url, "--migrations", migrations,
                     "--runtime-role", "lockbox_app"]
        if signing_key_file:
            arguments += ["--signing-key-file", signing_key_file]
        # Only the key given here is introduced: none from the caller's environment.
        environment = {k: v for k, v in os.environ.items()
                       if k not in ("LOCKBOX_SIGNING_KEY", "LOCKBOX_SIGNING_KEY_FILE")}
        migrate = subprocess.run(arguments, capture_output=True, text=True, timeout=300, env=environment)
        if migrate.returncode != 0:
            raise RuntimeError("lockboxd migrate failed: %s%s" % (migrate.stdout, migrate.stderr))
        return database

    def drop(self) -> None:
        superuser = require_env("LOCKBOX_TEST_DATABASE_URL")
        try:
            psql(superuser, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
        except RuntimeError:
            pass

    def sql(self, statement: str) -> str:
        """SQL as the owner role: fixtures, and checking what the server stored."""
        return psql(self.owner_url, statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lockboxd:
    """One ``lockboxd serve`` process, as the runtime role."""

    LISTENING = re.compile(r"listening on (\S+):(\d+)")

    def __init__(self, binary: str, migrations: str, database: Database, key_file: str, workdir: str,
                 port: int = 0, tls: Optional[Dict[str, str]] = None, extra: Optional[List[str]] = None):
        self.binary = binary
        self.migrations = migrations
        self.database = database
        self.key_file = key_file
        self.port = port
        self.tls = tls
        self.extra = extra or []
        self.workdir = workdir
        self.process: Optional[subprocess.Popen] = None
        self.host = "127.0.0.1"
        self.log_path = ""
        self.starts = 0

    @property
    def address(self) -> str:
        return "%s:%d" % (self.host, self.port)

    def start(self, timeout: float = WAIT) -> "Lockboxd":
        self.starts += 1
        arguments = [
            self.binary, "serve",
            "--database-url", self.database.runtime_url,
            "--migrations", self.migrations,
            "--signing-key-file", self.key_file,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--log-level", "info",
        ]
        if self.tls:
            arguments += ["--tls-cert-file", self.tls["cert"], "--tls-key-file", self.tls["key"]]
            if self.tls.get("client_ca"):
                arguments += ["--tls-client-ca-file", self.tls["client_ca"]]
        else:
            arguments.append("--plaintext")
        arguments += self.extra
        self.log_path = os.path.join(self.workdir, "lockboxd-%d-%d.log" % (id(self), self.starts))
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump(stream):
            for raw in stream:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)

        threading.Thread(target=pump, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError("lockboxd did not say it listens within %.0f s: %s" % (timeout, self.log_tail()))
            if line is None:
                raise RuntimeError("lockboxd exited (%s): %s" % (self.process.wait(), self.log_tail()))
            match = self.LISTENING.search(line)
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                return self

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = WAIT) -> Optional[int]:
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def bootstrap(binary: str, migrations: str, database: Database) -> str:
    result = subprocess.run(
        [binary, "bootstrap", "--database-url", database.runtime_url, "--migrations", migrations],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError("lockboxd bootstrap failed: %s" % result.stderr)
    match = re.search(r"token \(shown once\): (\S+)", result.stdout)
    if not match:
        raise RuntimeError("no token in bootstrap's output: %r" % result.stdout)
    return match.group(1)


@dataclass
class Tenant:
    id: str
    admin: str
    admin_id: str
    approver: str
    approver_id: str
    #: The tenant's root key (made at enrollment) and its file.
    root: Optional[lockbox.TenantSigner] = None
    root_file: str = ""
    #: The approver's own key, certified by the root to decide, and its file.
    approver_key: Optional[lockbox.TenantSigner] = None
    approver_key_file: str = ""


@dataclass
class World:
    """Principals and tenants, as API.makeWorld in Harness.swift makes them."""

    provider_admin: str
    operator: str
    operator_id: str
    operator2: str
    operator2_id: str
    manager: str
    manager_id: str
    dual: str
    dual_id: str
    auditor: str
    auditor_id: str
    service: str
    service_id: str
    contoso: Tenant
    fabrikam: Tenant
    tenants: Dict[str, Tenant] = field(default_factory=dict)


def make_principal(client: lockbox.Client, name: str, roles, *, tenant: str = "", by: str):
    principal = client.create_principal(
        display_name=name,
        tenant_id=tenant,
        roles=[{"role": role, "tenant_id": tenant} for role in roles],
        auth_token=by,
    )
    token = client.issue_token(principal_id=principal.id, auth_token=by)
    return token.secret, principal.id


def make_tenant(client: lockbox.Client, tenant_id: str, *, by: str, keys_dir: str) -> Tenant:
    """A tenant created by the provider admin, its first global admin enrolled with the code as
    the customer would (bringing the tenant's root key, made in a key file in ``keys_dir``), and a
    lockbox approver created by that admin, whose own key the root certifies to decide."""
    created = client.create_tenant(tenant_id=tenant_id, display_name=tenant_id.capitalize(), auth_token=by)
    root_file = os.path.join(keys_dir, "%s-root.key" % tenant_id)
    enrolled = client.enroll_tenant_admin(
        tenant_id=tenant_id, code=created.enrollment.code, display_name="%s admin" % tenant_id, root_key=root_file,
        auth_token="",
    )
    admin = enrolled.token.secret
    root = lockbox.TenantSigner.load(root_file)
    approver, approver_id = make_principal(client, "%s approver" % tenant_id, ["lockbox_approver"], tenant=tenant_id, by=admin)
    approver_key_file = os.path.join(keys_dir, "%s-approver.key" % tenant_id)
    approver_key = lockbox.TenantSigner.create(approver_key_file)
    client.certify_key(tenant_id=tenant_id, signer=root, principal_id=approver_id, public_key=approver_key,
                       capabilities="decide", auth_token=admin)
    return Tenant(tenant_id, admin, enrolled.admin.id, approver, approver_id, root, root_file, approver_key,
                  approver_key_file)


def approve_signed(client: lockbox.Client, tenant: Tenant, request_id: str, **options):
    """The customer's approval of a request that waits for it, signed with the approver's key."""
    return client.approve(request_id, key=tenant.approver_key, auth_token=tenant.approver, **options)


def make_world(client: lockbox.Client, admin: str, keys_dir: str) -> World:
    def provider(name, roles):
        return make_principal(client, name, roles, by=admin)

    operator, operator_id = provider("Olivia Operator", ["operator"])
    operator2, operator2_id = provider("Oscar Operator", ["operator"])
    manager, manager_id = provider("Mia Manager", ["support_manager"])
    dual, dual_id = provider("Dana Dual", ["operator", "support_manager"])
    auditor, auditor_id = provider("Ada Auditor", ["auditor"])
    service, service_id = provider("Mail Store", ["service"])
    contoso = make_tenant(client, "contoso", by=admin, keys_dir=keys_dir)
    fabrikam = make_tenant(client, "fabrikam", by=admin, keys_dir=keys_dir)
    return World(admin, operator, operator_id, operator2, operator2_id, manager, manager_id, dual, dual_id,
                 auditor, auditor_id, service, service_id, contoso, fabrikam, {"contoso": contoso, "fabrikam": fabrikam})


class TCPProxy:
    """A loopback TCP proxy in front of a server, whose connections a test can cut, and which
    can refuse new ones for a while (closing them at once)."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self._lock = threading.Lock()
        self._pairs: List[tuple] = []
        self._refusing = False
        self.accepted = 0
        self.refused = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if self._refusing:
                    self.refused += 1
                    client.close()
                    continue
                self.accepted += 1
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket):
        sockets = [a, b]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 0.5)
                if self._closed:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    @property
    def connections(self) -> int:
        with self._lock:
            return sum(1 for a, _ in self._pairs if a.fileno() != -1)

    def cut(self) -> int:
        """Kills every connection through the proxy (RST towards the client). Returns how many."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        count = 0
        for client, upstream in pairs:
            for sock in (client, upstream):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    sock.close()
                except OSError:
                    pass
            count += 1
        return count

    def refuse(self, refusing: bool = True) -> None:
        with self._lock:
            self._refusing = refusing

    def close(self) -> None:
        self._closed = True
        self.cut()
        try:
            self.listener.close()
        except OSError:
            pass


@dataclass
class Certificates:
    """A CA, a server certificate for 127.0.0.1 and localhost, and client certificates, as PEM files."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    other_client_cert: str
    other_client_key: str
    other_ca: str


def make_certificates(directory: str) -> Certificates:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=2)

    def write_key(name, key):
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        os.chmod(path, 0o600)
        return path

    def write_cert(name, cert):
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def make_ca(common_name):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def leaf(ca_key, ca_cert, common_name, usage, sans=None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    ca_key, ca_cert = make_ca("Lockbox test CA")
    other_key, other_cert = make_ca("Another CA")
    server_key, server_cert = leaf(
        ca_key, ca_cert, "lockboxd", ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client_key, client_cert = leaf(ca_key, ca_cert, "mail-store", ExtendedKeyUsageOID.CLIENT_AUTH)
    other_client_key, other_client_cert = leaf(ca_key, ca_cert, "someone-else", ExtendedKeyUsageOID.CLIENT_AUTH)
    return Certificates(
        ca=write_cert("ca.pem", ca_cert),
        server_cert=write_cert("server.pem", server_cert),
        server_key=write_key("server-key.pem", server_key),
        client_cert=write_cert("client.pem", client_cert),
        client_key=write_key("client-key.pem", client_key),
        other_client_cert=write_cert("other-client.pem", other_client_cert),
        other_client_key=write_key("other-client-key.pem", other_client_key),
        other_ca=write_cert("other-ca.pem", other_cert),
    )


class FakeConnection:
    def __init__(self, server: "FakeServer", sock: socket.socket, number: int):
        self.server = server
        self.sock = sock
        self.number = number
        self.frames: List = []
        self._lock = threading.Lock()

    def send(self, frame) -> None:
        body = frame.SerializeToString()
        with self._lock:
            self.sock.sendall(len(body).to_bytes(4, "big") + body)

    def answer(self, call_id: int, response=None, code: int = 0, message: str = "") -> None:
        frame = lockbox.pb.ResponseFrame(call_id=call_id)
        if response is not None:
            frame.payload = response.SerializeToString()
        frame.end.status.code = code
        frame.end.status.message = message
        self.send(frame)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeServer:
    """A loopback server speaking Lockbox's framing, whose answers a test scripts: the handler
    gets (connection, RequestFrame) for every frame read, and answers (or not) as it likes."""

    def __init__(self, handler):
        self.handler = handler
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections: List[FakeConnection] = []
        self.frames: List = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                connection = FakeConnection(self, sock, len(self.connections) + 1)
                self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _read(self, sock, size):
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self, connection: FakeConnection):
        try:
            while True:
                size = int.from_bytes(self._read(connection.sock, 4), "big")
                frame = lockbox.pb.RequestFrame.FromString(self._read(connection.sock, size) if size else b"")
                with self._lock:
                    self.frames.append((connection.number, frame))
                connection.frames.append(frame)
                self.handler(connection, frame)
        except (EOFError, OSError):
            return

    def frames_of(self, method: str):
        with self._lock:
            return [f for _, f in self.frames if f.header.method.endswith("/" + method)]

    def cancels(self):
        with self._lock:
            return [f for _, f in self.frames if f.cancel]

    def close(self):
        self.listener.close()
        for connection in list(self.connections):
            connection.close()
