"""The asyncio client: :class:`AsyncClient`, the same surface as :class:`lockbox.Client`."""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Any, Callable, Dict, Optional

from google.protobuf.message import Message

from ._base import DEFAULT_TIMEOUT, _Options, make_settings
from ._core import CallEvent, Channel, RetryPolicy, Stats
from ._generated import METHODS, AsyncMethods
from ._method import DEFAULT, MethodInfo, Timeout, build_request
from ._paging import AsyncPager
from ._stream import AsyncStream
from ._trust_calls import AsyncTrustCalls
from .export import ExportResult, ProgressCallback, _FileWriter, export_format, format_name
from .watch import WATCH_RETRY, AsyncWatch


class AsyncClient(AsyncTrustCalls, AsyncMethods):
    """A Lockbox client for asyncio: one connection, any number of concurrent calls.

    ::

        async with lockbox.AsyncClient("lockbox.example.com:7443", token=TOKEN, ca_file="ca.pem") as client:
            print((await client.ping()).version)
            async for request in await client.list_access_requests(tenant_id="contoso"):
                ...

    Every rpc of ``service Lockbox`` is a method (``create_access_request``, ...): unary ones
    are coroutines returning the response message; paged lists are coroutines returning an
    :class:`~lockbox.AsyncPager` (``async for item in pager``); streams return an
    :class:`~lockbox.AsyncStream` at once (``async for message in stream``). Each takes the
    request message, or its fields as keyword arguments, plus ``timeout`` (seconds; ``None``
    for no deadline), ``auth_token`` (instead of the client's ``token``) and, for create
    calls, ``idempotency_key``.

    The connection opens on the first call and again when it was lost or the server sent
    GOAWAY, with back-off (``retry``). The client belongs to the event loop of its first call.
    See :class:`lockbox.Client` for every argument.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:7443",
        *,
        token: str = "",
        plaintext: bool = False,
        ssl_context: Optional[ssl.SSLContext] = None,
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        stream_timeout: Optional[float] = None,
        connect_timeout: float = 5.0,
        retry: Optional[RetryPolicy] = RetryPolicy(),
        observer: Optional[Callable[[CallEvent], None]] = None,
    ):
        settings = make_settings(
            address,
            plaintext=plaintext,
            ssl_context=ssl_context,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            server_hostname=server_hostname,
            connect_timeout=connect_timeout,
            retry=retry,
            observer=observer,
        )
        self._channel = Channel(settings)
        self._options = _Options(token, timeout, stream_timeout)
        self._owner = True

    @property
    def methods(self) -> Dict[str, MethodInfo]:
        """Every rpc of ``service Lockbox``, by its proto name."""
        return METHODS

    @property
    def stats(self) -> Stats:
        """Counters of this client's connection: connections opened, calls, cancels, retries."""
        return self._channel.stats

    def __repr__(self) -> str:
        settings = self._channel.settings
        return "<lockbox.AsyncClient %s %s>" % (settings.address, "TLS" if settings.ssl_context else "plaintext")

    def with_token(self, token: str) -> "AsyncClient":
        """A client for another principal over the same connection (closing it closes nothing)."""
        view = object.__new__(type(self))
        view._channel = self._channel
        view._options = _Options(token, self._options.timeout, self._options.stream_timeout)
        view._owner = False
        return view

    async def close(self) -> None:
        """Closes the connection; calls in flight fail with CANCELLED."""
        if self._owner:
            await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- what the generated methods call -------------------------------------------------------

    async def _call_unary(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ):
        message = build_request(method, request, fields)
        return await self._channel.unary(
            method,
            message.SerializeToString(),
            timeout=self._options.timeout_for(timeout, False),
            token=self._options.token_for(auth_token),
            key=self._options.key_for(method, idempotency_key),
        )

    async def _call_paged(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ) -> AsyncPager:
        message = build_request(method, request, fields)
        seconds = self._options.timeout_for(timeout, False)
        token = self._options.token_for(auth_token)

        async def fetch(page_request: Message):
            return await self._channel.unary(method, page_request.SerializeToString(), timeout=seconds, token=token, key="")

        return AsyncPager(method, message, await fetch(message), fetch)

    def _call_stream(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ) -> AsyncStream:
        message = build_request(method, request, fields)
        return AsyncStream(
            self._channel,
            method,
            message.SerializeToString(),
            timeout=self._options.timeout_for(timeout, True),
            token=self._options.token_for(auth_token),
        )

    # -- helpers over the generated methods ----------------------------------------------------

    async def watch(
        self, tenant_id: str = "", *, since: int = 0, retry: RetryPolicy = WATCH_RETRY, auth_token: Optional[str] = None
    ) -> AsyncWatch:
        """Watches access requests, resuming from its cursor after a lost connection (see
        :mod:`lockbox.watch`). Returns once subscribed (the live marker arrived): list the
        requests then, and iterate the watch for every change after. ``since``: resume after
        this event id (a cursor kept from before)."""
        return await AsyncWatch(self, tenant_id=tenant_id, since=since, retry=retry, auth_token=auth_token).start()

    async def export_audit_to_file(
        self,
        path: "os.PathLike[str] | str",
        *,
        tenant_id: str = "",
        from_ms: int = 0,
        to_ms: int = 0,
        format: Any = "json_lines",
        include_integrity: bool = False,
        progress: Optional[ProgressCallback] = None,
        timeout: Timeout = DEFAULT,
        auth_token: Optional[str] = None,
    ) -> ExportResult:
        """Runs ``ExportAudit`` into ``path`` (see :mod:`lockbox.export`); ``progress`` is called
        after each chunk. The file appears only once the export ended OK."""
        number = export_format(format)
        writer = _FileWriter(os.fspath(path), None)
        stream = self.export_audit(
            tenant_id=tenant_id, from_ms=from_ms, to_ms=to_ms, format=number, include_integrity=include_integrity,
            timeout=timeout, auth_token=auth_token,
        )
        try:
            async with stream:
                async for chunk in stream:
                    # Disk writes run off the event loop.
                    done = await asyncio.get_running_loop().run_in_executor(None, writer.write, chunk.data)
                    if progress is not None:
                        progress(done)
            result = await asyncio.get_running_loop().run_in_executor(None, writer.commit)
        except BaseException:
            writer.abandon()
            raise
        return ExportResult(*result, format=format_name(number), include_integrity=include_integrity)
