"""The blocking client: :class:`Client`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import ssl
import threading
import weakref
from typing import Any, Callable, Coroutine, Dict, Optional, TypeVar

from google.protobuf.message import Message

from . import errors
from ._base import DEFAULT_TIMEOUT, _Options, make_settings
from ._core import CallEvent, Channel, RetryPolicy, Stats
from ._generated import METHODS, SyncMethods
from ._method import DEFAULT, MethodInfo, Timeout, build_request
from ._paging import Pager
from ._stream import AsyncStream, Stream
from ._trust_calls import SyncTrustCalls
from .export import ExportResult, ProgressCallback, _FileWriter, export_format, format_name
from .watch import WATCH_RETRY, AsyncWatch, Watch

T = TypeVar("T")


class _LoopThread:
    """A private event loop in a daemon thread, on which a blocking client's connection runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="lockbox-client", daemon=True)
        self._stopped = False
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(self.loop)
                for task in pending:
                    task.cancel()
                if pending:
                    self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                self.loop.close()

    @property
    def alive(self) -> bool:
        return not self._stopped and self.thread.is_alive()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs ``coroutine`` on the loop and waits for it; an interrupt cancels it there."""
        if threading.current_thread() is self.thread:
            coroutine.close()
            raise RuntimeError(
                "a blocking Lockbox client was called from its own thread (an observer?): use AsyncClient there"
            )
        if not self.alive:
            coroutine.close()
            raise errors.Cancelled("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except errors.LockboxError as error:
            # The frames of the client's own thread say nothing to the caller: raise it from here.
            raise error.with_traceback(None) from None
        except concurrent.futures.CancelledError:
            if not self.alive:
                raise errors.Cancelled("the client was closed") from None
            raise
        except BaseException:
            if not future.done():
                future.cancel()  # KeyboardInterrupt and the like: the call is cancelled (cancel frame)
            raise

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:
            return
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=10)


def _shutdown(runner: _LoopThread, channel: Channel) -> None:
    if runner.alive and threading.current_thread() is runner.thread:
        # Collected on its own thread: close without waiting for itself.
        runner.loop.create_task(channel.close()).add_done_callback(lambda _: runner.stop())
        return
    if runner.alive:
        try:
            future = asyncio.run_coroutine_threadsafe(channel.close(), runner.loop)
            future.result(timeout=10)
        except Exception:
            pass
        runner.stop()


class Client(SyncTrustCalls, SyncMethods):
    """A blocking Lockbox client: one connection, any number of concurrent calls, thread-safe.

    ::

        with lockbox.Client("lockbox.example.com:7443", token=TOKEN, ca_file="ca.pem") as client:
            print(client.ping().version)
            for request in client.list_access_requests(tenant_id="contoso", status="pending_customer"):
                client.decide_customer(request_id=request.id, decision="approve", comment="ok")

    Every rpc of ``service Lockbox`` is a method named in snake_case (``create_access_request``,
    ``decide_customer``, ...). Each takes the request message, or its fields as keyword
    arguments (enums by number, full name or short name: ``service="exchange"``; wrapper
    fields such as ``Int64Value`` from plain ints), and these options:

    - ``timeout``: the call's deadline in seconds (``None``: no deadline); by default the
      client's ``timeout`` for unary calls and ``stream_timeout`` for streams. It travels as
      ``header.timeout_ms`` and is enforced here too: past it the call is cancelled on the
      server and :class:`lockbox.DeadlineExceeded` is raised.
    - ``auth_token``: the bearer token for this call instead of the client's ``token``.
    - ``idempotency_key`` (create calls): ``CreateAccessRequest`` gets a fresh one per call
      when none is given, so that its retries cannot file a request twice.

    Unary methods return the response message. Paged lists (``page_token``/``next_page_token``,
    or ``after_seq`` for checkpoints) return a :class:`lockbox.Pager`: iterate it for every item
    of every page. Streams (``watch_access_requests``, ``export_audit``) return a
    :class:`lockbox.Stream`, already sent: iterate it; ``close()`` it (or leave its ``with``
    block) to stop early, which sends the cancel frame. :meth:`watch` resumes by itself;
    :meth:`export_audit_to_file` writes an export with progress.

    Errors raise :class:`lockbox.LockboxError` subclasses carrying ``.code`` and ``.message``.

    Arguments:

    - ``address``: ``"host:port"`` (port 7443 when left out; ``"[::1]:7443"`` for IPv6).
    - ``token``: the bearer token of calls that do not pass ``auth_token``.
    - TLS (the default): ``ca_file`` to trust (else the system's CAs), ``cert_file`` and
      ``key_file`` for mutual TLS, or a ready ``ssl_context`` (see :func:`lockbox.tls_context`);
      ``server_hostname`` when the certificate names something else than ``address``'s host.
      ``plaintext=True`` speaks plain TCP (lockboxd ``--plaintext``: loopback and tests only).
    - ``timeout`` (30 s), ``stream_timeout`` (none), ``connect_timeout`` (5 s).
    - ``retry``: a :class:`lockbox.RetryPolicy` for connecting and for calls that may safely be
      sent again after UNAVAILABLE; ``None`` never retries.
    - ``observer``: called with a :class:`lockbox.CallEvent` after every attempt of every call
      (for logs and metrics); it runs on the client's thread and must not call the client.

    The connection runs on an event loop in a daemon thread of the client's own. Close the
    client (or use ``with``) to stop it.
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
        self._runner = _LoopThread()
        self._options = _Options(token, timeout, stream_timeout)
        self._owner = True
        self._finalizer = weakref.finalize(self, _shutdown, self._runner, self._channel)

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
        return "<lockbox.Client %s %s>" % (settings.address, "TLS" if settings.ssl_context else "plaintext")

    def with_token(self, token: str) -> "Client":
        """A client for another principal over the same connection (closing it closes nothing).

        A portal backend keeps one :class:`Client` and calls ``client.with_token(user_token)``
        per signed-in user."""
        view = object.__new__(type(self))
        view._channel = self._channel
        view._runner = self._runner
        view._options = _Options(token, self._options.timeout, self._options.stream_timeout)
        view._owner = False
        view._parent = self  # keeps the owner (and its connection) alive while the view is used
        return view

    def close(self) -> None:
        """Closes the connection and stops the client's thread; calls in flight fail with CANCELLED."""
        if self._owner:
            self._finalizer()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what the generated methods call -------------------------------------------------------

    def _call_unary(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ):
        message = build_request(method, request, fields)
        return self._runner.run(
            self._channel.unary(
                method,
                message.SerializeToString(),
                timeout=self._options.timeout_for(timeout, False),
                token=self._options.token_for(auth_token),
                key=self._options.key_for(method, idempotency_key),
            )
        )

    def _call_paged(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ) -> Pager:
        message = build_request(method, request, fields)
        seconds = self._options.timeout_for(timeout, False)
        token = self._options.token_for(auth_token)

        def fetch(page_request: Message):
            return self._runner.run(
                self._channel.unary(method, page_request.SerializeToString(), timeout=seconds, token=token, key="")
            )

        return Pager(method, message, fetch(message), fetch)

    def _call_stream(
        self, method: MethodInfo, request: Optional[Message], fields: Dict[str, Any], timeout: Timeout,
        auth_token: Optional[str], idempotency_key: Optional[str],
    ) -> Stream:
        message = build_request(method, request, fields)
        stream: AsyncStream = AsyncStream(
            self._channel,
            method,
            message.SerializeToString(),
            timeout=self._options.timeout_for(timeout, True),
            token=self._options.token_for(auth_token),
        )
        self._runner.run(stream.start())
        result = Stream(self._runner, stream)
        result._client = self  # the client (and its thread) lives as long as its streams
        return result

    # -- the asyncio machinery's view of this client (for AsyncWatch) -------------------------

    def _async_twin(self):
        """An AsyncClient on this client's loop and connection (used by the watch)."""
        from .aio import AsyncClient

        twin = object.__new__(AsyncClient)
        twin._channel = self._channel
        twin._options = self._options
        twin._owner = False
        return twin

    # -- helpers over the generated methods ----------------------------------------------------

    def watch(
        self, tenant_id: str = "", *, since: int = 0, retry: RetryPolicy = WATCH_RETRY, auth_token: Optional[str] = None
    ) -> Watch:
        """Watches access requests, resuming from its cursor after a lost connection (see
        :mod:`lockbox.watch`). Returns once subscribed (the live marker arrived): list the
        requests then, and iterate the watch for every change after. ``since``: resume after
        this event id (a cursor kept from before). Raises :class:`lockbox.WatchResyncRequired`
        (an ``OUT_OF_RANGE``) when it cannot resume: list again, then watch anew."""
        watch = AsyncWatch(self._async_twin(), tenant_id=tenant_id, since=since, retry=retry, auth_token=auth_token)
        self._runner.run(watch.start())
        result = Watch(self._runner, watch)
        result._client = self
        return result

    def export_audit_to_file(
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
        """Runs ``ExportAudit`` into ``path`` in constant memory (see :mod:`lockbox.export`).

        ``format``: ``"json_lines"`` (NDJSON) or ``"csv"``; ``include_integrity``: the tenant's
        (or provider-wide) hash chain with signed checkpoints, to check with
        :func:`lockbox.integrity.verify_export`. ``progress`` is called with an
        :class:`~lockbox.export.ExportProgress` after each chunk written. The file appears
        (atomically) only once the export ended OK; on an error nothing is left behind."""
        number = export_format(format)
        writer = _FileWriter(os.fspath(path), progress)
        try:
            with self.export_audit(
                tenant_id=tenant_id, from_ms=from_ms, to_ms=to_ms, format=number, include_integrity=include_integrity,
                timeout=timeout, auth_token=auth_token,
            ) as stream:
                for chunk in stream:
                    writer.write(chunk.data)
            result = writer.commit()
        except BaseException:
            writer.abandon()
            raise
        return ExportResult(*result, format=format_name(number), include_integrity=include_integrity)
