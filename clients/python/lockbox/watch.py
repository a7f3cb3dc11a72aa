"""Watching access requests, resuming by itself after a lost connection.

A watch (``WatchAccessRequests``) first sends a *live marker*: from then on every change the
caller may see is delivered, in feed order, each once, with its ``event_id``. The
:class:`Watch` here keeps the last ``event_id`` it handed out (its ``cursor``); when its
connection drops, the server drains or is overloaded, it watches again with
``since=cursor`` (after a back-off), so that the events committed meanwhile arrive first, once
and in order, and then the new ones. Live markers are consumed here, never yielded.

When it cannot resume, because the feed no longer keeps the events after the cursor
(``OUT_OF_RANGE``: retention, a restored database) or because no event was seen on an empty
feed (cursor 0), it raises :class:`lockbox.WatchResyncRequired`: list the requests again, then
start a new watch. The recommended pattern (docs/notifications.md)::

    with client.watch(tenant_id="contoso") as watch:     # subscribed: the live marker arrived
        for request in client.list_access_requests(tenant_id="contoso"):
            show(request)                                 # the state now
        for event in watch:                               # every change after the marker
            show(event.request)
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Optional

from . import errors
from ._core import RetryPolicy
from ._proto import lockbox_pb2 as pb
from ._stream import AsyncStream, _next_or_end, _END

if TYPE_CHECKING:
    from .aio import AsyncClient
    from .client import _LoopThread

log = logging.getLogger("lockbox")

#: How a watch reconnects: without limit, waiting up to 10 s between attempts.
WATCH_RETRY = RetryPolicy(max_attempts=None, initial_backoff=0.1, max_backoff=10.0)


def _can_resume(error: errors.LockboxError) -> bool:
    if isinstance(error, errors.TLSError):
        return False
    # UNAVAILABLE: connection lost, server draining or overloaded. RESOURCE_EXHAUSTED: the
    # server may still count our previous watch against the per-principal limit for a moment.
    # CANCELLED: the server cancelled it (it cut off the connection).
    return isinstance(error, (errors.Unavailable, errors.ResourceExhausted, errors.Cancelled))


class AsyncWatch:
    """An async iterator of :class:`pb.AccessRequestEvent` that resumes from its cursor.

    Made (and started) by :meth:`lockbox.AsyncClient.watch`.
    """

    def __init__(
        self,
        client: "AsyncClient",
        *,
        tenant_id: str = "",
        since: int = 0,
        retry: RetryPolicy = WATCH_RETRY,
        auth_token: Optional[str] = None,
    ):
        self._client = client
        self.tenant_id = tenant_id
        #: The last event id handed out (or the live marker's, before any event): pass it as
        #: ``since`` to resume elsewhere, or keep it across restarts.
        self.cursor = since
        #: How many times the watch was opened again after losing its stream.
        self.reconnects = 0
        #: Why the stream was last lost (None before it ever was).
        self.last_error: Optional[errors.LockboxError] = None
        #: The live marker of the stream in use.
        self.live_marker: Optional[pb.AccessRequestEvent] = None
        self._retry = retry
        self._auth_token = auth_token
        self._stream: Optional[AsyncStream] = None
        self._closed = False

    async def start(self) -> "AsyncWatch":
        """Opens the watch and waits for its live marker (idempotent)."""
        if self._stream is None and not self._closed:
            await self._open()
        return self

    async def _open(self) -> None:
        stream = self._client.watch_access_requests(
            tenant_id=self.tenant_id, since=self.cursor, timeout=None, auth_token=self._auth_token
        )
        try:
            marker = await stream.__anext__()
        except StopAsyncIteration:
            raise errors.Unavailable("the watch ended before its live marker", method="WatchAccessRequests") from None
        except errors.OutOfRange as error:
            raise errors.WatchResyncRequired(error.message, cursor=self.cursor) from error
        if not marker.live:
            stream.cancel()
            raise errors.Internal("the watch did not start with its live marker", method="WatchAccessRequests")
        if self.cursor == 0:
            self.cursor = marker.event_id
        self.live_marker = marker
        self._stream = stream

    async def _resume(self) -> None:
        failures = 0
        while True:
            if self._closed:
                raise errors.Cancelled("the watch was closed", method="WatchAccessRequests")
            if self.cursor == 0:
                raise errors.WatchResyncRequired(
                    "the watch lost its stream before any event, on an empty feed: list the requests again, "
                    "then watch anew",
                    cursor=0,
                )
            failures += 1
            await asyncio.sleep(self._retry.delay(failures))
            try:
                await self._open()
            except errors.WatchResyncRequired:
                raise
            except errors.LockboxError as error:
                self.last_error = error
                if not self._resumable(error) or not self._retry.allows(failures):
                    raise
                log.info("lockbox watch: cannot resume after event %d yet (%s)", self.cursor, error)
                continue
            self.reconnects += 1
            log.info("lockbox watch: resumed after event %d", self.cursor)
            return

    def __aiter__(self) -> "AsyncWatch":
        return self

    async def __anext__(self) -> pb.AccessRequestEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                await self._resume()
            stream = self._stream
            assert stream is not None
            try:
                event = await stream.__anext__()
            except StopAsyncIteration:
                if self._closed:
                    raise
                self._lost(errors.Unavailable("the watch ended", method="WatchAccessRequests"))
                continue
            except errors.OutOfRange as error:
                self._stream = None
                raise errors.WatchResyncRequired(error.message, cursor=self.cursor) from error
            except errors.LockboxError as error:
                if self._closed:
                    raise StopAsyncIteration from None
                if not self._resumable(error):
                    self._stream = None
                    raise
                self._lost(error)
                continue
            if event.live or event.event_id <= self.cursor:
                continue  # a marker, or an event handed out already
            self.cursor = event.event_id
            return event

    def _resumable(self, error: errors.LockboxError) -> bool:
        return not self._closed and not self._client._channel.closed and _can_resume(error)

    def _lost(self, error: errors.LockboxError) -> None:
        log.info("lockbox watch: stream lost after event %d: %s", self.cursor, error)
        self.last_error = error
        if self._stream is not None:
            self._stream.cancel()
        self._stream = None

    def close(self) -> None:
        """Stops the watch (a cancel frame goes to the server)."""
        self._closed = True
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> "AsyncWatch":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


class Watch:
    """The blocking twin of :class:`AsyncWatch`, made by :meth:`lockbox.Client.watch`."""

    def __init__(self, runner: "_LoopThread", watch: AsyncWatch):
        self._runner = runner
        self._watch = watch

    @property
    def cursor(self) -> int:
        """The last event id handed out (or the live marker's before any)."""
        return self._watch.cursor

    @property
    def reconnects(self) -> int:
        return self._watch.reconnects

    @property
    def last_error(self) -> Optional[errors.LockboxError]:
        return self._watch.last_error

    @property
    def live_marker(self) -> Optional[pb.AccessRequestEvent]:
        return self._watch.live_marker

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> pb.AccessRequestEvent:
        item = self._runner.run(_next_or_end(self._watch))
        if item is _END:
            raise StopIteration
        return item

    def close(self) -> None:
        if self._runner.alive:
            self._runner.run(self._watch.aclose())

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._runner.alive and not self._watch._closed:
                self._runner.loop.call_soon_threadsafe(self._watch.close)
        except Exception:
            pass
