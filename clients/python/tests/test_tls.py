"""TLS and mutual TLS with the standard ssl module, against lockboxd started with
--tls-cert-file/--tls-key-file (and --tls-client-ca-file), on certificates made here."""

from __future__ import annotations

import hashlib
import ssl

import pytest

import lockbox
from lockbox import StatusCode

from support import eventually, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def tls_server(servers, certificates):
    return servers.start(tls={"cert": certificates.server_cert, "key": certificates.server_key})


@pytest.fixture(scope="module")
def mtls_server(servers, certificates):
    return servers.start(tls={"cert": certificates.server_cert, "key": certificates.server_key,
                              "client_ca": certificates.ca})


def test_tls_checks_the_server_against_the_ca(tls_server, certificates, world):
    with lockbox.Client(tls_server.address, ca_file=certificates.ca, token=world.auditor) as client:
        assert client.ping().version
        assert client.list_signing_keys().keys
        transport = client._channel.transport
        assert transport.writer.get_extra_info("ssl_object").version() == "TLSv1.3"
    # The certificate names localhost too.
    with lockbox.Client("localhost:%d" % tls_server.port, ca_file=certificates.ca) as client:
        assert client.ping().version


def test_tls_refuses_a_server_it_cannot_trust(tls_server, certificates):
    with lockbox.Client(tls_server.address, ca_file=certificates.other_ca) as client:
        with pytest.raises(lockbox.TLSError) as info:
            client.ping()
        assert info.value.code == StatusCode.UNAVAILABLE and "certificate" in info.value.message.lower()
        assert client.stats.connect_attempts == 1, "a certificate that cannot be trusted is not retried"
    # The right CA but the wrong name.
    with lockbox.Client(tls_server.address, ca_file=certificates.ca, server_hostname="lockbox.example.com") as client:
        with pytest.raises(lockbox.TLSError):
            client.ping()
    # Plaintext against a TLS port gets nowhere.
    with lockbox.Client(tls_server.address, plaintext=True, retry=None, connect_timeout=5) as client:
        with pytest.raises(lockbox.LockboxError):
            client.ping(timeout=15)


def test_mutual_tls(mtls_server, certificates, world):
    with lockbox.Client(mtls_server.address, ca_file=certificates.ca, cert_file=certificates.client_cert,
                        key_file=certificates.client_key) as client:
        assert client.ping().version
    # Without a client certificate the server refuses the connection. In TLS 1.3 its refusal
    # comes after the client's side of the handshake is done, so the client hears it either as
    # the server's alert (TLSError, never retried) or, when its request crossed the refusal, as
    # a reset (UNAVAILABLE, which a safe call may retry). Either way the call fails UNAVAILABLE.
    with lockbox.Client(mtls_server.address, ca_file=certificates.ca, retry=None) as client:
        with pytest.raises(lockbox.Unavailable) as info:
            client.ping()
        assert info.value.code == StatusCode.UNAVAILABLE
        assert client.stats.connect_attempts == 1
    # A ready SSLContext works as well.
    context = lockbox.tls_context(certificates.ca, certificates.client_cert, certificates.client_key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    with lockbox.Client(mtls_server.address, ssl_context=context) as client:
        assert client.ping().version


def test_a_principal_bound_to_its_certificate(mtls_server, server, certificates, world, client):
    """BindCertificate: the service's token then works only over mutual TLS with its certificate."""
    der = ssl.PEM_cert_to_DER_cert(open(certificates.client_cert).read())
    client.bind_certificate(principal_id=world.service_id, certificate_sha256=hashlib.sha256(der).digest(),
                            auth_token=world.provider_admin)
    check = dict(tenant_id="contoso", service="exchange", operator_id=world.operator_id, operation="Get-Mailbox",
                 client_ip="192.0.2.1")
    try:
        with lockbox.Client(mtls_server.address, ca_file=certificates.ca, cert_file=certificates.client_cert,
                            key_file=certificates.client_key, token=world.service) as bound:
            decision = bound.check_access(**check)  # answered: a denial is not an error
            assert not decision.allowed and decision.reason != lockbox.pb.ACCESS_DENY_REASON_UNSPECIFIED
        with lockbox.Client(mtls_server.address, ca_file=certificates.ca, cert_file=certificates.other_client_cert,
                            key_file=certificates.other_client_key, token=world.service) as other:
            with pytest.raises(lockbox.Unauthenticated, match="client certificate"):
                other.check_access(**check)
        with pytest.raises(lockbox.Unauthenticated):
            client.check_access(auth_token=world.service, **check)  # plaintext: no certificate at all
    finally:
        client.bind_certificate(principal_id=world.service_id, certificate_sha256=b"", auth_token=world.provider_admin)
    # Unbinding loosens: lockboxd admits the cached caller before it confirms it in the database, so the
    # refusal may last until the change notification reaches its token cache (a moment).

    def admitted():
        try:
            return client.check_access(auth_token=world.service, **check)
        except lockbox.Unauthenticated:
            return None

    assert eventually(admitted, "the unbinding to reach the token cache", interval=0.1).reason == decision.reason
