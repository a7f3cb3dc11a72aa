"""Offline verification of Lockbox integrity exports and signed approvals.

This follows docs/audit-integrity.md, and checks what ``Tests/Interop/verify_export.py`` (the
repository's second verifier, which the server's tests hold to agree with the server) checks,
with the same findings:

1. every line is a record line or a checkpoint line, with exactly the fields the hash covers
   (a record's ``sealed_at_ms`` is there only for records sealed with hash version 2), no
   field twice, lower-case hex;
2. every line belongs to one chain (one tenant's, or the provider-wide one);
3. sequence numbers run 1, 2, 3 ...;
4. each record's hash is SHA-256 of its canonical bytes chained to the previous record's
   (tag ``lockbox/audit-record/v2`` with ``sealed_at_ms`` hashed last, or
   ``lockbox/audit-record/v1`` for records without it);
5. time never goes backwards along the chain: seal times never decrease, no record was
   recorded after it was sealed (``time_ms`` <= ``sealed_at_ms``), and no record without a
   seal time follows one with it;
6. each checkpoint is signed by a trusted key, its Ed25519 signature verifies, it is not
   beyond the last record, and its hash is the hash of the record at its seq (the genesis
   hash, 32 zero bytes, at seq 0);
7. a checkpoint covers the last record (an empty export proves nothing and fails).

The reasons it gives are those of verify_export.py ("hash does not match the record"); it does
not tell reordered, inserted and edited records apart as ``lockbox audit verify`` does, and
checks one export at a time (compare your saved cursor yourself: see the nightly export
example). One difference: a field of the wrong JSON type (a string ``seq``, a ``null``
``sealed_at_ms``) makes its line malformed here, as it does for ``lockbox audit verify``,
where verify_export.py stops with a Python error. Memory is bounded by the number of
checkpoints (and :data:`MAX_NOTICES`), not of records: the file is read twice.

A chain that verifies may still say things its reader should know (``VerifiedExport.notices``,
the ``notice:`` lines of ``lockbox audit verify``): changes made outside lockboxd, straight in
the database, which the database records itself (details ``"unattributed": true`` and the
``"database_role"`` that made them), and the server signing keys introduced into the chain.

A tenant's chain is also checked for **consent** (:class:`lockbox.trust.ConsentAuditor`, the
``CONSENT:`` lines of ``lockbox audit verify`` and of verify_export.py): every decision whose
signature does not chain to the tenant's root, every approval without the customer's signature
where the tenant's policy requires one, and every operator action allowed without a verified
approval that covers it (unless the tenant's signed policy has the lockbox off) raise
:class:`ConsentError`; root adoptions and rotations are ``VerifiedExport.consent.notices``. Pass
``tenant_roots`` (the root public keys you keep) to anchor the chain there; without them the
chain's first root is trusted as it stands, and a notice says so.

Keys are trusted as given: save them once (:func:`save_keys`) and pass that file, rather than
asking the server that is being checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ._proto import lockbox_pb2 as pb
from .trust import ConsentAuditor, ConsentReport

__all__ = [
    "IntegrityError",
    "ConsentError",
    "VerifiedExport",
    "ChainNotice",
    "ApprovalStatement",
    "key_id",
    "load_keys",
    "save_keys",
    "trusted_keys",
    "record_hash",
    "chain_notice",
    "verify_export",
    "verify_approval",
]

GENESIS = bytes(32)
RECORD_KEYS = frozenset(
    {"type", "seq", "hash", "id", "time_ms", "tenant_id", "kind", "actor_id", "actor_display", "actor_ip",
     "activity", "item", "decision", "details_text"}
)
#: A record sealed with hash version 2 carries its seal time too.
RECORD_KEYS_V2 = RECORD_KEYS | {"sealed_at_ms"}
CHECKPOINT_KEYS = frozenset({"type", "scope", "seq", "hash", "signed_at_ms", "key_id", "signature"})
_INT_FIELDS = frozenset({"seq", "id", "time_ms", "sealed_at_ms", "signed_at_ms"})

RECORD_TAG_V1 = "lockbox/audit-record/v1"
RECORD_TAG_V2 = "lockbox/audit-record/v2"

#: At most this many notices are kept in a ``VerifiedExport`` (``notice_count`` counts them all).
MAX_NOTICES = 1000


class IntegrityError(Exception):
    """The export (or approval) does not verify. ``seq`` is the first failing place, ``reason`` why."""

    def __init__(self, seq: int, reason: str):
        super().__init__("seq %d: %s" % (seq, reason))
        self.seq = seq
        self.reason = reason


class ConsentError(IntegrityError):
    """The chain verifies, but not the customer's consent: ``report.findings`` says where (the
    ``CONSENT:`` lines of ``lockbox audit verify``); ``verified`` is what the chain proves.
    ``seq`` is the first finding's record."""

    def __init__(self, report: ConsentReport, verified: "VerifiedExport"):
        first = report.findings[0]
        IntegrityError.__init__(self, first.seq, first.message)
        self.report = report
        self.findings = report.findings
        self.verified = verified


@dataclass(frozen=True)
class ChainNotice:
    """What a verified chain says that its reader should know, though nothing was tampered with
    (``lockbox audit verify`` prints these as ``notice:`` lines, with the same messages)."""

    #: ``"outside_lockboxd"``: a change made straight in the database, which recorded it itself
    #: (unattributed, by ``database_role``); ``"key_introduced"``: a server signing key's arrival.
    kind: str
    seq: int
    audit_id: int
    message: str
    #: The database role that made the change, when it was made outside lockboxd; else "".
    database_role: str = ""
    #: For ``key_introduced``: the key, and whether the database's owner introduced it (else
    #: ``attested_by`` cross-signed it).
    key_id: str = ""
    introduced_by_owner: bool = False
    attested_by: str = ""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class VerifiedExport:
    """What a verified export proves: the chain ``scope`` up to ``head_seq`` with ``head_hash``."""

    scope: str
    records: int
    checkpoints: int
    head_seq: int
    head_hash: str
    #: The last checkpoint covering the head.
    signed_at_ms: int
    key_id: str
    #: The seal time of the head record (hash version 2), None when it has none.
    head_sealed_at_ms: Optional[int] = None
    #: The chain's notices (after ``notices_after``), in chain order: the first :data:`MAX_NOTICES`.
    notices: Tuple[ChainNotice, ...] = ()
    #: How many notices there are, kept or not.
    notice_count: int = 0
    #: The consent check of a tenant's chain: its notices (root changes, where trust starts);
    #: its findings are empty (else :class:`ConsentError` was raised). None when not checked.
    consent: Optional[ConsentReport] = None


# -- canonical bytes (docs/audit-integrity.md, "Canonical encoding") ------------------------


def canonical(tag: str, fields: Iterable[Tuple[str, Any]]) -> bytes:
    out = bytearray(tag.encode("ascii") + b"\x00")
    for kind, value in fields:
        if kind == "int64":
            out += struct.pack(">q", value)
        elif kind == "string":
            data = value.encode("utf-8")
            out += struct.pack(">I", len(data)) + data
        elif kind == "bytes":
            out += struct.pack(">I", len(value)) + value
        else:
            raise ValueError(kind)
    return bytes(out)


def record_hash(line: Mapping[str, Any], previous: bytes) -> bytes:
    """SHA-256 of a record line's canonical bytes after ``previous`` (the hash before it): hash
    version 2 (``sealed_at_ms`` hashed last) when the line carries its seal time, else version 1."""
    sealed: List[Tuple[str, Any]] = [("int64", line["sealed_at_ms"])] if "sealed_at_ms" in line else []
    return hashlib.sha256(
        canonical(
            RECORD_TAG_V2 if sealed else RECORD_TAG_V1,
            [
                ("int64", line["seq"]),
                ("bytes", previous),
                ("string", line["tenant_id"]),
                ("int64", line["id"]),
                ("int64", line["time_ms"]),
                ("string", line["kind"]),
                ("string", line["actor_id"]),
                ("string", line["actor_display"]),
                ("string", line["actor_ip"]),
                ("string", line["activity"]),
                ("string", line["item"]),
                ("string", line["decision"]),
                ("string", line["details_text"]),
            ]
            + sealed,
        )
    ).digest()


def checkpoint_bytes(line: Mapping[str, Any]) -> bytes:
    return canonical(
        "lockbox/audit-checkpoint/v1",
        [
            ("string", line["scope"]),
            ("int64", line["seq"]),
            ("bytes", bytes.fromhex(line["hash"])),
            ("int64", line["signed_at_ms"]),
            ("string", line["key_id"]),
        ],
    )


# -- keys --------------------------------------------------------------------------------


def key_id(public_key: bytes) -> str:
    """A key's id: ``ed25519:`` and 16 hex digits of SHA-256 over the raw 32-byte key."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


KeysArg = Union[str, "os.PathLike[str]", Mapping[str, bytes], Iterable[Any], Any]


def trusted_keys(keys: KeysArg) -> Dict[str, Ed25519PublicKey]:
    """Keys to trust, by key id, from: a keys file path (``lockbox audit keys`` / :func:`save_keys`),
    a ``ListSigningKeysResponse``, an iterable of ``SigningKey``, or a mapping key id -> raw key.
    Each key must match its id."""
    if isinstance(keys, (str, os.PathLike)):
        return load_keys(keys)
    if isinstance(keys, pb.ListSigningKeysResponse):
        keys = keys.keys
    if isinstance(keys, Mapping):
        pairs = list(keys.items())
    else:
        pairs = [(k.key_id, k.public_key) for k in keys]
    trusted = {}
    for identifier, raw in pairs:
        raw = bytes(raw)
        if len(raw) != 32 or key_id(raw) != identifier:
            raise IntegrityError(0, "key %s does not match its id" % identifier)
        trusted[identifier] = Ed25519PublicKey.from_public_bytes(raw)
    return trusted


def load_keys(path) -> Dict[str, Ed25519PublicKey]:
    """A keys file: ``{"keys": [{"key_id": ..., "public_key": "<hex>"}, ...]}``."""
    with open(path) as handle:
        document = json.load(handle)
    pairs = {}
    for key in document["keys"]:
        pairs[key["key_id"]] = bytes.fromhex(key["public_key"])
    return trusted_keys(pairs)


def save_keys(path, keys: Iterable[Any]) -> None:
    """Writes ``SigningKey`` messages (or a ``ListSigningKeysResponse``) as a keys file, in the
    format of ``lockbox audit keys``, which ``lockbox audit verify --keys`` reads too."""
    if isinstance(keys, pb.ListSigningKeysResponse):
        keys = keys.keys
    document = {
        "keys": [
            {"first_seen_at_ms": k.first_seen_at_ms, "key_id": k.key_id, "public_key": bytes(k.public_key).hex()}
            for k in keys
        ]
    }
    temporary = os.fspath(path) + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


# -- exports -----------------------------------------------------------------------------


def _no_duplicates(pairs):
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("a field appears twice")
    return dict(pairs)


def _lower_hex(text: str) -> bytes:
    if text != text.lower():
        raise ValueError("hex must be lower-case")
    return bytes.fromhex(text)


def _typed(line: Dict[str, Any]) -> None:
    for name, value in line.items():
        if name in _INT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
                raise ValueError("%s is not a 64-bit integer" % name)
        elif not isinstance(value, str):
            raise ValueError("%s is not a string" % name)


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text, object_pairs_hook=_no_duplicates)
                kind = line.get("type") if isinstance(line, dict) else None
                if kind == "record" and set(line) in (RECORD_KEYS, RECORD_KEYS_V2):
                    _typed(line)
                    _lower_hex(line["hash"])
                elif kind == "checkpoint" and set(line) == CHECKPOINT_KEYS:
                    _typed(line)
                    _lower_hex(line["hash"])
                    _lower_hex(line["signature"])
                else:
                    raise ValueError("neither a record nor a checkpoint line")
            except ValueError as error:
                raise IntegrityError(0, "line %d: %s" % (number, error)) from None
            yield kind, line


def _time_problem(line: Mapping[str, Any], last_sealed: Optional[int]) -> Optional[str]:
    """Why ``line`` makes time go backwards after a record sealed at ``last_sealed`` (None: no
    seal time yet), or None. Record times themselves may step back a little (a record is sealed
    when its transaction commits); seal times may not."""
    sealed = line.get("sealed_at_ms")
    if sealed is None:
        return "no seal time after a record with one" if last_sealed is not None else None
    if line["time_ms"] > sealed:
        return "recorded after it was sealed"
    if last_sealed is not None and sealed < last_sealed:
        return "sealed before the record ahead of it: time went backwards"
    return None


def chain_notice(line: Mapping[str, Any]) -> Optional[ChainNotice]:
    """The notice a record line carries, if any: a change made outside lockboxd (its details
    say ``"unattributed": true``), or a server key's arrival (``SigningKeyAdded``)."""
    try:
        details = json.loads(line["details_text"])
    except ValueError:
        return None
    if not isinstance(details, dict):
        return None
    named = "record seq %d (audit id %d)" % (line["seq"], line["id"])
    outside = details.get("unattributed") is True
    role = details.get("database_role")
    role = role if isinstance(role, str) else "?"
    by_someone = ", outside lockboxd, by the database role %s" % role if outside else ""
    key = details.get("key_id")
    if line["activity"] == "SigningKeyAdded" and isinstance(key, str):
        by_owner = details.get("introduced_by_owner") is True
        attested = details.get("attested_by")
        attested = attested if isinstance(attested, str) else "?"
        how = "by the database's owner role" if by_owner else "cross-signed by %s" % attested
        return ChainNotice(
            kind="key_introduced",
            seq=line["seq"],
            audit_id=line["id"],
            message="%s: server key %s introduced %s%s" % (named, key, how, by_someone),
            database_role=role if outside else "",
            key_id=key,
            introduced_by_owner=by_owner,
            attested_by="" if by_owner else attested,
        )
    if outside:
        return ChainNotice(
            kind="outside_lockboxd",
            seq=line["seq"],
            audit_id=line["id"],
            message="%s: %s was made outside lockboxd, by the database role %s" % (named, line["activity"], role),
            database_role=role,
        )
    return None


def verify_export(path, keys: KeysArg, *, tenant: Optional[str] = None, notices_after: int = 0,
                  tenant_roots: Optional[Iterable[Union[bytes, str]]] = None, check_consent: bool = True) -> VerifiedExport:
    """Verifies an integrity export (``ExportAudit`` with ``include_integrity``) saved at ``path``
    against ``keys`` (see :func:`trusted_keys`). With ``tenant``, the export must be that
    tenant's chain (``""``: the provider-wide one). The notices are those of the records after
    seq ``notices_after`` (a saved cursor's: what is new since), all of them by default.

    A tenant's chain is checked for consent too (``check_consent=False`` skips it), from
    ``tenant_roots`` (raw 32-byte root public keys, or hex) if given, else from the chain's first
    root.

    Returns what it proves, with the chain's notices; raises :class:`IntegrityError` at the
    first failure, :class:`ConsentError` when the chain holds but consent findings remain."""
    trusted = trusted_keys(keys)
    # Pass 1: every line's form, the chain they belong to, and the checkpoints (few).
    scope: Optional[str] = None
    checkpoints: List[Dict[str, Any]] = []
    records = 0
    mixed = False  # reported once every line's form is checked, as verify_export.py does
    for kind, line in _lines(path):
        if kind == "record":
            records += 1
            if scope is None:
                scope = line["tenant_id"]
            elif line["tenant_id"] != scope:
                mixed = True
        else:
            checkpoints.append(line)
    if scope is None:
        scope = checkpoints[0]["scope"] if checkpoints else ""
    if mixed or any(line["scope"] != scope for line in checkpoints):
        raise IntegrityError(0, "lines of more than one chain")
    if tenant is not None and scope != tenant:
        raise IntegrityError(0, "the export is the chain of %r, not of %r" % (scope, tenant))
    wanted = {line["seq"] for line in checkpoints}
    # Pass 2: the chain itself, keeping only the hashes the checkpoints name.
    previous = GENESIS
    hashes: Dict[int, str] = {}
    expected = 0
    last_sealed: Optional[int] = None
    notices: List[ChainNotice] = []
    notice_count = 0
    consent = ConsentAuditor(tenant_roots) if check_consent and scope else None
    for kind, line in _lines(path):
        if kind != "record":
            continue
        if consent is not None:
            consent.add(line)
        expected += 1
        if line["seq"] != expected:
            raise IntegrityError(expected, "sequence runs %d where %d was expected" % (line["seq"], expected))
        computed = record_hash(line, previous)
        if computed.hex() != line["hash"]:
            raise IntegrityError(line["seq"], "hash does not match the record")
        if line["seq"] in wanted:
            hashes[line["seq"]] = line["hash"]
        previous = computed
        problem = _time_problem(line, last_sealed)
        if problem:
            raise IntegrityError(line["seq"], problem)
        last_sealed = line.get("sealed_at_ms", last_sealed)
        notice = chain_notice(line) if line["seq"] > notices_after else None
        if notice is not None:
            notice_count += 1
            if len(notices) < MAX_NOTICES:
                notices.append(notice)
    last = expected
    anchor: Optional[Dict[str, Any]] = None
    for line in checkpoints:
        key = trusted.get(line["key_id"])
        if key is None:
            raise IntegrityError(line["seq"], "checkpoint signed with unknown key %s" % line["key_id"])
        try:
            key.verify(bytes.fromhex(line["signature"]), checkpoint_bytes(line))
        except InvalidSignature:
            raise IntegrityError(line["seq"], "checkpoint signature does not verify") from None
        if line["seq"] > last:
            raise IntegrityError(last + 1, "checkpoint at seq %d beyond the last record" % line["seq"])
        expected_hash = GENESIS.hex() if line["seq"] == 0 else hashes[line["seq"]]
        if expected_hash != line["hash"]:
            raise IntegrityError(line["seq"], "checkpoint does not match the record")
        if line["seq"] == last:
            anchor = line
    if anchor is None:
        raise IntegrityError(last, "no checkpoint covers the last record")
    verified = VerifiedExport(
        scope=scope,
        records=records,
        checkpoints=len(checkpoints),
        head_seq=last,
        head_hash=previous.hex() if records else GENESIS.hex(),
        signed_at_ms=anchor["signed_at_ms"],
        key_id=anchor["key_id"],
        head_sealed_at_ms=last_sealed,
        notices=tuple(notices),
        notice_count=notice_count,
        consent=consent.finish() if consent is not None else None,
    )
    if verified.consent is not None and verified.consent.findings:
        raise ConsentError(verified.consent, verified)
    return verified


def record_at(path, seq: int) -> Optional[Dict[str, Any]]:
    """The record line at ``seq`` of an export (None when it has none): for comparing a saved
    cursor with a newer export."""
    for kind, line in _lines(path):
        if kind == "record" and line["seq"] == seq:
            return line
    return None


# -- signed approvals --------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalStatement:
    """The server's signed statement of a customer's decision (docs/audit-integrity.md,
    "Approval signature"), read back from its exact bytes: ``lockbox/approval/v2``, or
    ``lockbox/approval/v1`` for statements signed before the grant's scope was part of them."""

    tenant_id: str
    request_id: str
    operator_id: str
    service: str
    grant_starts_at_ms: int
    grant_ends_at_ms: int
    approver_id: str
    decision: str
    decided_at_ms: int
    key_id: str
    #: The operations the grant allows, lower-cased and sorted: the service's pre-approved
    #: operations when the customer decided (an operation pre-approved later is not among
    #: them). Empty in version 1 statements, which bound only the service.
    operations: Tuple[str, ...] = ()
    #: 2 (``lockbox/approval/v2``, with ``operations``) or 1.
    version: int = 1

    def covers(self, now_ms: int) -> bool:
        """Whether an approved grant's window holds at ``now_ms`` (never proves it was not revoked)."""
        return self.decision == "Approve" and self.grant_starts_at_ms <= now_ms < self.grant_ends_at_ms

    def allows(self, operation: str) -> bool:
        """Whether the statement approves ``operation`` (compared case-insensitively, as operation
        names are). A version 1 statement states no scope, and approves no operation by itself."""
        return self.decision == "Approve" and operation.lower() in self.operations


_APPROVAL_TAG_V1 = b"lockbox/approval/v1\x00"
_APPROVAL_TAG_V2 = b"lockbox/approval/v2\x00"
#: The statement's fields in order; ``operations`` (an int64 count, then that many strings) is
#: in version 2 statements only.
_APPROVAL_FIELDS = (
    ("tenant_id", "string"),
    ("request_id", "string"),
    ("operator_id", "string"),
    ("service", "string"),
    ("grant_starts_at_ms", "int64"),
    ("grant_ends_at_ms", "int64"),
    ("operations", "strings"),
    ("approver_id", "string"),
    ("decision", "string"),
    ("decided_at_ms", "int64"),
    ("key_id", "string"),
)


class _Reader:
    """Reads the canonical encoding back (int64 big-endian; strings with a 32-bit length)."""

    def __init__(self, data: bytes, at: int):
        self.data, self.at = data, at

    def int64(self) -> int:
        (value,) = struct.unpack_from(">q", self.data, self.at)
        self.at += 8
        return value

    def string(self) -> str:
        (length,) = struct.unpack_from(">I", self.data, self.at)
        self.at += 4
        if self.at + length > len(self.data):
            raise struct.error("short")
        value = self.data[self.at : self.at + length].decode("utf-8")
        self.at += length
        return value

    def strings(self) -> Tuple[str, ...]:
        count = self.int64()
        # Each string takes at least its 4-byte length: a larger count is malformed.
        if count < 0 or count > len(self.data) // 4:
            raise struct.error("count")
        return tuple(self.string() for _ in range(count))


def _read_statement(data: bytes) -> ApprovalStatement:
    if data.startswith(_APPROVAL_TAG_V2):
        version, tag = 2, _APPROVAL_TAG_V2
    elif data.startswith(_APPROVAL_TAG_V1):
        version, tag = 1, _APPROVAL_TAG_V1
    else:
        raise IntegrityError(0, "not an approval statement")
    reader = _Reader(data, len(tag))
    values: Dict[str, Any] = {"version": version}
    try:
        for name, kind in _APPROVAL_FIELDS:
            if kind == "strings":
                if version >= 2:
                    values[name] = reader.strings()
            else:
                values[name] = getattr(reader, kind)()
    except (struct.error, UnicodeDecodeError):
        raise IntegrityError(0, "the approval statement is truncated or malformed") from None
    if reader.at != len(data):
        raise IntegrityError(0, "the approval statement has trailing bytes")
    return ApprovalStatement(**values)


def verify_approval(
    approval: Union[pb.AccessRequest, pb.SignedApproval], keys: KeysArg, *, request_id: Optional[str] = None,
    tenant_id: Optional[str] = None,
) -> ApprovalStatement:
    """Checks a signed approval (``AccessRequest.approval``) against trusted ``keys``, and that it
    is about this request (and tenant): pass an ``AccessRequest`` or give ``request_id``.

    Returns the statement (a denial verifies too: check ``statement.decision``; and
    ``statement.allows(operation)`` for the grant's scope). Use it only as a second factor
    beside ``CheckAccess``: it cannot show a later revocation."""
    if isinstance(approval, pb.AccessRequest):
        request_id = approval.id if request_id is None else request_id
        tenant_id = approval.tenant_id if tenant_id is None else tenant_id
        if not approval.HasField("approval"):
            raise IntegrityError(0, "request %s carries no signed approval" % approval.id)
        approval = approval.approval
    trusted = trusted_keys(keys)
    statement = _read_statement(bytes(approval.statement))
    if statement.key_id != approval.key_id:
        raise IntegrityError(0, "the statement names key %s but is carried with %s" % (statement.key_id, approval.key_id))
    key = trusted.get(approval.key_id)
    if key is None:
        raise IntegrityError(0, "approval signed with unknown key %s" % approval.key_id)
    try:
        key.verify(bytes(approval.signature), bytes(approval.statement))
    except InvalidSignature:
        raise IntegrityError(0, "approval signature does not verify") from None
    if request_id is not None and statement.request_id != request_id:
        raise IntegrityError(0, "the approval is about request %s, not %s" % (statement.request_id, request_id))
    if tenant_id is not None and statement.tenant_id != tenant_id:
        raise IntegrityError(0, "the approval is about tenant %s, not %s" % (statement.tenant_id, tenant_id))
    return statement
