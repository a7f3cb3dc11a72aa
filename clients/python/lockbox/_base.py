"""What the blocking and the asyncio client share: settings, TLS, per-call options."""

from __future__ import annotations

import ssl
import uuid
from typing import Callable, Optional

from ._core import CallEvent, ConnectionSettings, RetryPolicy, parse_address
from ._method import DEFAULT, MethodInfo, Timeout

#: Default deadline of unary calls, in seconds (the server's own default is 60 s).
DEFAULT_TIMEOUT = 30.0


def tls_context(
    ca_file: Optional[str] = None,
    cert_file: Optional[str] = None,
    key_file: Optional[str] = None,
    *,
    ca_data: Optional[str] = None,
    minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ssl.SSLContext:
    """An ``ssl.SSLContext`` for Lockbox: checks the server's certificate against ``ca_file``
    (or ``ca_data``, PEM text; or the system's CAs when neither is given) and the host name or
    IP address connected to; presents ``cert_file``/``key_file`` for mutual TLS.

    lockboxd speaks TLS 1.3 by default (``--tls-min-version 1.2`` admits 1.2), with no ALPN.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file, cadata=ca_data)
    context.minimum_version = minimum_version
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    elif key_file:
        raise ValueError("key_file without cert_file")
    return context


def make_settings(
    address: str,
    *,
    plaintext: bool,
    ssl_context: Optional[ssl.SSLContext],
    ca_file: Optional[str],
    cert_file: Optional[str],
    key_file: Optional[str],
    server_hostname: Optional[str],
    connect_timeout: float,
    retry: Optional[RetryPolicy],
    observer: Optional[Callable[[CallEvent], None]],
) -> ConnectionSettings:
    host, port = parse_address(address)
    if plaintext:
        if ssl_context is not None or ca_file or cert_file or key_file:
            raise ValueError("plaintext=True with TLS settings: choose one")
        context = None
    else:
        context = ssl_context or tls_context(ca_file, cert_file, key_file)
    return ConnectionSettings(
        host=host,
        port=port,
        ssl_context=context,
        server_hostname=server_hostname,
        connect_timeout=connect_timeout,
        retry=retry if retry is not None else RetryPolicy(max_attempts=1),
        observer=observer,
    )


class _Options:
    """Per-client defaults: the token, and the deadline of unary calls and of streams."""

    def __init__(self, token: str, timeout: Optional[float], stream_timeout: Optional[float]):
        self.token = token
        self.timeout = timeout
        self.stream_timeout = stream_timeout

    def timeout_for(self, timeout: Timeout, streaming: bool) -> Optional[float]:
        if timeout is DEFAULT:
            return self.stream_timeout if streaming else self.timeout
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None for no deadline)")
        return None if timeout is None else float(timeout)

    def token_for(self, auth_token: Optional[str]) -> str:
        return self.token if auth_token is None else auth_token

    @staticmethod
    def key_for(method: MethodInfo, key: Optional[str]) -> str:
        if key:
            return key
        if method.keyed:
            # One key for every attempt of this call: a retry returns the original result.
            return uuid.uuid4().hex
        return ""
