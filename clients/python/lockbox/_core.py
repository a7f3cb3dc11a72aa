"""The protocol engine: one multiplexed connection at a time, on an asyncio event loop.

Both clients run on this: :class:`lockbox.AsyncClient` on the caller's loop, and
:class:`lockbox.Client` on a private loop in a background thread. Everything here runs on
that one loop, so no state needs a lock.

Framing and semantics follow docs/protocol.md: 4-byte big-endian length + RequestFrame /
ResponseFrame; call ids chosen here, unique per connection (never reused); relative deadlines
in header.timeout_ms; a cancel frame when a caller gives up on a call; GOAWAY (call id 0)
moves new calls to a new connection while the old one finishes.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import math
import random
import socket
import ssl
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, Optional, Set, Tuple

from google.protobuf.message import DecodeError

from . import errors
from ._generated import StatusCode
from ._method import MethodInfo
from ._proto import lockbox_pb2 as pb

log = logging.getLogger("lockbox")

DEFAULT_PORT = 7443
#: Largest response frame accepted (the server bounds requests at 4 MiB; responses are not bounded by the protocol).
MAX_RESPONSE_FRAME = 64 * 1024 * 1024
#: A stream whose consumer lags this far behind stops the connection's reading (back-pressure on the server) ...
STREAM_HIGH_WATER = 1024 * 1024
#: ... until it is down to this.
STREAM_LOW_WATER = 256 * 1024
#: A unary call's answer may arrive this long after its deadline and still be taken (the server
#: counts the deadline from when it reads the frame, so its own DEADLINE_EXCEEDED comes a bit later).
DEADLINE_GRACE = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off for calls that failed with UNAVAILABLE and may safely be sent again.

    A call is tried at most ``max_attempts`` times (``None``: no limit but its deadline),
    waiting ``initial_backoff`` seconds after the first failure, then ``multiplier`` times
    longer after each, up to ``max_backoff``, each wait varied by ``±jitter`` (a fraction).

    What is retried: connecting (nothing was sent yet, whatever the method), and calls of
    methods that only read (Get*, List*, Search*, Ping, streams before their first message),
    CheckAccess, CreateCheckpoint, and CreateAccessRequest (always sent with an idempotency
    key). Other state-changing calls that fail with UNAVAILABLE are raised at once: the
    change may or may not have happened, so read the state before acting again.
    """

    max_attempts: Optional[int] = 10
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th consecutive failure (1 for the first)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, failures - 1))
        return max(0.0, base * (1.0 + random.uniform(-self.jitter, self.jitter)))

    def allows(self, attempts: int) -> bool:
        """Whether another attempt may follow ``attempts`` attempts."""
        return self.max_attempts is None or attempts < self.max_attempts


#: Never retry.
NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass
class CallEvent:
    """What the ``observer`` of a client hears after each attempt of each call."""

    method: str
    code: StatusCode
    message: str
    duration: float
    attempt: int
    streaming: bool


@dataclass
class Stats:
    """Counters of a client's connections (for monitoring and tests)."""

    connect_attempts: int = 0
    connections_opened: int = 0
    calls_started: int = 0
    cancels_sent: int = 0
    goaways_received: int = 0
    retries: int = 0


@dataclass
class ConnectionSettings:
    host: str
    port: int
    ssl_context: Optional[ssl.SSLContext] = None
    server_hostname: Optional[str] = None
    connect_timeout: float = 5.0
    #: A connection with no call in flight for this long is closed by the client before its next
    #: call, rather than risk the server's idle timeout (5 min) closing it under that call.
    idle_timeout: float = 240.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    observer: Optional[Callable[[CallEvent], None]] = None

    @property
    def address(self) -> str:
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)


def parse_address(address: str) -> Tuple[str, int]:
    """``"host:port"``, ``"[::1]:7443"``, ``"host"`` (port 7443) into (host, port)."""
    address = address.strip()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        host, _, port = address.partition(":")
    else:
        host, port = address, ""
    if not host:
        raise ValueError("no host in address %r" % address)
    try:
        number = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError("bad port in address %r" % address) from None
    if not 0 < number < 65536:
        raise ValueError("bad port in address %r" % address)
    return host, number


def _not_sent(error: errors.LockboxError) -> errors.LockboxError:
    """Marks an error that happened before the call left this client: always safe to retry."""
    error._not_sent = True  # type: ignore[attr-defined]
    return error


def _timeout_ms(remaining: Optional[float]) -> int:
    if remaining is None:
        return 0
    return max(1, min(0xFFFFFFFF, int(math.ceil(remaining * 1000))))


class _Call:
    """One call in flight on a transport."""

    __slots__ = (
        "transport",
        "id",
        "method",
        "streaming",
        "future",
        "queue",
        "buffered",
        "waiter",
        "status",
        "error",
        "ended",
        "cancel_sent",
        "counted",
    )

    def __init__(self, transport: "_Transport", call_id: int, method: MethodInfo, streaming: bool):
        loop = transport.loop
        self.transport = transport
        self.id = call_id
        self.method = method
        self.streaming = streaming
        self.future: Optional[asyncio.Future] = None if streaming else loop.create_future()
        self.queue: Deque[bytes] = collections.deque()
        self.buffered = 0
        self.waiter: Optional[asyncio.Future] = None
        #: (code, message) once the call ended, as the server said (or as the connection failed).
        self.status: Optional[Tuple[int, str]] = None
        self.error: Optional[errors.LockboxError] = None
        self.ended = asyncio.Event()
        self.cancel_sent = False
        #: Counted among the transport's unary calls in flight (which keep it reading).
        self.counted = not streaming

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def deliver(self, payload: bytes) -> None:
        if self.cancel_sent or not self.streaming:
            return
        self.queue.append(payload)
        self.buffered += len(payload)
        self._wake()

    def finish(self, code: int, message: str, payload: bytes = b"") -> None:
        if self.status is not None:
            return
        self.status = (code, message)
        if code != StatusCode.OK:
            self.error = errors.error_for(code, message, method=self.method.name)
        self._end()
        if self.future is not None and not self.future.done():
            if self.error is not None:
                self.future.set_exception(self.error)
            else:
                self.future.set_result(payload)

    def fail(self, error: errors.LockboxError) -> None:
        """The connection ended before the call did."""
        if self.status is not None:
            return
        self.status = (int(error.code), error.message)
        self.error = error
        error.method = self.method.name
        self._end()
        if self.future is not None and not self.future.done():
            self.future.set_exception(error)

    def _end(self) -> None:
        if self.counted:
            self.counted = False
            self.transport.unary_in_flight -= 1
        self.ended.set()
        self._wake()
        self.transport.resume.set()

    def drop_messages(self) -> None:
        self.queue.clear()
        self.buffered = 0
        self.transport.resume.set()

    async def next_payload(self) -> Optional[bytes]:
        """The next message of a stream; None once it ended OK; raises its error otherwise."""
        while True:
            if self.cancel_sent:
                return None  # given up on here: the iteration ends
            if self.queue:
                payload = self.queue.popleft()
                self.buffered -= len(payload)
                if self.buffered < STREAM_LOW_WATER:
                    self.transport.resume.set()
                return payload
            if self.status is not None:
                if self.error is not None:
                    raise self.error
                return None
            self.waiter = self.transport.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None


class _Transport:
    """One TCP (or TLS) connection and the calls in flight on it."""

    def __init__(self, channel: "Channel", reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int):
        self.channel = channel
        self.loop = asyncio.get_running_loop()
        self.reader = reader
        self.writer = writer
        self.number = number
        self.calls: Dict[int, _Call] = {}
        self.ids = itertools.count(1)
        self.draining = False
        self.closed = False
        #: Said by the server on call id 0 before it closes the connection.
        self.connection_error: Optional[errors.LockboxError] = None
        #: Why the connection ended, once it did.
        self.close_error: Optional[errors.LockboxError] = None
        self.unary_in_flight = 0
        self.resume = asyncio.Event()
        self.resume.set()
        self.last_used = self.loop.time()
        self.task = self.loop.create_task(self._read_loop())

    @property
    def usable(self) -> bool:
        return not self.closed and not self.draining

    def idle_for(self) -> float:
        return 0.0 if self.calls else self.loop.time() - self.last_used

    def start_call(
        self, method: MethodInfo, payload: bytes, *, timeout_ms: int, token: str, key: str, streaming: bool
    ) -> _Call:
        if self.closed:
            if isinstance(self.close_error, errors.TLSError):
                # The server refused us in the TLS layer (a client certificate it does not accept).
                raise errors.TLSError(self.close_error.message, method=method.name)
            raise _not_sent(errors.Unavailable("connection closed", method=method.name))
        call_id = next(self.ids)
        call = _Call(self, call_id, method, streaming)
        self.calls[call_id] = call
        if not streaming:
            self.unary_in_flight += 1
            self.resume.set()
        header = pb.RequestHeader(
            call_id=call_id, method=method.full_name, timeout_ms=timeout_ms, auth_token=token, idempotency_key=key
        )
        self._write(pb.RequestFrame(header=header, payload=payload))
        self.channel.stats.calls_started += 1
        return call

    def _write(self, frame: pb.RequestFrame) -> None:
        body = frame.SerializeToString()
        self.writer.write(len(body).to_bytes(4, "big") + body)
        self.last_used = self.loop.time()

    async def drain(self, method: MethodInfo) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError) as error:
            raise errors.Unavailable("connection lost while sending: %s" % (error or type(error).__name__), method=method.name)

    def cancel(self, call: _Call) -> None:
        """Gives up on a call: a cancel frame goes to the server, which ends it with CANCELLED."""
        if call.cancel_sent:
            return
        call.cancel_sent = True
        call.drop_messages()
        call._wake()
        if call.future is not None and not call.future.done():
            call.future.cancel()
        if call.counted:
            call.counted = False
            self.unary_in_flight -= 1
        if call.status is not None or self.closed:
            return
        try:
            self._write(pb.RequestFrame(header=pb.RequestHeader(call_id=call.id), cancel=True))
            self.channel.stats.cancels_sent += 1
        except Exception:  # the connection is going away: the server cancels the call itself
            log.debug("cannot send the cancel of call %d", call.id, exc_info=True)

    def _should_pause(self) -> bool:
        if self.closed or self.unary_in_flight > 0:
            # A unary call waits for an answer only this reader can give: never stop for a stream then.
            return False
        return any(c.buffered > STREAM_HIGH_WATER for c in self.calls.values() if c.streaming and not c.cancel_sent)

    async def _read_loop(self) -> None:
        error: errors.LockboxError = errors.Unavailable("the server closed the connection")
        try:
            while True:
                head = await self.reader.readexactly(4)
                size = int.from_bytes(head, "big")
                if size > MAX_RESPONSE_FRAME:
                    error = errors.Unavailable("the server sent a frame of %d bytes, over the client's limit" % size)
                    break
                body = await self.reader.readexactly(size) if size else b""
                self.last_used = self.loop.time()
                try:
                    frame = pb.ResponseFrame.FromString(body)
                except DecodeError:
                    error = errors.Unavailable("the server sent a frame that is not a ResponseFrame")
                    break
                self._dispatch(frame)
                while self._should_pause():
                    self.resume.clear()
                    await self.resume.wait()
        except asyncio.IncompleteReadError:
            pass
        except ssl.SSLError as failure:
            error = errors.TLSError("TLS failed on %s: %s" % (self.channel.settings.address, failure))
        except (ConnectionError, OSError) as failure:
            error = errors.Unavailable("connection to %s lost: %s" % (self.channel.settings.address, failure))
        except asyncio.CancelledError:
            error = errors.Cancelled("the client was closed")
        finally:
            self._close(self.connection_error or error)

    def _dispatch(self, frame: pb.ResponseFrame) -> None:
        if frame.call_id == 0:
            status = frame.end.status if frame.HasField("end") else pb.Status()
            if frame.goaway:
                self.draining = True
                self.channel.stats.goaways_received += 1
                self.channel._on_goaway(self)
            elif status.code == StatusCode.INVALID_ARGUMENT:
                # A frame of ours was dropped: a bug of this client. The connection goes on.
                log.warning("lockbox server dropped a frame from this client: %s", status.message)
            elif status.code != StatusCode.OK:
                # The server closes the connection next (too many connections, unread responses...).
                self.connection_error = errors.error_for(status.code, "connection refused by the server: " + status.message)
                self.draining = True
            return
        call = self.calls.get(frame.call_id)
        if call is None:
            return  # a call we gave up on, or never had
        if frame.HasField("end"):
            del self.calls[frame.call_id]
            call.finish(frame.end.status.code, frame.end.status.message, frame.payload)
        else:
            call.deliver(frame.payload)

    def _close(self, error: errors.LockboxError) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_error = error
        calls = list(self.calls.values())
        self.calls.clear()
        for call in calls:
            # Each call gets an exception of its own (they are raised in different places).
            copy = errors.TLSError(error.message) if isinstance(error, errors.TLSError) else errors.error_for(error.code, error.message)
            call.fail(copy)
        try:
            self.writer.close()
        except Exception:
            pass
        self.resume.set()
        self.channel._on_closed(self)

    async def close(self) -> None:
        if not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except BaseException:
                pass
        self._close(errors.Cancelled("the client was closed"))


async def _with_deadline(awaitable, deadline: Optional[float]):
    if deadline is None:
        return await awaitable
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise asyncio.TimeoutError()
    return await asyncio.wait_for(awaitable, remaining)


class Channel:
    """Calls over one connection at a time, opened (again) as needed, with back-off."""

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings
        self.stats = Stats()
        self.transport: Optional[_Transport] = None
        self._old: Set[_Transport] = set()
        self._connecting: Optional[asyncio.Task] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.closed = False

    # -- connections ---------------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        elif self.loop is not loop:
            raise RuntimeError("this Lockbox client belongs to another event loop: make one client per loop")
        return loop

    def _on_goaway(self, transport: _Transport) -> None:
        if self.transport is transport:
            self.transport = None
            self._old.add(transport)

    def _on_closed(self, transport: _Transport) -> None:
        if self.transport is transport:
            self.transport = None
        self._old.discard(transport)

    async def _connect(self) -> _Transport:
        settings = self.settings
        self.stats.connect_attempts += 1
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    settings.host,
                    settings.port,
                    ssl=settings.ssl_context,
                    server_hostname=(settings.server_hostname or settings.host) if settings.ssl_context else None,
                    limit=64 * 1024,
                ),
                settings.connect_timeout,
            )
        except ssl.SSLError as error:
            raise errors.TLSError("TLS handshake with %s failed: %s" % (settings.address, error)) from None
        except asyncio.TimeoutError:
            raise _not_sent(errors.Unavailable("cannot connect to %s: timed out" % settings.address)) from None
        except OSError as error:
            raise _not_sent(
                errors.Unavailable("cannot connect to %s: %s" % (settings.address, error.strerror or error))
            ) from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if hasattr(socket, "TCP_KEEPIDLE"):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
            except OSError:
                pass
        if self.closed:
            writer.close()
            raise errors.Cancelled("the client was closed")
        self.stats.connections_opened += 1
        transport = _Transport(self, reader, writer, self.stats.connections_opened)
        self.transport = transport
        return transport

    async def transport_for(self, method: MethodInfo, deadline: Optional[float]) -> _Transport:
        loop = self._bind()
        if self.closed:
            raise errors.Cancelled("the client is closed", method=method.name)
        transport = self.transport
        if transport is not None and transport.usable:
            if transport.idle_for() < self.settings.idle_timeout:
                return transport
            # Idle long enough that the server may be closing it: start afresh.
            self.transport = None
            await transport.close()
        if self._connecting is None or self._connecting.done():
            self._connecting = loop.create_task(self._connect())
        task = self._connecting
        try:
            return await _with_deadline(asyncio.shield(task), deadline)
        except asyncio.CancelledError:
            if self.closed and task.cancelled():
                raise errors.Cancelled("the client was closed", method=method.name) from None
            raise
        except asyncio.TimeoutError:
            raise _not_sent(errors.DeadlineExceeded("deadline exceeded while connecting", method=method.name)) from None
        except errors.LockboxError as error:
            error.method = method.name
            raise
        finally:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: every waiter got it

    async def close(self) -> None:
        self.closed = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        transports = ([self.transport] if self.transport else []) + list(self._old)
        self.transport = None
        self._old.clear()
        for transport in transports:
            await transport.close()

    # -- retries ---------------------------------------------------------------------------

    def _observe(self, method: MethodInfo, code: int, message: str, started: float, attempt: int, streaming: bool):
        observer = self.settings.observer
        if observer is None:
            return
        try:
            observer(
                CallEvent(method.name, StatusCode(code), message, asyncio.get_running_loop().time() - started, attempt, streaming)
            )
        except Exception:
            log.exception("the Lockbox client's observer failed")

    def should_retry(self, method: MethodInfo, error: errors.LockboxError, attempts: int, deadline: Optional[float]) -> bool:
        if self.closed or isinstance(error, errors.TLSError) or not self.settings.retry.allows(attempts):
            return False
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            return False
        if getattr(error, "_not_sent", False) and error.code == StatusCode.UNAVAILABLE:
            return True
        return error.code == StatusCode.UNAVAILABLE and method.safe_to_retry

    async def backoff(self, method: MethodInfo, failures: int, deadline: Optional[float]) -> None:
        delay = self.settings.retry.delay(failures)
        if deadline is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= delay:
                raise errors.DeadlineExceeded("deadline exceeded while waiting to retry", method=method.name)
        self.stats.retries += 1
        await asyncio.sleep(delay)

    # -- calls -----------------------------------------------------------------------------

    async def unary(self, method: MethodInfo, payload: bytes, *, timeout: Optional[float], token: str, key: str):
        """One unary call (retried when safe); returns the decoded response."""
        loop = self._bind()
        deadline = None if timeout is None else loop.time() + timeout
        attempts = 0
        while True:
            attempts += 1
            started = loop.time()
            try:
                answer = await self._unary_once(method, payload, deadline, token, key)
            except errors.LockboxError as error:
                self._observe(method, error.code, error.message, started, attempts, False)
                if not self.should_retry(method, error, attempts, deadline):
                    raise
                log.debug("retrying %s after %s", method.name, error)
                await self.backoff(method, attempts, deadline)
                continue
            self._observe(method, StatusCode.OK, "", started, attempts, False)
            try:
                return method.response_type.FromString(answer)
            except DecodeError as error:
                raise errors.Internal("cannot decode the %s response: %s" % (method.name, error), method=method.name)

    async def _unary_once(self, method: MethodInfo, payload: bytes, deadline: Optional[float], token: str, key: str):
        loop = asyncio.get_running_loop()
        transport = await self.transport_for(method, deadline)
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise _not_sent(errors.DeadlineExceeded("deadline exceeded before the call was sent", method=method.name))
        call = transport.start_call(method, payload, timeout_ms=_timeout_ms(remaining), token=token, key=key, streaming=False)
        assert call.future is not None
        try:
            await transport.drain(method)
            if deadline is None:
                return await call.future
            return await asyncio.wait_for(asyncio.shield(call.future), max(0.0, deadline - loop.time()) + DEADLINE_GRACE)
        except asyncio.TimeoutError:
            transport.cancel(call)
            raise errors.DeadlineExceeded("deadline exceeded", method=method.name) from None
        except asyncio.CancelledError:
            transport.cancel(call)
            raise
        except errors.LockboxError:
            if call.status is None:
                transport.cancel(call)
            raise

    async def open_stream(self, method: MethodInfo, payload: bytes, *, deadline: Optional[float], token: str) -> _Call:
        """Sends a streaming call (retrying the connection with back-off); returns it in flight."""
        loop = self._bind()
        attempts = 0
        while True:
            attempts += 1
            started = loop.time()
            try:
                transport = await self.transport_for(method, deadline)
                remaining = None if deadline is None else deadline - loop.time()
                call = transport.start_call(method, payload, timeout_ms=_timeout_ms(remaining), token=token, key="", streaming=True)
                try:
                    await transport.drain(method)
                except errors.LockboxError:
                    transport.cancel(call)
                    raise
                return call
            except errors.LockboxError as error:
                self._observe(method, error.code, error.message, started, attempts, True)
                if not self.should_retry(method, error, attempts, deadline):
                    raise
                await self.backoff(method, attempts, deadline)
