"""Server-streaming calls as iterators: :class:`AsyncStream` (async) and :class:`Stream` (blocking)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Optional, TypeVar

from . import errors
from ._core import Channel, _Call, _with_deadline
from ._generated import StatusCode
from ._method import MethodInfo

if TYPE_CHECKING:
    from .client import _LoopThread

T = TypeVar("T")


class CallStatus(NamedTuple):
    """How a call ended: its code and the server's message."""

    code: StatusCode
    message: str


class AsyncStream(Generic[T]):
    """The messages of one server-streaming call, as an async iterator.

    The call is sent on first iteration (or by ``await stream.start()`` / ``async with``).
    A stream that ends with an error raises it (a :class:`lockbox.LockboxError`) from the
    iteration. Stopping early (``aclose()``, ``cancel()``, leaving ``async with``) sends the
    server a cancel frame: it stops the work and answers CANCELLED, and the connection and
    its other calls go on.
    """

    def __init__(self, channel: Channel, method: MethodInfo, payload: bytes, *, timeout: Optional[float], token: str):
        self._channel = channel
        self._method = method
        self._payload = payload
        self._timeout = timeout
        self._token = token
        self._deadline: Optional[float] = None
        self._call: Optional[_Call] = None
        self._done = False
        self._received = 0
        self._started_at = 0.0

    @property
    def method(self) -> str:
        return self._method.name

    @property
    def status(self) -> Optional[CallStatus]:
        """How the call ended, once the server said so (after a cancel: CANCELLED), else None."""
        call = self._call
        if call is None or call.status is None:
            return None
        return CallStatus(StatusCode(call.status[0]), call.status[1])

    async def start(self) -> "AsyncStream[T]":
        """Sends the call (idempotent)."""
        if self._call is None and not self._done:
            loop = asyncio.get_running_loop()
            if self._deadline is None and self._timeout is not None:
                self._deadline = loop.time() + self._timeout
            self._started_at = loop.time()
            self._call = await self._channel.open_stream(
                self._method, self._payload, deadline=self._deadline, token=self._token
            )
        return self

    def __aiter__(self) -> "AsyncStream[T]":
        return self

    async def __anext__(self) -> T:
        attempts = 1
        while True:
            if self._done:
                raise StopAsyncIteration
            try:
                await self.start()
            except BaseException:
                self._done = True
                raise
            call = self._call
            assert call is not None
            try:
                payload = await _with_deadline(call.next_payload(), self._deadline)
            except asyncio.TimeoutError:
                self.cancel()
                raise errors.DeadlineExceeded("deadline exceeded", method=self._method.name) from None
            except asyncio.CancelledError:
                self.cancel()
                raise
            except errors.LockboxError as error:
                if (
                    self._received == 0
                    and not call.cancel_sent
                    and self._channel.should_retry(self._method, error, attempts, self._deadline)
                ):
                    # Nothing was read yet, and the method only reads: send it again.
                    self._channel._observe(self._method, error.code, error.message, self._started_at, attempts, True)
                    await self._channel.backoff(self._method, attempts, self._deadline)
                    attempts += 1
                    self._call = None
                    continue
                self._done = True
                self._channel._observe(self._method, error.code, error.message, self._started_at, attempts, True)
                raise
            if payload is None:
                self._done = True
                self._channel._observe(self._method, StatusCode.OK, "", self._started_at, attempts, True)
                raise StopAsyncIteration
            self._received += 1
            try:
                return self._method.response_type.FromString(payload)
            except Exception as error:
                self.cancel()
                raise errors.Internal("cannot decode a %s message: %s" % (self._method.name, error), method=self._method.name)

    def cancel(self) -> None:
        """Stops the stream: a cancel frame goes to the server if the call is still running."""
        self._done = True
        call = self._call
        if call is not None and call.status is None:
            call.transport.cancel(call)

    async def aclose(self) -> None:
        self.cancel()

    async def wait_status(self, timeout: Optional[float] = None) -> Optional[CallStatus]:
        """Waits until the server ended the call (after a cancel: until it answered CANCELLED)."""
        call = self._call
        if call is None:
            return None
        try:
            await asyncio.wait_for(call.ended.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self.status

    async def __aenter__(self) -> "AsyncStream[T]":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        self.cancel()

    def _cancel_threadsafe(self) -> None:
        call = self._call
        if call is None or call.status is not None or call.cancel_sent:
            return
        try:
            call.transport.loop.call_soon_threadsafe(call.transport.cancel, call)
        except RuntimeError:  # the loop is closed: so is the connection
            pass

    def __del__(self) -> None:
        # A stream dropped without being closed: the server still hears that nobody reads it.
        try:
            self._cancel_threadsafe()
        except Exception:
            pass


_END = object()


async def _next_or_end(stream: AsyncStream):
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return _END


class Stream(Generic[T]):
    """The messages of one server-streaming call, as a blocking iterator.

    The call is already sent when the client method returns. Iterate it, or use it as a
    context manager; ``close()`` (or leaving the ``with`` block, or dropping the last
    reference) stops it early with a cancel frame: the server answers CANCELLED and the
    connection's other calls go on.
    """

    def __init__(self, runner: "_LoopThread", stream: AsyncStream):
        self._runner = runner
        self._stream = stream

    @property
    def method(self) -> str:
        return self._stream.method

    @property
    def status(self) -> Optional[CallStatus]:
        """How the call ended, once the server said so, else None."""
        return self._stream.status

    def __iter__(self) -> "Stream[T]":
        return self

    def __next__(self) -> T:
        item = self._runner.run(_next_or_end(self._stream))
        if item is _END:
            raise StopIteration
        return item

    def close(self) -> None:
        """Stops the stream (a cancel frame, when it is still running on the server)."""
        if self._runner.alive:
            self._runner.run(self._stream.aclose())

    cancel = close

    def wait_status(self, timeout: Optional[float] = None) -> Optional[CallStatus]:
        """Waits (at most ``timeout`` seconds) until the server ended the call; returns how."""
        return self._runner.run(self._stream.wait_status(timeout))

    def __enter__(self) -> "Stream[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
