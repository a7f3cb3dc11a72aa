"""Errors raised by the Lockbox client.

Every failed call raises a :class:`LockboxError` carrying the gRPC status code the
server (or the client itself) gave, as ``.code`` (a :class:`StatusCode`) and the
human-readable ``.message``. Each code has its own class, grouped in families so
that a caller can catch as broadly or as narrowly as it likes::

    LockboxError
    ├── CallerError            the request itself is wrong: do not retry as is
    │   ├── InvalidArgument        INVALID_ARGUMENT
    │   ├── NotFound               NOT_FOUND
    │   ├── AlreadyExists          ALREADY_EXISTS
    │   ├── FailedPrecondition     FAILED_PRECONDITION
    │   └── OutOfRange             OUT_OF_RANGE
    │       └── WatchResyncRequired    a watch cannot resume: list again
    ├── AccessError            who you are, or what you may do
    │   ├── Unauthenticated        UNAUTHENTICATED
    │   └── PermissionDenied       PERMISSION_DENIED
    ├── TransientError         try again later, with back-off
    │   ├── Unavailable            UNAVAILABLE
    │   │   └── TLSError               the TLS handshake failed (not retried)
    │   ├── ResourceExhausted      RESOURCE_EXHAUSTED
    │   ├── DeadlineExceeded       DEADLINE_EXCEEDED
    │   └── Aborted                ABORTED
    ├── ServerError            a bug or a mismatch on the server's side
    │   ├── Internal               INTERNAL
    │   ├── Unknown                UNKNOWN
    │   ├── Unimplemented          UNIMPLEMENTED
    │   └── DataLoss               DATA_LOSS
    └── Cancelled              CANCELLED

Programs should branch on the class (or ``.code``), never on the message.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from ._generated import StatusCode

__all__ = [
    "StatusCode",
    "LockboxError",
    "CallerError",
    "AccessError",
    "TransientError",
    "ServerError",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
    "TLSError",
    "WatchResyncRequired",
    "error_for",
]


class LockboxError(Exception):
    """A call failed. ``code`` is its :class:`StatusCode`, ``message`` what went wrong.

    ``method`` is the RPC's name (such as ``"GetAccessRequest"``) when the error
    belongs to a call, and ``None`` for errors of the connection itself.
    """

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str = "", *, code: Optional[int] = None, method: Optional[str] = None):
        if code is not None:
            self.code = StatusCode(code)
        self.message = message
        self.method = method
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.code.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.name}, message={self.message!r}, method={self.method!r})"


class CallerError(LockboxError):
    """The request is wrong for the server's current state: retrying it as is will not help."""


class AccessError(LockboxError):
    """The caller is not authenticated, or not allowed to do this."""


class TransientError(LockboxError):
    """The call may succeed later: retry with back-off (only when it is safe to repeat)."""


class ServerError(LockboxError):
    """The server failed or does not know the method."""


class Cancelled(LockboxError):
    """The call was cancelled: by the caller, by a closed client, or by the server."""

    code = StatusCode.CANCELLED


class Unknown(ServerError):
    code = StatusCode.UNKNOWN


class InvalidArgument(CallerError):
    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(TransientError):
    """The deadline passed. A state-changing call may still have taken effect: read the state."""

    code = StatusCode.DEADLINE_EXCEEDED


class NotFound(CallerError):
    code = StatusCode.NOT_FOUND


class AlreadyExists(CallerError):
    code = StatusCode.ALREADY_EXISTS


class PermissionDenied(AccessError):
    code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(TransientError):
    """A limit or a budget was reached: wait before retrying (or close a stream first)."""

    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(CallerError):
    """The target is in the wrong state for this action; the message names the state."""

    code = StatusCode.FAILED_PRECONDITION


class Aborted(TransientError):
    code = StatusCode.ABORTED


class OutOfRange(CallerError):
    code = StatusCode.OUT_OF_RANGE


class Unimplemented(ServerError):
    """The server does not know the method (an older server than this client)."""

    code = StatusCode.UNIMPLEMENTED


class Internal(ServerError):
    code = StatusCode.INTERNAL


class Unavailable(TransientError):
    """The server could not be reached, the connection was lost, or the server is
    draining or overloaded. A state-changing call that failed this way may still
    have taken effect."""

    code = StatusCode.UNAVAILABLE


class DataLoss(ServerError):
    code = StatusCode.DATA_LOSS


class Unauthenticated(AccessError):
    code = StatusCode.UNAUTHENTICATED


class TLSError(Unavailable):
    """The TLS handshake failed (an untrusted or mismatched certificate, a client
    certificate refused). It is not retried: it will fail the same way again."""


class WatchResyncRequired(OutOfRange):
    """A watch cannot resume from its cursor: the feed no longer keeps (or never had)
    the events after it. List the requests again, then start a new watch.

    ``cursor`` is the last event id the watch had processed (0 when none)."""

    def __init__(self, message: str = "", *, cursor: int = 0, method: Optional[str] = "WatchAccessRequests"):
        super().__init__(message, method=method)
        self.cursor = cursor


_BY_CODE: Dict[int, Type[LockboxError]] = {
    int(cls.code): cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_for(code: int, message: str = "", *, method: Optional[str] = None) -> LockboxError:
    """The exception for a status code (an unknown number gives :class:`Unknown` with that code)."""
    cls = _BY_CODE.get(int(code))
    if cls is None:
        error = Unknown(message, method=method)
        error.code = StatusCode.UNKNOWN
        return error
    return cls(message, method=method)
