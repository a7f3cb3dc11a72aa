"""Customer-signed consent: the statements a tenant's own keys sign, and their verification.

A tenant with a **root** key (made by its first global admin at enrollment) decides who may
approve: the root, or a key it certified to *administer*, certifies each approver's key to
*decide*; the approver signs each decision with that key (an Ed25519 key file, or a passkey
through WebAuthn); lockboxd lets an operator act only on a grant whose decision verifies, and
hands the data plane the **evidence** behind it to check against the root it pins.

This module is the Python side of ``Sources/LockboxTrust`` (the specification), byte for byte:

- the canonical encoding (a tag and a NUL byte; int64 as 8 bytes big-endian; strings and byte
  strings as a 4-byte big-endian length and the bytes; a string list as an int64 count and the
  strings) and the statements: :class:`TenantRootStatement` (``lockbox/tenant-root/v1``),
  :class:`RootAttestation`, :class:`KeyCertificate` (``lockbox/key-certificate/v1``),
  :class:`KeyRevocation`, :class:`TenantPolicy` (``lockbox/tenant-policy/v1``),
  :class:`DecisionStatement` (``lockbox/decision/v1``, v2 and v3), :class:`DelegationStatement`
  (``lockbox/delegation/v1``) and :class:`DelegationRevocation`, each with ``to_bytes()`` and
  ``from_bytes()``;
- key ids (:func:`key_id`): ``ed25519:`` or ``es256:`` and the first 16 hex digits of SHA-256
  over the public key's bytes (a passkey's public key is its SPKI, DER);
- :class:`TenantSigner`, an Ed25519 key in a key file (its 32-byte seed, base64, one line,
  mode 600, as ``lockbox keys generate`` writes it), and :class:`SoftwarePasskey`, a WebAuthn
  authenticator in software for tests;
- :class:`TrustKey` (Ed25519 signatures, and WebAuthn ES256 assertions checked as a relying
  party checks them), :class:`TenantTrust` (the chain: roots, certificates, revocations,
  policy, decisions), :class:`AccessEvidence` (``lockbox/evidence/v1``) and
  :class:`EvidenceVerifier` (what a data plane checks against the roots it pins);
- :class:`ConsentAuditor` / :func:`check_consent`: what a customer's verifier reports from an
  audit chain export alone (``lockbox audit verify``'s ``CONSENT:`` lines and root notices).

Strings are compared as Swift compares them (canonical equivalence), so that both sides reach
the same verdict on the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import struct
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._proto import lockbox_pb2 as pb

__all__ = [
    "Malformed",
    "CanonicalWriter",
    "CanonicalReader",
    "ED25519",
    "ES256_WEBAUTHN",
    "DECIDE",
    "ADMINISTER",
    "APPROVE",
    "DENY",
    "capability_names",
    "capabilities_from_names",
    "key_id",
    "TenantRootStatement",
    "RootAttestation",
    "KeyCertificate",
    "KeyRevocation",
    "TenantPolicy",
    "DecisionStatement",
    "DelegationStatement",
    "DelegationRevocation",
    "delegation_id",
    "MAXIMUM_DELEGATION_MS",
    "as_delegation",
    "decode_statement",
    "WebAuthnAssertion",
    "webauthn_challenge",
    "SignedBytes",
    "TrustProblem",
    "PasskeyRules",
    "TrustKey",
    "TenantSigner",
    "SoftwarePasskey",
    "RootRecord",
    "TrustMaterial",
    "TenantTrust",
    "AccessEvidence",
    "Verdict",
    "EvidenceVerifier",
    "verify_evidence",
    "material_from_proto",
    "verify_root_attestation",
    "ConsentFinding",
    "ConsentNotice",
    "ConsentReport",
    "ConsentAuditor",
    "check_consent",
    "check_consent_export",
    "as_signer",
    "sign_prepared_decision",
    "window_problem",
]

# -- canonical encoding (Sources/LockboxIntegrity/CanonicalBytes.swift) ---------------------


class Malformed(ValueError):
    """The bytes are not the canonical encoding of the statement they claim to be."""

    def __init__(self, message: str = "the statement is not in the canonical encoding"):
        super().__init__(message)


class CanonicalWriter:
    """A tag and a NUL byte, then fields: int64 big-endian (8 bytes), strings (UTF-8) and byte
    strings with a 4-byte big-endian length, string lists as an int64 count then the strings."""

    def __init__(self, tag: str):
        self._out = bytearray(tag.encode("utf-8"))
        self._out.append(0)

    def int64(self, value: int) -> "CanonicalWriter":
        self._out += struct.pack(">q", value)
        return self

    def unsigned(self, value: int) -> "CanonicalWriter":
        self._out += struct.pack(">Q", value)
        return self

    def string(self, value: str) -> "CanonicalWriter":
        return self.data(value.encode("utf-8"))

    def data(self, value: bytes) -> "CanonicalWriter":
        value = bytes(value)
        if len(value) > 0xFFFFFFFF:
            raise ValueError("a byte string of the canonical encoding is at most 4 GiB")
        self._out += struct.pack(">I", len(value)) + value
        return self

    def strings(self, values: Iterable[str]) -> "CanonicalWriter":
        values = list(values)
        self.int64(len(values))
        for value in values:
            self.string(value)
        return self

    @property
    def bytes(self) -> bytes:
        return bytes(self._out)


class CanonicalReader:
    """Reads back what :class:`CanonicalWriter` wrote; every read raises :class:`Malformed` on a
    short or malformed input."""

    def __init__(self, data: bytes, tag: str):
        self._data = bytes(data)
        expected = tag.encode("utf-8") + b"\x00"
        if not self._data.startswith(expected):
            raise Malformed()
        self._at = len(expected)

    def int64(self) -> int:
        if self._at + 8 > len(self._data):
            raise Malformed()
        (value,) = struct.unpack_from(">q", self._data, self._at)
        self._at += 8
        return value

    def unsigned(self) -> int:
        if self._at + 8 > len(self._data):
            raise Malformed()
        (value,) = struct.unpack_from(">Q", self._data, self._at)
        self._at += 8
        return value

    def data(self) -> bytes:
        if self._at + 4 > len(self._data):
            raise Malformed()
        (count,) = struct.unpack_from(">I", self._data, self._at)
        self._at += 4
        if count > len(self._data) - self._at:
            raise Malformed()
        value = self._data[self._at : self._at + count]
        self._at += count
        return value

    def string(self) -> str:
        try:
            return self.data().decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed() from None

    def strings(self, limit: int) -> Tuple[str, ...]:
        count = self.int64()
        if count < 0 or count > limit:
            raise Malformed()
        return tuple(self.string() for _ in range(count))

    def finish(self) -> None:
        if self._at != len(self._data):
            raise Malformed()


def _same(a: str, b: str) -> bool:
    """Swift's String equality: canonical equivalence."""
    return a == b or unicodedata.normalize("NFD", a) == unicodedata.normalize("NFD", b)


def _k(text: str) -> str:
    """A dictionary key that treats canonically equivalent strings as one, as Swift's do."""
    return unicodedata.normalize("NFC", text)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _strict_hex(text: Any) -> bytes:
    """Hex (either case), as Swift's ``[UInt8](hex:)`` reads it; b"" for anything else."""
    if not isinstance(text, str) or len(text) % 2:
        return b""
    if any(c not in "0123456789abcdefABCDEF" for c in text):
        return b""
    return bytes.fromhex(text)


# -- keys and capabilities ------------------------------------------------------------------

#: Ed25519 over the statement's bytes; the public key is its 32 raw bytes.
ED25519 = "ed25519"
#: A passkey: ECDSA P-256 with SHA-256 over WebAuthn's authenticator data and the hash of its
#: client data, whose challenge is the statement's hash; the public key is its SPKI (DER).
ES256_WEBAUTHN = "es256-webauthn"
ALGORITHMS = (ED25519, ES256_WEBAUTHN)

#: Approve or deny access requests.
DECIDE = 1
#: Certify and revoke keys, set the tenant's policy.
ADMINISTER = 2

APPROVE = "Approve"
DENY = "Deny"


def capability_names(capabilities: int) -> List[str]:
    """The words the CLI and the documents use: ``["decide", "administer"]``."""
    return (["decide"] if capabilities & DECIDE else []) + (["administer"] if capabilities & ADMINISTER else [])


def capabilities_from_names(names: Union[int, str, Iterable[str]]) -> int:
    """``"decide"``, ``"administer"``, ``"decide,administer"``, a list of those, or the int itself."""
    if isinstance(names, int):
        return names
    if isinstance(names, str):
        names = [name for name in names.split(",") if name]
    value = 0
    for name in names:
        if name == "decide":
            value |= DECIDE
        elif name == "administer":
            value |= ADMINISTER
        else:
            raise ValueError("a capability is decide or administer, not %r" % name)
    return value


def key_id(public_key: bytes, algorithm: str = ED25519) -> str:
    """A key's id, derived from its public key: ``ed25519:`` (or ``es256:`` for a passkey, whose
    public key is its SPKI) and the first 16 hex digits of SHA-256 over the public key's bytes."""
    digest = hashlib.sha256(bytes(public_key)).hexdigest()[:16]
    if algorithm == ED25519:
        return "ed25519:" + digest
    if algorithm == ES256_WEBAUTHN:
        return "es256:" + digest
    raise ValueError("an algorithm is ed25519 or es256-webauthn, not %r" % algorithm)


# -- statements (Sources/LockboxTrust/Statements.swift) -------------------------------------


class _Statement:
    TAG: ClassVar[str] = ""

    def to_bytes(self) -> bytes:  # pragma: no cover - every statement defines it
        raise NotImplementedError

    @property
    def canonical_bytes(self) -> bytes:
        return self.to_bytes()


@dataclass(frozen=True)
class TenantRootStatement(_Statement):
    """A tenant's root key: adopted at enrollment (or once, by a tenant enrolled before roots),
    and replaced by a statement the current root signs too. Signed by the new root itself."""

    TAG: ClassVar[str] = "lockbox/tenant-root/v1"
    tenant_id: str
    #: The raw 32-byte Ed25519 public key.
    public_key: bytes
    #: The root this one replaces; "" for the first.
    previous_key_id: str = ""
    #: Derived from the public key when not given.
    key_id: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "public_key", bytes(self.public_key))
        if self.key_id is None:
            object.__setattr__(self, "key_id", key_id(self.public_key, ED25519))

    def to_bytes(self) -> bytes:
        return (
            CanonicalWriter(self.TAG).string(self.tenant_id).string(self.key_id).data(self.public_key)
            .string(self.previous_key_id).bytes
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "TenantRootStatement":
        reader = CanonicalReader(data, cls.TAG)
        tenant_id, identifier, public_key, previous = reader.string(), reader.string(), reader.data(), reader.string()
        reader.finish()
        return cls(tenant_id=tenant_id, public_key=public_key, previous_key_id=previous, key_id=identifier)


@dataclass(frozen=True)
class RootAttestation(_Statement):
    """lockboxd's word that it accepted a tenant root, signed by a server key the database trusts."""

    TAG: ClassVar[str] = "lockbox/root-attestation/v1"
    tenant_id: str
    root_key_id: str
    #: SHA-256 of the root statement's canonical bytes.
    statement_hash: bytes
    server_key_id: str

    def to_bytes(self) -> bytes:
        return (
            CanonicalWriter(self.TAG).string(self.tenant_id).string(self.root_key_id).data(self.statement_hash)
            .string(self.server_key_id).bytes
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "RootAttestation":
        reader = CanonicalReader(data, cls.TAG)
        value = cls(reader.string(), reader.string(), reader.data(), reader.string())
        reader.finish()
        return value


@dataclass(frozen=True)
class KeyCertificate(_Statement):
    """A key of one of the tenant's principals, certified by the root or by an administering
    key that chains to it. ``capabilities``: :data:`DECIDE` | :data:`ADMINISTER` (or names)."""

    TAG: ClassVar[str] = "lockbox/key-certificate/v1"
    tenant_id: str
    principal_id: str
    algorithm: str
    public_key: bytes
    capabilities: int
    #: The certificate's validity, as its issuer states it.
    not_before_ms: int
    not_after_ms: int
    issuer_key_id: str
    #: Derived from the algorithm and public key when not given.
    key_id: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "public_key", bytes(self.public_key))
        object.__setattr__(self, "capabilities", capabilities_from_names(self.capabilities))
        if self.key_id is None:
            object.__setattr__(self, "key_id", key_id(self.public_key, self.algorithm))

    @property
    def key(self) -> "TrustKey":
        return TrustKey(self.key_id, self.algorithm, self.public_key)

    @property
    def capability_names(self) -> List[str]:
        return capability_names(self.capabilities)

    def to_bytes(self) -> bytes:
        return (
            CanonicalWriter(self.TAG).string(self.tenant_id).string(self.principal_id).string(self.key_id)
            .string(self.algorithm).data(self.public_key).int64(self.capabilities).int64(self.not_before_ms)
            .int64(self.not_after_ms).string(self.issuer_key_id).bytes
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyCertificate":
        reader = CanonicalReader(data, cls.TAG)
        tenant_id, principal_id, identifier, algorithm = reader.string(), reader.string(), reader.string(), reader.string()
        if algorithm not in ALGORITHMS:
            raise Malformed()
        public_key = reader.data()
        capabilities, not_before, not_after = reader.int64(), reader.int64(), reader.int64()
        issuer = reader.string()
        reader.finish()
        return cls(tenant_id, principal_id, algorithm, public_key, capabilities, not_before, not_after, issuer,
                   key_id=identifier)


@dataclass(frozen=True)
class KeyRevocation(_Statement):
    """A certified key withdrawn: nothing it signed counts from then on."""

    TAG: ClassVar[str] = "lockbox/key-revocation/v1"
    tenant_id: str
    key_id: str
    issuer_key_id: str

    def to_bytes(self) -> bytes:
        return CanonicalWriter(self.TAG).string(self.tenant_id).string(self.key_id).string(self.issuer_key_id).bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyRevocation":
        reader = CanonicalReader(data, cls.TAG)
        value = cls(reader.string(), reader.string(), reader.string())
        reader.finish()
        return value


MAXIMUM_APPROVALS = 5


@dataclass(frozen=True)
class ApprovalRule:
    """How many distinct approvers decide a tenant's requests for one service (N of M), and
    whether one denial ends the request (else it only counts against the threshold)."""

    service: str
    approvals_required: int
    denial_ends: bool = True
    #: Each person counts once on a request, deciding for themselves or in a delegator's place.
    person_counts_once: bool = False

    @property
    def flags(self) -> int:
        return (1 if self.denial_ends else 0) | (2 if self.person_counts_once else 0)

    @classmethod
    def single(cls, service: str) -> "ApprovalRule":
        """What holds for a service the policy names no rule for: one approval decides."""
        return cls(service, 1)


@dataclass(frozen=True)
class AutoApprovalRule:
    """A tenant's pre-approval: requests for ``service`` with justification ``category``, for at
    most ``max_duration_seconds``, asking only for some of ``operations`` (lower-cased, sorted),
    are approved by the signed policy itself, without an approver."""

    service: str
    category: str
    max_duration_seconds: int
    operations: Tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "operations", tuple(sorted({op.lower() for op in self.operations})))

    def grants(self, service: str, category: Optional[str], duration_seconds: int, asked: Optional[Sequence[str]],
               preapproved: Sequence[str]) -> Optional[List[str]]:
        """The operations a request gets under this rule (Sources/LockboxTrust/Statements.swift):
        those it asked for (None: all of ``preapproved``) that the rule names; None when it does
        not match (another service or category, longer, or an operation the rule does not name)."""
        if service != self.service or category != self.category or duration_seconds > self.max_duration_seconds:
            return None
        allowed = set(self.operations)
        if asked is not None and not all(op in allowed for op in asked):
            return None
        granted = [op for op in (asked if asked is not None else preapproved) if op in allowed and op in preapproved]
        return granted or None


@dataclass(frozen=True)
class TenantPolicy(_Statement):
    """The tenant's rules, signed by its root or an administering key: whether the lockbox is
    on (flag bit 0), whether decisions must be signed (bit 1), whether a passkey must verify its
    user (bit 2), the WebAuthn relying party and the portal's origins, and how many approvers
    decide each service's requests. The highest version wins. Without approval rules it is
    ``lockbox/tenant-policy/v1``; with them ``lockbox/tenant-policy/v2``, which adds them
    (sorted by service) before the issuer."""

    TAG: ClassVar[str] = "lockbox/tenant-policy/v1"
    TAGS: ClassVar[Tuple[str, ...]] = ("lockbox/tenant-policy/v1", "lockbox/tenant-policy/v2")
    tenant_id: str
    version: int
    lockbox_enabled: bool = True
    signatures_required: bool = True
    user_verification_required: bool = True
    rp_id: str = ""
    origins: Tuple[str, ...] = ()
    issuer_key_id: str = ""
    approval_rules: Tuple[ApprovalRule, ...] = ()
    #: The justification categories requests must carry, sorted; empty accepts any, and none.
    justification_categories: Tuple[str, ...] = ()
    #: The tenant's pre-approvals, in the order signed.
    auto_approvals: Tuple[AutoApprovalRule, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "auto_approvals", tuple(self.auto_approvals))
        object.__setattr__(self, "origins", tuple(self.origins))
        object.__setattr__(self, "approval_rules", tuple(sorted(self.approval_rules, key=lambda r: r.service)))
        object.__setattr__(self, "justification_categories", tuple(sorted(set(self.justification_categories))))

    def approval_rule(self, service: str) -> ApprovalRule:
        """The rule for ``service``: the policy's own, or one approval."""
        for rule in self.approval_rules:
            if _same(rule.service, service):
                return rule
        return ApprovalRule.single(service)

    @property
    def flags(self) -> int:
        return (1 if self.lockbox_enabled else 0) | (2 if self.signatures_required else 0) | (
            4 if self.user_verification_required else 0
        )

    def to_bytes(self) -> bytes:
        v2 = bool(self.approval_rules or self.justification_categories or self.auto_approvals)
        writer = (
            CanonicalWriter(self.TAGS[1] if v2 else self.TAG).string(self.tenant_id)
            .int64(self.version).int64(self.flags).string(self.rp_id).strings(self.origins)
        )
        if v2:
            writer.int64(len(self.approval_rules))
            for rule in self.approval_rules:
                writer.string(rule.service).int64(rule.approvals_required).int64(rule.flags)
            writer.strings(self.justification_categories)
            writer.int64(len(self.auto_approvals))
            for rule in self.auto_approvals:
                writer.string(rule.service).string(rule.category).int64(rule.max_duration_seconds)
                writer.strings(rule.operations)
        return writer.string(self.issuer_key_id).bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "TenantPolicy":
        with_rules = not bytes(data).startswith(cls.TAG.encode() + b"\x00")
        reader = CanonicalReader(data, cls.TAGS[1] if with_rules else cls.TAG)
        tenant_id, version, flags = reader.string(), reader.int64(), reader.int64()
        if flags & ~7:
            raise Malformed()
        rp_id = reader.string()
        origins = reader.strings(32)
        rules: List[ApprovalRule] = []
        categories: Tuple[str, ...] = ()
        autos: List[AutoApprovalRule] = []
        if with_rules:
            count = reader.int64()
            if not 0 <= count <= 16:
                raise Malformed()
            for _ in range(count):
                service, required, ends = reader.string(), reader.int64(), reader.int64()
                if not 1 <= required <= MAXIMUM_APPROVALS or ends not in (0, 1, 2, 3):
                    raise Malformed()
                if rules and not rules[-1].service.encode() < service.encode():
                    raise Malformed()
                rules.append(ApprovalRule(service, required, bool(ends & 1), bool(ends & 2)))
            categories = tuple(reader.strings(16))
            if any(not a.encode() < b.encode() for a, b in zip(categories, categories[1:])):
                raise Malformed()
            count = reader.int64()
            if not 0 <= count <= 16:
                raise Malformed()
            for _ in range(count):
                service, category, seconds = reader.string(), reader.string(), reader.int64()
                operations = tuple(reader.strings(64))
                rule = AutoApprovalRule(service, category, seconds, operations)
                if seconds <= 0 or not operations or rule.operations != operations:
                    raise Malformed()
                autos.append(rule)
            if not rules and not categories and not autos:
                raise Malformed()
        issuer = reader.string()
        reader.finish()
        return cls(tenant_id, version, bool(flags & 1), bool(flags & 2), bool(flags & 4), rp_id, origins, issuer,
                   tuple(rules), categories, tuple(autos))

    @classmethod
    def initial(cls, tenant_id: str) -> "TenantPolicy":
        """What holds for a tenant with a root and no signed policy yet: the lockbox on,
        decisions signed, passkeys user-verified (version 0)."""
        return cls(tenant_id=tenant_id, version=0)

    @property
    def passkey_rules(self) -> "PasskeyRules":
        return PasskeyRules(self.rp_id, self.origins, self.user_verification_required)


@dataclass(frozen=True)
class DecisionStatement(_Statement):
    """A customer approver's decision on one access request: what the approver's own key signs.
    lockboxd prepares it (``GetAccessRequest`` with ``signing_key_id``) and accepts it only as
    it prepared it, but for an earlier end (a shorter grant)."""

    TAG: ClassVar[str] = "lockbox/decision/v1"
    #: v2 adds the number of approvals the tenant's policy asked for, when above one; v3, a
    #: delegate's decision, adds it always, then the delegation and the delegator.
    TAGS: ClassVar[Tuple[str, ...]] = ("lockbox/decision/v1", "lockbox/decision/v2", "lockbox/decision/v3")
    tenant_id: str
    request_id: str
    operator_id: str
    #: The lower-case service name: exchange, sharepoint, onedrive or teams.
    service: str
    #: The operations the grant allows, lower-cased and sorted.
    operations: Tuple[str, ...]
    starts_at_ms: int
    ends_at_ms: int
    #: "Approve" or "Deny".
    decision: str
    approver_id: str
    key_id: str
    #: lockboxd's nonce for this request's decision.
    nonce: bytes
    #: How many distinct approvers' decisions the tenant's policy asked for (N of M).
    approvals_required: int = 1
    #: A delegate's decision: the delegation it is made under (:attr:`DelegationStatement.id`)
    #: and the delegator it counts as. Both empty for an approver's own decision.
    delegation_id: str = ""
    on_behalf_of: str = ""
    #: Whether the tenant's rule had each person count once when lockboxd prepared it (signed,
    #: as the threshold is; v3 only).
    person_counts_once: bool = False

    def __post_init__(self):
        object.__setattr__(self, "operations", tuple(self.operations))
        object.__setattr__(self, "nonce", bytes(self.nonce))

    def lapsed(self, at_ms: int) -> bool:
        """An approval whose signed window has ended by ``at_ms``: it counts for nothing."""
        return _same(self.decision, APPROVE) and self.ends_at_ms <= at_ms

    @property
    def counted_approver_id(self) -> str:
        """The approver the decision counts as: the delegator it is made for, or its signer."""
        return self.on_behalf_of if self.delegation_id else self.approver_id

    def _tag(self) -> str:
        if self.delegation_id or self.person_counts_once:
            return self.TAGS[2]
        return self.TAG if self.approvals_required == 1 else self.TAGS[1]

    def to_bytes(self) -> bytes:
        tag = self._tag()
        writer = (
            CanonicalWriter(tag).string(self.tenant_id)
            .string(self.request_id).string(self.operator_id)
            .string(self.service).strings(self.operations).int64(self.starts_at_ms).int64(self.ends_at_ms)
            .string(self.decision).string(self.approver_id).string(self.key_id).data(self.nonce)
        )
        if tag != self.TAG:
            writer.int64(self.approvals_required)
        if tag == self.TAGS[2]:
            writer.int64(1 if self.person_counts_once else 0).string(self.delegation_id).string(self.on_behalf_of)
        return writer.bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "DecisionStatement":
        tag = next((t for t in cls.TAGS if bytes(data).startswith(t.encode() + b"\x00")), None)
        if tag is None:
            raise Malformed()
        reader = CanonicalReader(data, tag)
        tenant_id, request_id, operator_id, service = reader.string(), reader.string(), reader.string(), reader.string()
        operations = reader.strings(1000)
        starts, ends = reader.int64(), reader.int64()
        decision, approver, identifier = reader.string(), reader.string(), reader.string()
        nonce = reader.data()
        required, delegation, behalf, once = 1, "", "", False
        if tag != cls.TAG:
            required = reader.int64()
            # One encoding per statement: v2 only above 1, v3 only with a delegation.
            lowest = 2 if tag == cls.TAGS[1] else 1
            if not lowest <= required <= MAXIMUM_APPROVALS:
                raise Malformed()
        if tag == cls.TAGS[2]:
            flags, delegation, behalf = reader.int64(), reader.string(), reader.string()
            # A delegation names its delegator, and v3 holds a delegation or the flag.
            if flags not in (0, 1) or bool(delegation) != bool(behalf) or not (delegation or flags == 1):
                raise Malformed()
            once = flags == 1
        reader.finish()
        return cls(tenant_id, request_id, operator_id, service, operations, starts, ends, decision, approver,
                   identifier, nonce, required, delegation, behalf, once)

    def allows(self, operation: str, at_ms: int) -> bool:
        """Whether the statement approves ``operation`` at ``at_ms`` (names compared case-insensitively)."""
        wanted = operation.lower()
        return (
            _same(self.decision, APPROVE)
            and self.starts_at_ms <= at_ms < self.ends_at_ms
            and any(_same(name, wanted) for name in self.operations)
        )


#: The longest period a delegation covers.
MAXIMUM_DELEGATION_MS = 90 * 86_400_000


def delegation_id(data: bytes) -> str:
    """A delegation's id: ``dlg_`` and the first 32 hex digits of SHA-256 over its bytes."""
    return "dlg_" + hashlib.sha256(bytes(data)).hexdigest()[:32]


@dataclass(frozen=True)
class DelegationStatement(_Statement):
    """An approver's word that another approver of the same tenant may decide in their place
    for a period (``lockbox/delegation/v1``), signed by a key certified to the delegator to
    decide. A delegate's decision names it by :attr:`id` and counts as the delegator's."""

    TAG: ClassVar[str] = "lockbox/delegation/v1"
    tenant_id: str
    delegator_id: str
    #: The delegator's key that signs it.
    key_id: str
    delegate_id: str
    #: Lower-case services, sorted; empty: every service.
    services: Tuple[str, ...]
    starts_at_ms: int
    ends_at_ms: int
    nonce: bytes

    def __post_init__(self):
        object.__setattr__(self, "services", tuple(sorted(set(self.services))))
        object.__setattr__(self, "nonce", bytes(self.nonce))

    def to_bytes(self) -> bytes:
        return (
            CanonicalWriter(self.TAG).string(self.tenant_id).string(self.delegator_id).string(self.key_id)
            .string(self.delegate_id).strings(self.services).int64(self.starts_at_ms).int64(self.ends_at_ms)
            .data(self.nonce).bytes
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "DelegationStatement":
        reader = CanonicalReader(data, cls.TAG)
        tenant_id, delegator, identifier, delegate = reader.string(), reader.string(), reader.string(), reader.string()
        services = reader.strings(16)
        starts, ends, nonce = reader.int64(), reader.int64(), reader.data()
        reader.finish()
        if list(services) != sorted(set(services)):
            raise Malformed()
        return cls(tenant_id, delegator, identifier, delegate, tuple(services), starts, ends, nonce)

    @property
    def id(self) -> str:
        return delegation_id(self.to_bytes())

    @property
    def terms_problem(self) -> Optional[str]:
        """Why the delegation's own terms do not hold, or None."""
        if not self.delegator_id or not self.delegate_id:
            return "a delegation names its delegator and its delegate"
        if _same(self.delegator_id, self.delegate_id):
            return "an approver cannot delegate to themselves"
        if self.ends_at_ms <= self.starts_at_ms:
            return "the delegation's period ends before it starts"
        if self.ends_at_ms - self.starts_at_ms > MAXIMUM_DELEGATION_MS:
            return "a delegation covers at most 90 days"
        if len(self.nonce) < 16:
            return "a delegation carries a nonce of at least 16 bytes"
        return None

    def covers(self, decision: "DecisionStatement") -> bool:
        """Whether ``decision`` may count as the delegator's under this delegation (its own
        signature and revocation are :class:`TenantTrust`'s to check)."""
        return (
            decision.delegation_id == self.id and _same(decision.tenant_id, self.tenant_id)
            and _same(decision.approver_id, self.delegate_id) and _same(decision.on_behalf_of, self.delegator_id)
            and (not self.services or any(_same(decision.service, name) for name in self.services))
            and self.starts_at_ms <= decision.starts_at_ms < self.ends_at_ms
        )


@dataclass(frozen=True)
class DelegationRevocation(_Statement):
    """A delegation withdrawn (``lockbox/delegation-revocation/v1``): decisions made under it
    count for nothing from then on. Signed by a key certified to the delegator to decide, or
    by one that administers the tenant."""

    TAG: ClassVar[str] = "lockbox/delegation-revocation/v1"
    tenant_id: str
    delegation_id: str
    issuer_key_id: str

    def to_bytes(self) -> bytes:
        return CanonicalWriter(self.TAG).string(self.tenant_id).string(self.delegation_id).string(
            self.issuer_key_id).bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "DelegationRevocation":
        reader = CanonicalReader(data, cls.TAG)
        value = cls(reader.string(), reader.string(), reader.string())
        reader.finish()
        return value


def as_delegation(value: Any) -> DelegationStatement:
    """A :class:`DelegationStatement`, or one read from a ``pb.Delegation`` (checked to be the
    statement its id names) or from its bytes."""
    if isinstance(value, DelegationStatement):
        return value
    if isinstance(value, pb.Delegation):
        statement = DelegationStatement.from_bytes(bytes(value.statement))
        if statement.id != value.delegation_id:
            raise ValueError("delegation %s is not the statement its id names" % value.delegation_id)
        return statement
    return DelegationStatement.from_bytes(bytes(value))


_STATEMENTS = (TenantRootStatement, RootAttestation, KeyCertificate, KeyRevocation, TenantPolicy, DecisionStatement,
               DelegationStatement, DelegationRevocation)


def decode_statement(data: bytes):
    """Any statement above from its bytes, by its tag; :class:`Malformed` otherwise."""
    data = bytes(data)
    for kind in _STATEMENTS:
        for tag in getattr(kind, "TAGS", (kind.TAG,)):
            if data.startswith(tag.encode() + b"\x00"):
                return kind.from_bytes(data)
    raise Malformed()


def quorum_backs(decisions: Sequence[DecisionStatement], rule: ApprovalRule, operation: str, at_ms: int) -> bool:
    """Whether ``decisions`` back ``operation`` at ``at_ms`` (Sources/LockboxTrust/Quorum.swift):
    at least the rule's number of distinct approvers, or the number any of them signed if
    higher, signed an approval that allows it then; and, under a rule where a denial ends the
    request, nobody denied it."""
    if rule.denial_ends and any(_same(d.decision, DENY) for d in decisions):
        return False
    # Each person counts once when the rule or any decision signed says so; an approver with a
    # denial never also counts as approving.
    once = rule.person_counts_once or any(d.person_counts_once for d in decisions)
    denying = {_k(d.counted_approver_id) for d in decisions if _same(d.decision, DENY)}
    approvers: set = set()
    signers: set = set()
    for d in decisions:
        if not d.allows(operation, at_ms) or _k(d.counted_approver_id) in approvers:
            continue
        if _k(d.counted_approver_id) in denying:
            continue
        # Under a rule where each person counts once, a signer counts once too.
        if once:
            if _k(d.approver_id) in signers:
                continue
            signers.add(_k(d.approver_id))
        approvers.add(_k(d.counted_approver_id))
    required = max([rule.approvals_required] + [d.approvals_required for d in decisions])
    return len(approvers) >= required


# -- signatures (Sources/LockboxTrust/Signatures.swift) -------------------------------------


def webauthn_challenge(statement: bytes) -> str:
    """The challenge a passkey signs for ``statement``: SHA-256 of its bytes, base64url without
    padding (what a portal passes to ``navigator.credentials.get()``)."""
    return base64.urlsafe_b64encode(_sha256(bytes(statement))).decode("ascii").rstrip("=")


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class WebAuthnAssertion:
    """A passkey's assertion over a statement, relayed as the browser gave it."""

    authenticator_data: bytes
    client_data_json: bytes

    challenge = staticmethod(webauthn_challenge)


@dataclass(frozen=True)
class SignedBytes:
    """A statement's bytes and their signature by one key (and, for a passkey, its assertion)."""

    statement: bytes
    key_id: str
    signature: bytes
    assertion: Optional[WebAuthnAssertion] = None

    def to_proto(self) -> pb.SignedDecision:
        """As ``CustomerDecision.signed_decision`` carries it."""
        message = pb.SignedDecision(statement=self.statement, key_id=self.key_id, signature=self.signature)
        if self.assertion is not None:
            message.authenticator_data = self.assertion.authenticator_data
            message.client_data_json = self.assertion.client_data_json
        return message

    @classmethod
    def from_proto(cls, message: pb.SignedDecision) -> "SignedBytes":
        authenticator, client = bytes(message.authenticator_data), bytes(message.client_data_json)
        return cls(
            bytes(message.statement), message.key_id, bytes(message.signature),
            WebAuthnAssertion(authenticator, client) if authenticator or client else None,
        )

    @classmethod
    def from_browser(cls, statement: bytes, key_id: str, credential: Mapping[str, Any]) -> "SignedBytes":
        """A passkey's decision from the JSON a browser's ``PublicKeyCredential.toJSON()`` gives
        (``response.{authenticatorData, clientDataJSON, signature}``, base64url), over the
        ``statement`` whose :func:`webauthn_challenge` the portal asked it to sign."""
        response = credential["response"]
        return cls(
            bytes(statement), key_id, _b64url(response["signature"]),
            WebAuthnAssertion(_b64url(response["authenticatorData"]), _b64url(response["clientDataJSON"])),
        )


class TrustProblem(Exception):
    """Why a signature or a chain does not hold; ``kind`` is one of malformed, bad_signature,
    unknown_key, revoked, expired, not_allowed, mismatch, webauthn, no_root. ``str()`` says
    what a person can check, in the words of the Swift side."""

    _TEMPLATES = {
        "malformed": "%s is not in the canonical encoding",
        "bad_signature": "the signature of %s does not verify",
        "unknown_key": "key %s is not certified for this tenant",
        "revoked": "key %s was revoked",
        "expired": "key %s's certificate is not valid at that time",
        "not_allowed": "%s",
        "mismatch": "%s",
        "webauthn": "the passkey's assertion does not hold: %s",
        "no_root": "%s",
    }

    def __init__(self, kind: str, what: str):
        self.kind = kind
        self.what = what
        super().__init__(self._TEMPLATES[kind] % what)

    def __eq__(self, other):
        return isinstance(other, TrustProblem) and (self.kind, self.what) == (other.kind, other.what)

    def __hash__(self):
        return hash((self.kind, self.what))


@dataclass(frozen=True)
class PasskeyRules:
    """What a passkey's assertion must show: the relying party and origins of the tenant's
    policy, and whether the user must be verified."""

    rp_id: str
    origins: Tuple[str, ...]
    user_verification_required: bool


@dataclass(frozen=True)
class TrustKey:
    """A key that may sign for a tenant: its algorithm and public key."""

    key_id: str
    algorithm: str
    public_key: bytes

    def verify(self, signed: SignedBytes, rules: Optional[PasskeyRules]) -> int:
        """Checks ``signed`` as this key's; returns the authenticator's counter (0 for Ed25519),
        raises :class:`TrustProblem`. For a passkey, as a WebAuthn relying party checks an
        assertion: the client data's type, challenge (the statement's hash) and origin, the
        relying party's id hash, user present and (when the rules ask) user verified, then the
        ECDSA signature over the authenticator data and the client data's hash."""
        bad = TrustProblem("bad_signature", "the statement signed by %s" % self.key_id)
        if self.algorithm == ED25519:
            if signed.assertion is not None:
                raise bad
            try:
                Ed25519PublicKey.from_public_bytes(bytes(self.public_key)).verify(
                    bytes(signed.signature), bytes(signed.statement)
                )
            except (ValueError, InvalidSignature):
                raise bad from None
            return 0
        if self.algorithm != ES256_WEBAUTHN:
            raise bad
        assertion = signed.assertion
        if assertion is None:
            raise TrustProblem("webauthn", "a passkey's signature comes with its authenticator data and client data")
        if rules is None:
            raise TrustProblem("webauthn", "the tenant's policy names no relying party")
        try:
            client = json.loads(bytes(assertion.client_data_json))
        except (ValueError, UnicodeDecodeError):
            client = None
        if not isinstance(client, dict):
            raise TrustProblem("webauthn", "clientDataJSON is not a JSON object")
        kind = client.get("type")
        if not (isinstance(kind, str) and _same(kind, "webauthn.get")):
            raise TrustProblem("webauthn", "clientDataJSON's type is not webauthn.get")
        challenge = client.get("challenge")
        if not (isinstance(challenge, str) and _same(challenge, webauthn_challenge(signed.statement))):
            raise TrustProblem("webauthn", "the challenge is not this statement's")
        origin = client.get("origin")
        if not (isinstance(origin, str) and any(_same(origin, allowed) for allowed in rules.origins)):
            raise TrustProblem("webauthn", "the origin is not one of the tenant's")
        data = bytes(assertion.authenticator_data)
        if len(data) < 37:
            raise TrustProblem("webauthn", "the authenticator data is too short")
        if data[:32] != _sha256(rules.rp_id.encode("utf-8")) or rules.rp_id == "":
            raise TrustProblem("webauthn", "the relying party is not the tenant's")
        flags = data[32]
        if not flags & 0x01:
            raise TrustProblem("webauthn", "the user was not present")
        if rules.user_verification_required and not flags & 0x04:
            raise TrustProblem("webauthn", "the user was not verified, and the tenant's policy requires it")
        counter = int.from_bytes(data[33:37], "big")
        try:
            key = serialization.load_der_public_key(bytes(self.public_key))
        except (ValueError, TypeError):
            raise bad from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise bad
        try:
            key.verify(bytes(signed.signature), data + _sha256(bytes(assertion.client_data_json)),
                       ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature):
            raise bad from None
        return counter


# -- keys that sign --------------------------------------------------------------------------


class TenantSigner:
    """A tenant key in a file: an Ed25519 private key, its 32-byte seed in base64 on one line,
    readable by its owner only (``lockbox keys generate`` writes the same files)."""

    algorithm = ED25519

    def __init__(self, seed: bytes, *, path: Optional[str] = None):
        seed = bytes(seed)
        if len(seed) != 32:
            raise ValueError("an Ed25519 key's seed is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._seed = seed
        #: The raw 32-byte public key (what a certificate or a root names).
        self.public_key = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = key_id(self.public_key, ED25519)
        self.path = path

    def __repr__(self) -> str:
        return "<TenantSigner %s>" % self.key_id

    @classmethod
    def generate(cls) -> "TenantSigner":
        """A new key, in memory only."""
        return cls(os.urandom(32))

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "TenantSigner":
        """The key in ``path``, refusing a file that is not regular or that others may read."""
        path = os.fspath(path)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise ValueError("the key file %s is not a regular file" % path)
            if status.st_mode & 0o077:
                raise PermissionError("the key file %s is readable by others; chmod 600 it" % path)
            data = os.read(descriptor, 512)
        finally:
            os.close(descriptor)
        try:
            seed = base64.b64decode(data.strip(), validate=True)
            return cls(seed, path=path)
        except ValueError:
            raise ValueError(
                "%s does not hold a key (32 bytes, base64, as lockbox keys generate writes)" % path
            ) from None

    @classmethod
    def create(cls, path: "os.PathLike[str] | str") -> "TenantSigner":
        """A new key written to ``path``, which must not exist: created with mode 600."""
        path = os.fspath(path)
        seed = os.urandom(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            text = base64.b64encode(seed) + b"\n"
            if os.write(descriptor, text) != len(text):
                raise OSError("cannot write %s" % path)
        finally:
            os.close(descriptor)
        return cls(seed, path=path)

    @classmethod
    def load_or_create(cls, path: "os.PathLike[str] | str") -> "TenantSigner":
        """The key in ``path``, made there first when the file does not exist."""
        if os.path.exists(path):
            return cls.load(path)
        return cls.create(path)

    def save(self, path: "os.PathLike[str] | str") -> None:
        """Writes this key to ``path`` (which must not exist), mode 600."""
        path = os.fspath(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            os.write(descriptor, base64.b64encode(self._seed) + b"\n")
        finally:
            os.close(descriptor)
        self.path = path

    def signature(self, data: bytes) -> bytes:
        """The Ed25519 signature over ``data``."""
        return self._key.sign(bytes(data))

    def sign_bytes(self, statement: bytes) -> SignedBytes:
        """A statement's exact bytes, signed (what a prepared decision needs)."""
        statement = bytes(statement)
        return SignedBytes(statement, self.key_id, self.signature(statement))

    def sign(self, statement: _Statement) -> SignedBytes:
        """A statement's canonical bytes, signed."""
        return self.sign_bytes(statement.to_bytes())

    @property
    def trust_key(self) -> TrustKey:
        return TrustKey(self.key_id, ED25519, self.public_key)


class SoftwarePasskey:
    """A WebAuthn authenticator in software, for tests (as Tests/LockboxTestSupport's): a P-256
    key that makes assertions as a browser relays them. Usable wherever a signer is (its
    :meth:`sign_bytes` asserts with the user present and verified)."""

    algorithm = ES256_WEBAUTHN

    def __init__(self, rp_id: str = "portal.contoso.example", origin: str = "https://portal.contoso.example"):
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.rp_id = rp_id
        self.origin = origin
        self.counter = 0
        #: The public key as a browser's ``getPublicKey()`` gives it: SPKI, DER.
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = key_id(self.public_key, ES256_WEBAUTHN)

    def __repr__(self) -> str:
        return "<SoftwarePasskey %s>" % self.key_id

    def assert_statement(
        self,
        statement: bytes,
        *,
        user_verified: bool = True,
        user_present: bool = True,
        type: str = "webauthn.get",
        challenge: Optional[str] = None,
        origin: Optional[str] = None,
        rp_id: Optional[str] = None,
    ) -> SignedBytes:
        """Asserts ``statement``; the flags, type, challenge, origin and relying party may be
        changed to make assertions a relying party must refuse."""
        self.counter += 1
        client = {
            "challenge": challenge if challenge is not None else webauthn_challenge(statement),
            "crossOrigin": False,
            "origin": origin if origin is not None else self.origin,
            "type": type,
        }
        client_data = json.dumps(client, sort_keys=True, separators=(",", ":")).encode("utf-8")
        authenticator = _sha256((rp_id if rp_id is not None else self.rp_id).encode("utf-8"))
        authenticator += bytes([(0x01 if user_present else 0) | (0x04 if user_verified else 0)])
        authenticator += self.counter.to_bytes(4, "big")
        signature = self._key.sign(authenticator + _sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return SignedBytes(bytes(statement), self.key_id, signature, WebAuthnAssertion(authenticator, client_data))

    def sign_bytes(self, statement: bytes) -> SignedBytes:
        return self.assert_statement(statement)

    @property
    def trust_key(self) -> TrustKey:
        return TrustKey(self.key_id, ES256_WEBAUTHN, self.public_key)


# -- the chain (Sources/LockboxTrust/TenantTrust.swift) ------------------------------------


@dataclass(frozen=True)
class RootRecord:
    """A tenant root as stored: its statement, signed by itself, and for a rotation also by the
    root it replaces (``previous_signature``; empty for the first root)."""

    statement: bytes
    signature: bytes
    previous_signature: bytes = b""


@dataclass
class TrustMaterial:
    """Everything a tenant's keys signed about its own trust. Certificates, revocations and
    policies are :class:`SignedBytes` whose ``key_id`` is the issuer's."""

    tenant_id: str
    roots: List[RootRecord] = field(default_factory=list)
    certificates: List[SignedBytes] = field(default_factory=list)
    revocations: List[SignedBytes] = field(default_factory=list)
    policies: List[SignedBytes] = field(default_factory=list)
    #: Approvers' delegations (``key_id`` the delegator's) and their revocations.
    delegations: List[SignedBytes] = field(default_factory=list)
    delegation_revocations: List[SignedBytes] = field(default_factory=list)


def _may_issue(certificate: KeyCertificate) -> bool:
    return bool(certificate.capabilities & ADMINISTER) and certificate.algorithm == ED25519


Anchor = Callable[[TenantRootStatement, RootRecord], bool]


def pinned_anchor(public_keys: Iterable[Union[bytes, str]]) -> Anchor:
    """An anchor that trusts roots with these raw public keys (bytes, or hex)."""
    pinned = [bytes.fromhex(key) if isinstance(key, str) else bytes(key) for key in public_keys]
    return lambda root, _record: root.public_key in pinned


class TenantTrust:
    """What a tenant's trust material establishes, verified from an anchor the verifier trusts.

    Rules: each root is signed by itself and, from the second, by the root before it; the chain
    starts at the first root ``anchor`` accepts. A certificate is signed by a root of the chain
    or by a certified Ed25519 key that may administer, transitively; a revoked key, and every
    certificate it issued, counts for nothing (revocations count from any key that could issue).
    The policy is the highest version signed by a root or an administering key; without one,
    the initial policy holds (lockbox on, decisions signed, passkeys user-verified)."""

    def __init__(self, material: TrustMaterial, anchor: Union[Anchor, Iterable[Union[bytes, str]]]):
        if not callable(anchor):
            anchor = pinned_anchor(anchor)
        self.tenant_id = material.tenant_id
        #: The trusted roots, oldest first.
        self.roots: List[TenantRootStatement] = []
        self._certificates: Dict[str, KeyCertificate] = {}
        self._revoked: Dict[str, str] = {}
        self.policy: Optional[TenantPolicy] = None
        #: The delegations that hold, by id; and the ids of those withdrawn.
        self.delegations: Dict[str, DelegationStatement] = {}
        self.revoked_delegations: set = set()
        #: For each revoked delegation, the key of the first revocation that verified.
        self.delegation_revoked_by: Dict[str, str] = {}
        #: What was passed over, and why.
        self.problems: List[TrustProblem] = []
        self._verify_roots(material, anchor)
        if not self.roots:
            self.problems.append(TrustProblem("no_root", "no root of tenant %s is trusted" % material.tenant_id))
            return
        root_keys = {_k(root.key_id): TrustKey(root.key_id, ED25519, root.public_key) for root in self.roots}
        every_issuer = self._issued(material.certificates, root_keys, excluding=set())
        issuers = dict(root_keys)
        for identifier, certificate in every_issuer.items():
            if _may_issue(certificate):
                issuers[identifier] = certificate.key
        for signed in material.revocations:
            try:
                revocation = KeyRevocation.from_bytes(signed.statement)
            except Malformed:
                self.problems.append(TrustProblem("malformed", "a key revocation"))
                continue
            issuer = issuers.get(_k(signed.key_id))
            if not (_same(revocation.tenant_id, self.tenant_id) and _same(revocation.issuer_key_id, signed.key_id)
                    and issuer is not None and _verifies(issuer, signed, None)):
                self.problems.append(TrustProblem("bad_signature", "the revocation of %s" % revocation.key_id))
                continue
            self._revoked[_k(revocation.key_id)] = revocation.key_id
        self._certificates = self._issued(material.certificates, root_keys, excluding=set(self._revoked))
        self.policy = self._verify_policies(material.policies, root_keys) or TenantPolicy.initial(self.tenant_id)
        self._verify_delegations(material, root_keys, every_issuer)

    def _verify_delegations(self, material: TrustMaterial, root_keys: Dict[str, TrustKey],
                            every_certificate: Dict[str, KeyCertificate]) -> None:
        """A revocation stands when its key is revoked later, as a key revocation does: its
        signer is looked up among every certificate that chains to a root, revoked or not."""
        found: Dict[str, DelegationStatement] = {}
        for item in material.delegations:
            try:
                delegation = DelegationStatement.from_bytes(item.statement)
                wellformed = (_same(delegation.tenant_id, self.tenant_id) and _same(delegation.key_id, item.key_id)
                              and delegation.terms_problem is None)
            except Malformed:
                wellformed = False
            if not wellformed:
                self.problems.append(TrustProblem("malformed", "a delegation"))
                continue
            try:
                certificate = self.key(item.key_id, DECIDE, delegation.delegator_id, delegation.starts_at_ms)
                certificate.key.verify(item, self.passkey_rules)
            except TrustProblem:
                self.problems.append(TrustProblem("bad_signature", "delegation %s" % delegation.id))
                continue
            found[delegation.id] = delegation
        for item in material.delegation_revocations:
            try:
                revocation = DelegationRevocation.from_bytes(item.statement)
                wellformed = _same(revocation.tenant_id, self.tenant_id) and _same(revocation.issuer_key_id, item.key_id)
            except Malformed:
                wellformed = False
            if not wellformed:
                self.problems.append(TrustProblem("malformed", "a delegation revocation"))
                continue
            # An administering key, or a key certified to the delegator to decide; revoked since or not.
            issuer = root_keys.get(_k(item.key_id))
            certificate = every_certificate.get(_k(item.key_id))
            if issuer is None and certificate is not None and _may_issue(certificate):
                issuer = certificate.key
            delegation = found.get(revocation.delegation_id)
            if (issuer is None and delegation is not None and certificate is not None
                    and _same(certificate.principal_id, delegation.delegator_id) and certificate.capabilities & DECIDE):
                issuer = certificate.key
            if issuer is None or not _verifies(issuer, item, self.passkey_rules):
                self.problems.append(
                    TrustProblem("bad_signature", "the revocation of delegation %s" % revocation.delegation_id)
                )
                continue
            if revocation.delegation_id not in self.revoked_delegations:
                self.revoked_delegations.add(revocation.delegation_id)
                self.delegation_revoked_by[revocation.delegation_id] = item.key_id
        self.delegations = {k: v for k, v in found.items() if k not in self.revoked_delegations}

    @property
    def root(self) -> Optional[TenantRootStatement]:
        """The current root: the last of the chain."""
        return self.roots[-1] if self.roots else None

    @property
    def certificates(self) -> Dict[str, KeyCertificate]:
        """The certified keys that chain to a root and are not revoked, by key id."""
        return {certificate.key_id: certificate for certificate in self._certificates.values()}

    @property
    def revoked(self) -> frozenset:
        return frozenset(self._revoked.values())

    def _verify_roots(self, material: TrustMaterial, anchor: Anchor) -> None:
        previous: Optional[TenantRootStatement] = None
        for record in material.roots:
            try:
                root = TenantRootStatement.from_bytes(record.statement)
                wellformed = _same(root.tenant_id, material.tenant_id) and _same(root.key_id, key_id(root.public_key))
            except Malformed:
                wellformed = False
            if not wellformed:
                self.problems.append(TrustProblem("malformed", "a tenant root"))
                break
            key = TrustKey(root.key_id, ED25519, root.public_key)
            if not _verifies(key, SignedBytes(record.statement, root.key_id, record.signature), None):
                self.problems.append(TrustProblem("bad_signature", "tenant root %s" % root.key_id))
                break
            if not self.roots:
                # Before the anchor nothing is trusted; the anchor starts the chain.
                if anchor(root, record):
                    self.roots.append(root)
                previous = root
                continue
            if previous is None or not _same(root.previous_key_id, previous.key_id):
                self.problems.append(
                    TrustProblem("mismatch", "tenant root %s does not name the root it replaces" % root.key_id)
                )
                break
            before = TrustKey(previous.key_id, ED25519, previous.public_key)
            if not _verifies(before, SignedBytes(record.statement, previous.key_id, record.previous_signature), None):
                self.problems.append(TrustProblem("bad_signature", "the rotation to tenant root %s" % root.key_id))
                break
            self.roots.append(root)
            previous = root

    def _issued(self, signed: Sequence[SignedBytes], roots: Dict[str, TrustKey], excluding) -> Dict[str, KeyCertificate]:
        issuers = dict(roots)
        issued: Dict[str, KeyCertificate] = {}
        pending = []
        for item in signed:
            try:
                certificate = KeyCertificate.from_bytes(item.statement)
            except Malformed:
                continue
            if (_same(certificate.tenant_id, self.tenant_id) and _same(certificate.issuer_key_id, item.key_id)
                    and _same(certificate.key_id, key_id(certificate.public_key, certificate.algorithm))
                    and _k(certificate.key_id) not in excluding):
                pending.append((item, certificate))
        progress = True
        while progress:
            progress = False
            kept = []
            for item, certificate in pending:
                issuer = issuers.get(_k(item.key_id))
                if issuer is None or not _verifies(issuer, item, None):
                    kept.append((item, certificate))
                    continue
                issued[_k(certificate.key_id)] = certificate
                if _may_issue(certificate):
                    issuers[_k(certificate.key_id)] = certificate.key
                progress = True
            pending = kept
        return issued

    def _verify_policies(self, signed: Sequence[SignedBytes], root_keys: Dict[str, TrustKey]) -> Optional[TenantPolicy]:
        best: Optional[TenantPolicy] = None
        for item in signed:
            try:
                policy = TenantPolicy.from_bytes(item.statement)
                wellformed = _same(policy.tenant_id, self.tenant_id) and _same(policy.issuer_key_id, item.key_id)
            except Malformed:
                wellformed = False
            if not wellformed:
                self.problems.append(TrustProblem("malformed", "a tenant policy"))
                continue
            issuer = root_keys.get(_k(item.key_id))
            if issuer is None:
                certificate = self._certificates.get(_k(item.key_id))
                issuer = certificate.key if certificate is not None and _may_issue(certificate) else None
            if issuer is None or not _verifies(issuer, item, None):
                self.problems.append(TrustProblem("bad_signature", "tenant policy version %d" % policy.version))
                continue
            if policy.version > (best.version if best is not None else 0):
                best = policy
        return best

    def key(self, identifier: str, capability: int, principal_id: str, at_ms: int) -> KeyCertificate:
        """The key ``identifier``, certified to ``principal_id`` for ``capability`` and valid at
        ``at_ms``; raises :class:`TrustProblem`."""
        if _k(identifier) in self._revoked:
            raise TrustProblem("revoked", identifier)
        certificate = self._certificates.get(_k(identifier))
        if certificate is None:
            raise TrustProblem("unknown_key", identifier)
        if not _same(certificate.principal_id, principal_id):
            raise TrustProblem("mismatch", "key %s is certified to another principal" % identifier)
        if certificate.capabilities & capability != capability:
            raise TrustProblem(
                "not_allowed", "key %s is not certified to %s" % (identifier, ", ".join(capability_names(capability)))
            )
        if not certificate.not_before_ms <= at_ms < certificate.not_after_ms:
            raise TrustProblem("expired", identifier)
        return certificate

    @property
    def passkey_rules(self) -> Optional[PasskeyRules]:
        """The passkey rules of the policy in force."""
        return self.policy.passkey_rules if self.policy is not None else None

    def verify_decision(self, signed: SignedBytes) -> Tuple[DecisionStatement, int]:
        """A signed decision, verified: its statement parses, names this tenant, was signed by
        the key it names, certified to the approver it names to decide, valid when lockboxd
        prepared it. Returns the statement and the authenticator's counter; raises
        :class:`TrustProblem`."""
        try:
            decision = DecisionStatement.from_bytes(signed.statement)
        except Malformed:
            raise TrustProblem("malformed", "the decision") from None
        if not _same(decision.tenant_id, self.tenant_id):
            raise TrustProblem("mismatch", "the decision is another tenant's")
        if not _same(decision.key_id, signed.key_id):
            raise TrustProblem("mismatch", "the decision names another key than the one that signed it")
        certificate = self.key(signed.key_id, DECIDE, decision.approver_id, decision.starts_at_ms)
        if decision.delegation_id:
            delegation = self.delegations.get(decision.delegation_id)
            if delegation is None:
                if decision.delegation_id in self.revoked_delegations:
                    raise TrustProblem("not_allowed", "delegation %s was revoked" % decision.delegation_id)
                raise TrustProblem(
                    "not_allowed", "delegation %s is not one of this tenant's approvers signed" % decision.delegation_id
                )
            if not delegation.covers(decision):
                raise TrustProblem(
                    "mismatch",
                    "the decision does not fit delegation %s: another delegate, delegator or service, or outside its "
                    "period" % decision.delegation_id,
                )
            # The delegator's own key must still hold when the delegate decides.
            try:
                self.key(delegation.key_id, DECIDE, delegation.delegator_id, decision.starts_at_ms)
            except TrustProblem:
                raise TrustProblem("expired", delegation.key_id) from None
        counter = certificate.key.verify(signed, self.passkey_rules)
        return decision, counter


def _verifies(key: TrustKey, signed: SignedBytes, rules: Optional[PasskeyRules]) -> bool:
    try:
        key.verify(signed, rules)
        return True
    except TrustProblem:
        return False


def material_from_proto(trust: pb.TenantTrust, tenant_id: Optional[str] = None) -> TrustMaterial:
    """The material of a ``GetTenantTrust`` answer (revocations lockboxd made itself, with no
    statement, are known to lockboxd only, and left out; the policy only when it is signed)."""
    if tenant_id is None:
        tenant_id = trust.roots[0].tenant_id if trust.roots else trust.policy.tenant_id
    material = TrustMaterial(tenant_id)
    for root in trust.roots:
        material.roots.append(RootRecord(bytes(root.statement), bytes(root.signature), bytes(root.previous_signature)))
    for certified in trust.keys:
        material.certificates.append(
            SignedBytes(bytes(certified.statement), certified.issuer_key_id, bytes(certified.signature))
        )
    if trust.HasField("policy") and trust.policy.statement:
        material.policies.append(
            SignedBytes(bytes(trust.policy.statement), trust.policy.issuer_key_id, bytes(trust.policy.signature))
        )
    return material


def verify_root_attestation(root: pb.TenantRoot, server_keys: Mapping[str, bytes]) -> RootAttestation:
    """Checks lockboxd's attestation of a root (``TenantRoot.attestation``) against trusted server
    keys (key id -> raw public key, e.g. from a saved keys file); raises :class:`TrustProblem`."""
    attestation = RootAttestation(root.tenant_id, root.key_id, _sha256(bytes(root.statement)), root.attested_by)
    raw = server_keys.get(root.attested_by)
    if raw is None:
        raise TrustProblem("unknown_key", root.attested_by)
    key = TrustKey(root.attested_by, ED25519, bytes(raw))
    key.verify(SignedBytes(attestation.to_bytes(), root.attested_by, bytes(root.attestation)), None)
    return attestation


# -- evidence (Sources/LockboxTrust/Evidence.swift) -----------------------------------------


@dataclass
class AccessEvidence:
    """What backs a grant, for a data plane to check on its own (``CheckAccess`` with
    ``include_evidence``): the tenant's roots, its policy, and the approvers' signed decisions
    (as many as the policy's approval rule asks for, at most five) with the certificates that
    chain their keys to a root (none when the tenant's signed policy has the lockbox off).
    ``decision`` is the first of ``decisions``, or None. Encoded canonically (``lockbox/evidence/v1``): the tenant, an
    int64 count, then per item its kind ("root", "certificate", "revocation", "policy",
    "delegation", "delegation-revocation", "decision"), statement, signer key id, signature, second signature (a root rotation's by
    the previous root), authenticator data and client data (a passkey's decision)."""

    TAG: ClassVar[str] = "lockbox/evidence/v1"
    material: TrustMaterial
    decisions: List[SignedBytes] = field(default_factory=list)

    def __init__(self, material: TrustMaterial, decisions: Union[None, SignedBytes, Sequence[SignedBytes]] = None):
        self.material = material
        if decisions is None:
            self.decisions = []
        elif isinstance(decisions, SignedBytes):
            self.decisions = [decisions]
        else:
            self.decisions = list(decisions)

    @property
    def decision(self) -> Optional[SignedBytes]:
        return self.decisions[0] if self.decisions else None

    def to_bytes(self) -> bytes:
        items = []
        for root in self.material.roots:
            items.append(("root", root.statement, "", root.signature, root.previous_signature, None))
        for item in self.material.certificates:
            items.append(("certificate", item.statement, item.key_id, item.signature, b"", None))
        for item in self.material.revocations:
            items.append(("revocation", item.statement, item.key_id, item.signature, b"", None))
        for item in self.material.policies:
            items.append(("policy", item.statement, item.key_id, item.signature, b"", None))
        for item in self.material.delegations:
            items.append(("delegation", item.statement, item.key_id, item.signature, b"", item.assertion))
        for item in self.material.delegation_revocations:
            items.append(("delegation-revocation", item.statement, item.key_id, item.signature, b"", item.assertion))
        for decision in self.decisions:
            items.append(("decision", decision.statement, decision.key_id, decision.signature, b"", decision.assertion))
        writer = CanonicalWriter(self.TAG).string(self.material.tenant_id).int64(len(items))
        for kind, statement, identifier, signature, second, assertion in items:
            writer.string(kind).data(statement).string(identifier).data(signature).data(second)
            writer.data(assertion.authenticator_data if assertion else b"")
            writer.data(assertion.client_data_json if assertion else b"")
        return writer.bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "AccessEvidence":
        data = bytes(data)
        reader = CanonicalReader(data, cls.TAG)
        material = TrustMaterial(reader.string())
        decisions: List[SignedBytes] = []
        count = reader.int64()
        if count < 0 or count > len(data) // 28:
            raise Malformed()
        for _ in range(count):
            kind = reader.string()
            statement, identifier, signature = reader.data(), reader.string(), reader.data()
            second, authenticator, client = reader.data(), reader.data(), reader.data()
            assertion = WebAuthnAssertion(authenticator, client) if authenticator or client else None
            signed = SignedBytes(statement, identifier, signature, assertion)
            if kind == "root":
                material.roots.append(RootRecord(statement, signature, second))
            elif kind == "certificate":
                material.certificates.append(signed)
            elif kind == "revocation":
                material.revocations.append(signed)
            elif kind == "policy":
                material.policies.append(signed)
            elif kind == "delegation":
                material.delegations.append(signed)
            elif kind == "delegation-revocation":
                material.delegation_revocations.append(signed)
            elif kind == "decision":
                if len(decisions) >= MAXIMUM_APPROVALS:
                    raise Malformed()
                decisions.append(signed)
            else:
                raise Malformed()
        reader.finish()
        return cls(material, decisions)


@dataclass(frozen=True)
class Verdict:
    """What evidence allows: ``kind`` "approved" (``decision``, the approver's signed statement,
    allows the operation now) or "lockbox_off" (``policy``, the tenant's signed policy, has the
    lockbox off: the provider's own approval is enough)."""

    kind: str
    decision: Optional[DecisionStatement] = None
    policy: Optional[TenantPolicy] = None


class EvidenceVerifier:
    """Checks evidence the way a data plane should before it lets an operator act: against the
    tenant roots it pins in its own configuration (tenant id -> raw 32-byte public keys, or
    their hex), not against anything lockboxd says."""

    def __init__(self, pinned_roots: Mapping[str, Iterable[Union[bytes, str]]]):
        self.pinned_roots = {
            tenant: [bytes.fromhex(key) if isinstance(key, str) else bytes(key) for key in keys]
            for tenant, keys in pinned_roots.items()
        }

    def verify(
        self,
        evidence: Union[AccessEvidence, bytes],
        *,
        tenant_id: str,
        operator_id: str,
        service: str,
        operation: str,
        now_ms: Optional[int] = None,
    ) -> Verdict:
        """Whether ``evidence`` allows ``operator_id`` to perform ``operation`` on ``service``
        (lower-case: exchange, sharepoint, onedrive, teams) of ``tenant_id`` at ``now_ms`` (the
        data plane's own clock, now by default). Raises :class:`TrustProblem` (or
        :class:`Malformed` for bytes that are not evidence)."""
        if not isinstance(evidence, AccessEvidence):
            evidence = AccessEvidence.from_bytes(evidence)
        now_ms = _now_ms() if now_ms is None else now_ms
        if not _same(evidence.material.tenant_id, tenant_id):
            raise TrustProblem("mismatch", "the evidence is another tenant's")
        pinned = []
        for tenant, keys in self.pinned_roots.items():
            if _same(tenant, tenant_id):
                pinned = keys
        trust = TenantTrust(evidence.material, lambda root, _record: root.public_key in pinned)
        if not trust.roots:
            raise TrustProblem("no_root", "no root in the evidence is one this service pins for %s" % tenant_id)
        if not evidence.decisions:
            policy = trust.policy
            if policy is None or policy.lockbox_enabled or policy.version <= 0:
                raise TrustProblem(
                    "not_allowed", "the evidence carries no signed decision, and no signed policy turns the lockbox off"
                )
            return Verdict("lockbox_off", policy=policy)
        statements = []
        for decision in evidence.decisions:
            statement, _ = trust.verify_decision(decision)
            if not (_same(statement.operator_id, operator_id) and _same(statement.service, service)):
                raise TrustProblem("mismatch", "the decision is for another operator or service")
            if not _same(statement.decision, APPROVE):
                raise TrustProblem("not_allowed", "the signed decision is %s" % statement.decision)
            if not any(_same(name, operation.lower()) for name in statement.operations):
                raise TrustProblem("not_allowed", "the approved scope does not include %s" % operation)
            if not statement.starts_at_ms <= now_ms < statement.ends_at_ms:
                raise TrustProblem("not_allowed", "the approved window does not hold now")
            statements.append(statement)
        first = statements[0]
        if not all(_same(s.request_id, first.request_id) and s.nonce == first.nonce for s in statements):
            raise TrustProblem("mismatch", "the decisions are about different requests")
        rule = (trust.policy or TenantPolicy.initial(tenant_id)).approval_rule(service)
        if not quorum_backs(statements, rule, operation, now_ms):
            raise TrustProblem(
                "not_allowed",
                "the tenant's policy asks for %d approvers' signed decisions on %s" % (rule.approvals_required, service),
            )
        return Verdict("approved", decision=min(statements, key=lambda s: s.ends_at_ms))


def verify_evidence(
    evidence: Union[AccessEvidence, bytes],
    pinned_roots: Iterable[Union[bytes, str]],
    *,
    tenant_id: str,
    operator_id: str,
    service: Union[str, int],
    operation: str,
    now_ms: Optional[int] = None,
) -> Verdict:
    """One tenant's :class:`EvidenceVerifier` in one call. ``service`` may be a ``pb.Service``
    value or name (``"exchange"``, ``pb.SERVICE_EXCHANGE``)."""
    if isinstance(service, int):
        service = pb.Service.Name(service)
    if service.startswith("SERVICE_"):
        service = service[len("SERVICE_"):]
    return EvidenceVerifier({tenant_id: list(pinned_roots)}).verify(
        evidence, tenant_id=tenant_id, operator_id=operator_id, service=service.lower(), operation=operation,
        now_ms=now_ms,
    )


# -- consent, from an audit chain alone (Sources/LockboxTrust/ConsentAudit.swift) -----------


@dataclass(frozen=True)
class ConsentFinding:
    """What breaks the customer's guarantee (``lockbox audit verify``'s ``CONSENT:`` lines);
    ``seq`` is the record's (0 for a finding about the whole chain)."""

    seq: int
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ConsentNotice:
    """What the customer should know: root changes, and where the chain's trust starts (``seq`` 0)."""

    seq: int
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ConsentReport:
    findings: Tuple[ConsentFinding, ...] = ()
    notices: Tuple[ConsentNotice, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings


def _details_signed(details: Mapping[str, Any]) -> SignedBytes:
    issuer = details.get("issuer_key_id")
    authenticator = _strict_hex(details.get("authenticator_data"))
    return SignedBytes(
        _strict_hex(details.get("statement")), issuer if isinstance(issuer, str) else "",
        _strict_hex(details.get("signature")),
        WebAuthnAssertion(authenticator, _strict_hex(details.get("client_data"))) if authenticator else None,
    )


def _json_true(value: Any) -> bool:
    """``value as? Bool == true`` as Foundation reads a JSON value: true, or the number 1."""
    if value is True:
        return True
    return type(value) in (int, float) and value == 1


class ConsentAuditor:
    """The consent checks of one tenant's audit chain, record by record (export record lines:
    ``seq``, ``tenant_id``, ``time_ms``, ``kind``, ``activity``, ``item``, ``details_text``),
    in chain order; :meth:`finish` gives the :class:`ConsentReport`.

    - ``TenantRootAdopted``, ``KeyCertified``, ``KeyRevoked`` (signed ones) and
      ``TenantPolicySet`` records carry statements and signatures as hex in their details;
    - a ``CustomerApprove``/``CustomerDeny`` record's signed decision must verify against the
      chain so far and be about its request; without one, on a tenant with a root whose policy
      requires signatures, it is a finding;
    - an operator action (kind ``operator_action``, details ``"allowed": true``) on a tenant
      with a root is a finding unless a verified approval of its request allows the operation
      at its time, or the verified policy has the lockbox off;
    - the chain's trust starts at ``pinned_roots`` (raw public keys), else at the chain's first
      root (said in a notice); with pinned roots none of which the chain holds, a finding.
    """

    def __init__(self, pinned_roots: Optional[Iterable[Union[bytes, str]]] = None):
        self.pinned = (
            None if pinned_roots is None
            else [bytes.fromhex(key) if isinstance(key, str) else bytes(key) for key in pinned_roots]
        )
        if self.pinned is not None and not self.pinned:
            self.pinned = None
        self.tenant_id: Optional[str] = None
        self.material: Optional[TrustMaterial] = None
        self._trust: Optional[TenantTrust] = None
        self._decisions: Dict[str, List[DecisionStatement]] = {}
        #: The grants the tenant's signed pre-approvals made: (rule, operations, starts, ends).
        self._preapproved: Dict[str, Tuple[AutoApprovalRule, set, int, int]] = {}
        #: Requests filed as extensions: re-approved by approvers, never pre-approved.
        self._extensions: set = set()
        self._first_root: Optional[bytes] = None
        self.findings: List[ConsentFinding] = []
        self.notices: List[ConsentNotice] = []
        self._started = False

    def _current(self) -> TenantTrust:
        if self._trust is None:
            def anchor(root: TenantRootStatement, _record: RootRecord) -> bool:
                if self.pinned is not None:
                    return root.public_key in self.pinned
                return self._first_root is not None and root.public_key == self._first_root

            self._trust = TenantTrust(self.material, anchor)
        return self._trust

    def add(self, record: Mapping[str, Any]) -> None:
        if not self._started:
            self._started = True
            scope = record.get("tenant_id", "")
            if scope:
                self.tenant_id = scope
                self.material = TrustMaterial(scope)
        if self.material is None:
            return
        try:
            details = json.loads(record["details_text"])
        except ValueError:
            return
        if not isinstance(details, dict):
            return
        named = "record seq %d" % record["seq"]
        activity, item = record["activity"], record["item"]
        # Swift compares strings by canonical equivalence, in a switch too.
        name = unicodedata.normalize("NFC", activity)
        material = self.material
        if name == "TenantRootAdopted":
            root = RootRecord(
                _strict_hex(details.get("statement")), _strict_hex(details.get("signature")),
                _strict_hex(details.get("previous_signature")),
            )
            material.roots.append(root)
            self._trust = None
            try:
                statement: Optional[TenantRootStatement] = TenantRootStatement.from_bytes(root.statement)
            except Malformed:
                statement = None
            if self._first_root is None and statement is not None:
                self._first_root = statement.public_key
            key = statement.key_id if statement is not None else "?"
            if statement is None or statement.previous_key_id == "":
                message = "%s: tenant root %s adopted" % (named, key)
            else:
                message = "%s: tenant root %s replaced %s" % (named, key, statement.previous_key_id)
            self.notices.append(ConsentNotice(record["seq"], message))
        elif name == "KeyCertified":
            material.certificates.append(_details_signed(details))
            self._trust = None
        elif name == "KeyRevoked":
            if _strict_hex(details.get("statement")):
                material.revocations.append(_details_signed(details))
                self._trust = None
        elif name == "TenantPolicySet":
            material.policies.append(_details_signed(details))
            self._trust = None
        elif name == "DelegationGranted":
            given = _details_signed(details)
            material.delegations.append(given)
            self._trust = None
            identifier = delegation_id(given.statement)
            if identifier not in self._current().delegations and identifier not in self._current().revoked_delegations:
                self.notices.append(ConsentNotice(
                    record["seq"],
                    "%s: delegation %s is not signed by a key certified to its delegator: it grants nothing"
                    % (named, identifier),
                ))
        elif name == "DelegationRevoked":
            withdrawn = _details_signed(details)
            material.delegation_revocations.append(withdrawn)
            self._trust = None
            # A revocation that does not verify withdraws nothing, though the chain records it.
            try:
                identifier = DelegationRevocation.from_bytes(withdrawn.statement).delegation_id
            except Malformed:
                identifier = "?"
            if identifier not in self._current().revoked_delegations:
                self.findings.append(ConsentFinding(
                    record["seq"],
                    "%s: the revocation of delegation %s is not signed by its delegator's key or one that "
                    "administers the tenant: it withdraws nothing" % (named, identifier),
                ))
        elif name == "AccessRequestCreated":
            extended = details.get("extends_request_id")
            if isinstance(extended, str) and extended:
                self._extensions.add(_k(item))
        elif name == "AutoApproved":
            version, index = details.get("auto_approval_policy_version"), details.get("auto_approval_rule")
            starts, ends = details.get("grant_starts_at_ms"), details.get("grant_ends_at_ms")
            text = details.get("operations") if isinstance(details.get("operations"), str) else ""
            operations = text.split(",") if text else []
            service = details.get("service") if isinstance(details.get("service"), str) else ""
            category = details.get("justification_category")
            policy = self._current().policy
            rule = None
            if (all(isinstance(v, int) and not isinstance(v, bool) for v in (version, index, starts, ends))
                    and policy is not None and version == policy.version and 1 <= index <= len(policy.auto_approvals)
                    and _k(item) not in self._extensions):
                candidate = policy.auto_approvals[index - 1]
                if candidate.grants(service, category if isinstance(category, str) else None, (ends - starts) // 1000,
                                    operations, operations) == operations:
                    rule = candidate
            if rule is None:
                self.findings.append(ConsentFinding(
                    record["seq"],
                    "%s: %s was approved as pre-approved, but no pre-approval of the tenant's signed policy in "
                    "force covers it" % (named, item),
                ))
                return
            self._preapproved[_k(item)] = (rule, set(operations), starts, ends)
        elif name in ("CustomerApprove", "CustomerDeny", "CustomerDecisionCounted"):
            statement_bytes = _strict_hex(details.get("decision_statement"))
            if not statement_bytes:
                if material.roots:
                    policy = self._current().policy
                    if policy is None or policy.signatures_required:
                        self.findings.append(ConsentFinding(
                            record["seq"],
                            "%s: %s on %s carries no signature of the customer's key" % (named, activity, item),
                        ))
                return
            authenticator = _strict_hex(details.get("decision_authenticator_data"))
            signer = details.get("decision_key_id")
            decision = SignedBytes(
                statement_bytes, signer if isinstance(signer, str) else "",
                _strict_hex(details.get("decision_signature")),
                WebAuthnAssertion(authenticator, _strict_hex(details.get("decision_client_data")))
                if authenticator else None,
            )
            try:
                verified, _ = self._current().verify_decision(decision)
            except TrustProblem as problem:
                self.findings.append(ConsentFinding(
                    record["seq"],
                    "%s: the decision on %s is signed by %s, which does not chain to the tenant's root: %s"
                    % (named, item, decision.key_id, problem),
                ))
                return
            if not _same(verified.request_id, item):
                self.findings.append(ConsentFinding(
                    record["seq"], "%s: the signed decision on %s is about %s" % (named, item, verified.request_id)
                ))
                return
            self._decisions.setdefault(_k(item), []).append(verified)
            asked = (self._current().policy or TenantPolicy.initial(self.tenant_id or "")).approval_rule(
                verified.service).approvals_required
            if verified.approvals_required < asked:
                self.findings.append(ConsentFinding(
                    record["seq"],
                    "%s: the decision on %s was signed for %d approval(s) where the tenant's policy asked for %d"
                    % (named, item, verified.approvals_required, asked),
                ))
        else:
            if not _same(record.get("kind", ""), "operator_action") or not _json_true(details.get("allowed")) or not material.roots:
                return
            trust = self._current()
            policy = trust.policy
            if policy is not None and not policy.lockbox_enabled and policy.version > 0:
                return
            service = details.get("service") if isinstance(details.get("service"), str) else ""
            # A pre-approved grant counts while the policy in force still holds its rule, for its
            # service and operations, inside its window.
            made = self._preapproved.get(_k(item))
            if (made is not None and activity.lower() in made[1] and made[2] <= record["time_ms"] < made[3]
                    and service == made[0].service and policy is not None and made[0] in policy.auto_approvals):
                return
            rule = (policy or TenantPolicy.initial(self.tenant_id or "")).approval_rule(service)
            # A decision made under a delegation withdrawn since counts no more.
            mine = [d for d in self._decisions.get(_k(item), [])
                    if _same(d.service, service) and (not d.delegation_id or d.delegation_id in trust.delegations)]
            if quorum_backs(mine, rule, activity, record["time_ms"]):
                return
            if rule.approvals_required == 1:
                message = "%s: %s was allowed under %s without a decision the customer's key signed" % (
                    named, activity, item)
            else:
                message = "%s: %s was allowed under %s without the %d approvers' signed decisions the tenant's " \
                    "policy asks for" % (named, activity, item, rule.approvals_required)
            self.findings.append(ConsentFinding(record["seq"], message))

    def finish(self) -> ConsentReport:
        notices, findings = list(self.notices), list(self.findings)
        if self.material is not None:
            if self.pinned is None and self._first_root is not None:
                notices.append(ConsentNotice(
                    0,
                    "the chain's first root (public key %s) is trusted as it stands; pass --tenant-root to check "
                    "it against the one you keep" % self._first_root.hex(),
                ))
            if self.pinned is not None and self.material.roots and not self._current().roots:
                findings.append(ConsentFinding(
                    0, "no tenant root in the chain is one you keep (%s)" % ", ".join(key.hex() for key in self.pinned)
                ))
        return ConsentReport(tuple(findings), tuple(notices))


def check_consent(
    records: Iterable[Mapping[str, Any]], pinned_roots: Optional[Iterable[Union[bytes, str]]] = None
) -> ConsentReport:
    """The consent report of one tenant's chain (its record lines, in order): see
    :class:`ConsentAuditor`. Run it on a chain that verified (:func:`lockbox.integrity.verify_export`
    does both)."""
    auditor = ConsentAuditor(pinned_roots)
    for record in records:
        auditor.add(record)
    return auditor.finish()


def check_consent_export(path, pinned_roots: Optional[Iterable[Union[bytes, str]]] = None) -> ConsentReport:
    """:func:`check_consent` over the record lines of an integrity export file (not verifying
    the chain itself: :func:`lockbox.integrity.verify_export` does that, and this too)."""
    auditor = ConsentAuditor(pinned_roots)
    with open(path, encoding="utf-8") as handle:
        for text in handle:
            if not text.strip():
                continue
            line = json.loads(text)
            if isinstance(line, dict) and line.get("type") == "record":
                auditor.add(line)
    return auditor.finish()


# -- deciding with a key: what the client's approve and deny do ----------------------------


def as_signer(key: Any, *, create: bool = False):
    """A signer from a :class:`TenantSigner`, a :class:`SoftwarePasskey` (or anything with
    ``key_id`` and ``sign_bytes``), or a key file's path (made there when ``create`` and missing)."""
    if hasattr(key, "sign_bytes") and hasattr(key, "key_id"):
        return key
    if isinstance(key, (str, os.PathLike)):
        return TenantSigner.load_or_create(key) if create else TenantSigner.load(key)
    raise TypeError("expected a key file path, a TenantSigner or a passkey, got %r" % (key,))


def _service_name(service: int) -> str:
    return pb.Service.Name(service)[len("SERVICE_"):].lower()


def sign_prepared_decision(
    request: pb.AccessRequest, signer: Any, *, approve: bool, duration_seconds: int = 0, request_id: str = "",
    now_ms: Optional[int] = None, delegation: Optional[DelegationStatement] = None,
) -> SignedBytes:
    """Signs the statement lockboxd prepared (``GetAccessRequest`` with ``signing_key_id``) for
    an approval or a denial, after checking it says what the approver means to sign: this
    request, its tenant, operator and service, this decision, this key. An approval with
    ``duration_seconds`` ends no later than that after it starts (never later than prepared).
    The window must start now by this machine's clock (``now_ms`` in tests), or at the request's
    scheduled start (an extension's: where its grant ends) within 7 days, and be no longer than
    the request asked for, nor than 4 hours (:func:`window_problem`)."""
    prepared = bytes(request.approve_statement if approve else request.deny_statement)
    if not prepared:
        raise ValueError(
            "there is nothing to sign: request %s does not wait for your decision, or its tenant has no root"
            % (request_id or request.id)
        )
    statement = DecisionStatement.from_bytes(prepared)
    expected = {
        "request": (statement.request_id, request_id or request.id),
        "tenant": (statement.tenant_id, request.tenant_id),
        "operator": (statement.operator_id, request.requester_id),
        "service": (statement.service, _service_name(request.service)),
        "decision": (statement.decision, APPROVE if approve else DENY),
        "key": (statement.key_id, signer.key_id),
    }
    for what, (said, wanted) in expected.items():
        if said != wanted:
            raise ValueError("the prepared statement names %s %r, not %r: not signed" % (what, said, wanted))
    if approve and duration_seconds > 0:
        ends = min(statement.ends_at_ms, statement.starts_at_ms + duration_seconds * 1000)
        if ends != statement.ends_at_ms:
            statement = replace(statement, ends_at_ms=ends)
            prepared = statement.to_bytes()
    problem = window_problem(statement, request.requested_duration_seconds, now_ms=now_ms,
                             scheduled_start_ms=request.starts_at_ms or None)
    if problem:
        raise ValueError("the prepared statement is not what you asked for (%s): not signed" % problem)
    if delegation is not None:
        # Deciding in the delegator's place: the decision names the delegation, which must be to
        # the approver the statement was prepared for.
        if not _same(delegation.delegate_id, statement.approver_id):
            raise ValueError("delegation %s is to %s, not to %s: not signed"
                             % (delegation.id, delegation.delegate_id, statement.approver_id))
        statement = replace(statement, delegation_id=delegation.id, on_behalf_of=delegation.delegator_id)
        prepared = statement.to_bytes()
    return signer.sign_bytes(prepared)


#: No grant is ever longer than this, whatever the server says the request asked for.
MAXIMUM_WINDOW_MS = 4 * 3600 * 1000
#: How far a prepared window's start may be from this machine's clock.
CLOCK_TOLERANCE_MS = 15 * 60 * 1000
#: The furthest ahead a scheduled window may start.
MAXIMUM_SCHEDULE_AHEAD_MS = 7 * 86_400_000


def window_problem(statement: "DecisionStatement", requested_duration_seconds: int, *, now_ms: Optional[int] = None,
                   scheduled_start_ms: Optional[int] = None):
    """Why a prepared decision's window is not one to sign, by this machine's clock (the
    statement comes from lockboxd, which may not be what it claims); None when it is. The same
    rule as ``lockbox requests approve`` (LockboxTrust's DecisionIntent)."""
    now = _now_ms() if now_ms is None else now_ms
    window = statement.ends_at_ms - statement.starts_at_ms
    if window <= 0:
        return "its window ends before it starts"
    if window > MAXIMUM_WINDOW_MS:
        return "its window is longer than 4 hours"
    if requested_duration_seconds <= 0 or window > requested_duration_seconds * 1000:
        return "its window is longer than the request asked for"
    if scheduled_start_ms is not None:
        if statement.starts_at_ms != scheduled_start_ms:
            return "its window does not start at the request's scheduled start"
        if not now - CLOCK_TOLERANCE_MS <= statement.starts_at_ms <= now + MAXIMUM_SCHEDULE_AHEAD_MS + CLOCK_TOLERANCE_MS:
            return "its window does not start within 7 days by this machine's clock"
        return None
    if abs(statement.starts_at_ms - now) > CLOCK_TOLERANCE_MS:
        return "its window does not start now by this machine's clock"
    return None
