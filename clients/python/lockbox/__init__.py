"""Python client for Lockbox: just-in-time, customer-approved access to customer data.

::

    import lockbox

    with lockbox.Client("lockbox.example.com:7443", token=TOKEN, ca_file="ca.pem") as client:
        for request in client.list_access_requests(tenant_id="contoso", status="pending_customer"):
            print(request.id, request.ticket_number, request.justification)

- :class:`Client` (blocking, thread-safe) and :class:`AsyncClient` (asyncio) have one method per
  rpc of ``service Lockbox`` (``create_access_request``, ``decide_customer``, ...).
- ``lockbox.pb`` holds the protobuf messages and enums (``lockbox.pb.AccessRequest``,
  ``lockbox.pb.SERVICE_EXCHANGE``).
- Errors are :class:`LockboxError` subclasses with ``.code`` and ``.message``.
- :mod:`lockbox.trust`: customer-signed consent (a tenant's root, certified keys, signed decisions,
  passkeys, the evidence behind a grant); the client's ``approve``/``deny`` sign with a key file.
- :mod:`lockbox.watch`, :mod:`lockbox.export`, :mod:`lockbox.integrity`.
"""

from ._proto import lockbox_pb2 as pb
from ._base import DEFAULT_TIMEOUT, tls_context
from ._core import NO_RETRY, CallEvent, RetryPolicy, Stats
from ._generated import METHODS, PROTO_SHA256, StatusCode
from ._method import DEFAULT, MethodInfo
from ._paging import AsyncPager, Pager
from ._stream import AsyncStream, CallStatus, Stream
from .aio import AsyncClient
from .client import Client
from .errors import (
    Aborted,
    AccessError,
    AlreadyExists,
    CallerError,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LockboxError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServerError,
    TLSError,
    TransientError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    WatchResyncRequired,
)
from .export import ExportProgress, ExportResult
from .integrity import ChainNotice, ConsentError, IntegrityError, VerifiedExport, verify_approval, verify_export
from . import trust
from .trust import SoftwarePasskey, TenantSigner, TrustProblem
from .watch import AsyncWatch, Watch

__version__ = "0.1.0"

__all__ = [
    "pb",
    "Client",
    "AsyncClient",
    "tls_context",
    "RetryPolicy",
    "NO_RETRY",
    "CallEvent",
    "Stats",
    "DEFAULT",
    "DEFAULT_TIMEOUT",
    "METHODS",
    "MethodInfo",
    "PROTO_SHA256",
    "StatusCode",
    "Pager",
    "AsyncPager",
    "Stream",
    "AsyncStream",
    "CallStatus",
    "Watch",
    "AsyncWatch",
    "ExportProgress",
    "ExportResult",
    "IntegrityError",
    "ConsentError",
    "trust",
    "TenantSigner",
    "SoftwarePasskey",
    "TrustProblem",
    "VerifiedExport",
    "ChainNotice",
    "verify_export",
    "verify_approval",
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
]
