"""The client methods that sign with a tenant's keys (:mod:`lockbox.trust`), over the generated
ones: enrollment with a root, decisions signed as the server prepared them, certificates,
revocations, policies and roots. One mixin for the blocking client, one for asyncio; both build
their requests with the same functions."""

from __future__ import annotations

import os
import time
from typing import Any, Dict, Iterable, Optional, Tuple

from google.protobuf.message import Message

from . import trust as _trust
from ._generated import METHODS
from ._method import DEFAULT, Timeout, build_request
from ._proto import lockbox_pb2 as pb

#: A certificate holds this long unless told otherwise (the CLI's default, 365 days).
DEFAULT_VALIDITY_SECONDS = 365 * 86_400
#: A certificate starts this long before it is made, so that clocks a little behind accept it.
CLOCK_SKEW_MS = 300_000

_CALL_OPTIONS = ("timeout", "auth_token")


def _split(fields: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(message fields, call options)."""
    options = {name: fields.pop(name) for name in _CALL_OPTIONS if name in fields}
    return fields, options


def _tenant(request: Optional[Message], fields: Dict[str, Any]) -> str:
    tenant = fields.get("tenant_id") or (request.tenant_id if request is not None else "")
    if not tenant:
        raise ValueError("tenant_id is required")
    return tenant


def _root_fields(request, fields: Dict[str, Any], root_key: Any) -> Dict[str, Any]:
    """EnrollTenantAdmin's root_public_key and root_signature, from the root key (made in its
    file when that does not exist, as ``lockbox tenants enroll --root-key-file`` does)."""
    root = _trust.as_signer(root_key, create=True)
    statement = _trust.TenantRootStatement(_tenant(request, fields), root.public_key, "")
    fields["root_public_key"] = root.public_key
    fields["root_signature"] = root.signature(statement.to_bytes())
    return fields


def _adopt_fields(request, fields: Dict[str, Any], root_key: Any, previous_root_key: Any) -> Dict[str, Any]:
    root = _trust.as_signer(root_key, create=True)
    previous = _trust.as_signer(previous_root_key) if previous_root_key is not None else None
    statement = _trust.TenantRootStatement(
        _tenant(request, fields), root.public_key, previous.key_id if previous is not None else ""
    ).to_bytes()
    fields["public_key"] = root.public_key
    fields["signature"] = root.signature(statement)
    if previous is not None:
        fields["previous_signature"] = previous.signature(statement)
    return fields


def _signed_fields(fields: Dict[str, Any], signer: Any, statement: "_trust._Statement") -> Dict[str, Any]:
    signed = signer.sign(statement)
    fields["statement"] = signed.statement
    fields["issuer_key_id"] = signer.key_id
    fields["signature"] = signed.signature
    return fields


def _certificate_fields(
    request, fields, signer, principal_id, public_key, algorithm, capabilities, valid_for_seconds, not_before_ms,
    not_after_ms,
) -> Dict[str, Any]:
    if principal_id is None or public_key is None:
        raise ValueError("certify_key with signer= needs principal_id= and public_key=")
    if hasattr(public_key, "public_key") and hasattr(public_key, "algorithm"):
        algorithm = algorithm or public_key.algorithm
        public_key = public_key.public_key
    elif isinstance(public_key, str):
        public_key = bytes.fromhex(public_key)
    now = _trust._now_ms()
    certificate = _trust.KeyCertificate(
        tenant_id=_tenant(request, fields),
        principal_id=principal_id,
        algorithm=algorithm or _trust.ED25519,
        public_key=bytes(public_key),
        capabilities=_trust.capabilities_from_names(capabilities),
        not_before_ms=now - CLOCK_SKEW_MS if not_before_ms is None else not_before_ms,
        not_after_ms=now + valid_for_seconds * 1000 if not_after_ms is None else not_after_ms,
        issuer_key_id=signer.key_id,
    )
    return _signed_fields(fields, signer, certificate)


def _policy(request, fields, signer, version, lockbox_enabled, signatures_required, user_verification_required,
            rp_id, origins) -> "_trust.TenantPolicy":
    return _trust.TenantPolicy(
        tenant_id=_tenant(request, fields),
        version=version,
        lockbox_enabled=lockbox_enabled,
        signatures_required=signatures_required,
        user_verification_required=user_verification_required,
        rp_id=rp_id,
        origins=tuple(origins),
        issuer_key_id=signer.key_id,
    )


def _delegation_fields(fields: Dict[str, Any], signer: Any, tenant: str, delegator: str, delegate_id: str,
                       duration_seconds: int, services: Iterable[str], now_ms: Optional[int]) -> Dict[str, Any]:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    delegation = _trust.DelegationStatement(
        tenant, delegator, signer.key_id, delegate_id, tuple(name.lower() for name in services), now,
        now + int(duration_seconds) * 1000, os.urandom(16),
    )
    problem = delegation.terms_problem
    if problem:
        raise ValueError(problem)
    return _signed_fields(fields, signer, delegation)


def _delegator(trust: pb.TenantTrust, signer: Any) -> str:
    """Whose key ``signer`` is, as the tenant's certificates say (a server that names another
    principal gets a statement the tenant's trust refuses)."""
    for certified in trust.keys:
        if certified.key_id == signer.key_id and not certified.revoked:
            return certified.principal_id
    raise ValueError("key %s is not certified for this tenant" % signer.key_id)


def _decision(request, fields) -> pb.CustomerDecision:
    message = build_request(METHODS["DecideCustomer"], request, fields)
    if message.decision not in (pb.DECISION_APPROVE, pb.DECISION_DENY):
        raise ValueError("only an approval or a denial is signed (decision approve or deny)")
    return message


class SyncTrustCalls:
    """Signing helpers of :class:`lockbox.Client` (see :mod:`lockbox.trust`)."""

    def enroll_tenant_admin(self, request: Optional[pb.EnrollTenantAdminRequest] = None, /, *, root_key: Any = None,
                            **fields: Any) -> pb.EnrollTenantAdminResponse:
        """Redeems an enrollment code as the tenant's first global admin. With ``root_key`` (a
        :class:`~lockbox.trust.TenantSigner`, or a key file's path, made there with mode 600 when
        missing) it brings the tenant's root: ``root_public_key`` and ``root_signature`` over the
        ``lockbox/tenant-root/v1`` statement. Keep the root's public key: data planes pin it."""
        if root_key is not None:
            fields = _root_fields(request, fields, root_key)
        return super().enroll_tenant_admin(request, **fields)  # type: ignore[misc]

    def adopt_tenant_root(self, request: Optional[pb.AdoptTenantRootRequest] = None, /, *, root_key: Any = None,
                          previous_root_key: Any = None, **fields: Any) -> pb.TenantRoot:
        """A root for a tenant enrolled before roots, or a rotation: ``root_key`` (made in its file
        when missing) signs the root statement, and ``previous_root_key`` (the current root) signs
        it too for a rotation."""
        if root_key is not None:
            fields = _adopt_fields(request, fields, root_key, previous_root_key)
        return super().adopt_tenant_root(request, **fields)  # type: ignore[misc]

    def certify_key(self, request: Optional[pb.SignedStatementRequest] = None, /, *, signer: Any = None,
                    principal_id: Optional[str] = None, public_key: Any = None, algorithm: Optional[str] = None,
                    capabilities: Any = "decide", valid_for_seconds: int = DEFAULT_VALIDITY_SECONDS,
                    not_before_ms: Optional[int] = None, not_after_ms: Optional[int] = None,
                    **fields: Any) -> pb.TenantKey:
        """Certifies ``public_key`` (raw bytes, hex, or a signer/passkey whose key and algorithm
        it takes) for ``principal_id`` with ``capabilities`` ("decide", "administer", both, or
        :data:`~lockbox.trust.DECIDE` | :data:`~lockbox.trust.ADMINISTER`), signed by ``signer``
        (the root, or a key certified to administer). Valid from 5 minutes ago for
        ``valid_for_seconds`` unless ``not_before_ms``/``not_after_ms`` say otherwise. Without
        ``signer``, the generated call (a ready statement and signature)."""
        if signer is not None:
            fields = _certificate_fields(request, fields, _trust.as_signer(signer), principal_id, public_key,
                                         algorithm, capabilities, valid_for_seconds, not_before_ms, not_after_ms)
        return super().certify_key(request, **fields)  # type: ignore[misc]

    def revoke_key(self, request: Optional[pb.SignedStatementRequest] = None, /, *, signer: Any = None,
                   key_id: Optional[str] = None, **fields: Any) -> pb.TenantKey:
        """Revokes the certified key ``key_id``, signed by ``signer`` (the root, or a key certified
        to administer): nothing it signs counts from then on."""
        if signer is not None:
            signer = _trust.as_signer(signer)
            if not key_id:
                raise ValueError("revoke_key with signer= needs key_id=")
            fields = _signed_fields(fields, signer, _trust.KeyRevocation(_tenant(request, fields), key_id, signer.key_id))
        return super().revoke_key(request, **fields)  # type: ignore[misc]

    def set_tenant_policy(self, request: Optional[pb.SignedStatementRequest] = None, /, *, signer: Any = None,
                          lockbox_enabled: bool = True, signatures_required: bool = True,
                          user_verification_required: bool = True, rp_id: str = "", origins: Iterable[str] = (),
                          version: Optional[int] = None, **fields: Any) -> pb.TenantPolicyRecord:
        """Sets the tenant's policy, signed by ``signer`` (the root, or a key certified to
        administer): the lockbox on or off, decisions signed or not, passkeys' user verification,
        their relying party (``rp_id``) and the portal's ``origins``. ``version`` defaults to one
        past the policy in force (read with GetTenantTrust)."""
        if signer is not None:
            signer = _trust.as_signer(signer)
            if version is None:
                current = self.get_tenant_trust(  # type: ignore[attr-defined]
                    tenant_id=_tenant(request, fields), **{k: v for k, v in fields.items() if k in _CALL_OPTIONS}
                )
                version = current.policy.version + 1
            policy = _policy(request, fields, signer, version, lockbox_enabled, signatures_required,
                             user_verification_required, rp_id, origins)
            fields = _signed_fields(fields, signer, policy)
        return super().set_tenant_policy(request, **fields)  # type: ignore[misc]

    def create_delegation(self, request: Optional[pb.SignedStatementRequest] = None, /, *, signer: Any = None,
                          delegate_id: str = "", duration_seconds: int = 0, services: Iterable[str] = (),
                          now_ms: Optional[int] = None, **fields: Any) -> pb.Delegation:
        """Lets ``delegate_id`` (another approver of the tenant) decide in the caller's place for
        ``duration_seconds`` from now (at most 90 days), on ``services`` (default: every one),
        signed by ``signer``, the caller's key certified to decide. Without ``signer``, the
        generated call (a ready statement and signature)."""
        if signer is not None:
            signer = _trust.as_signer(signer)
            tenant = _tenant(request, fields)
            trust = self.get_tenant_trust(  # type: ignore[attr-defined]
                tenant_id=tenant, **{k: v for k, v in fields.items() if k in _CALL_OPTIONS}
            )
            fields = _delegation_fields(fields, signer, tenant, _delegator(trust, signer), delegate_id,
                                        duration_seconds, services, now_ms)
        return super().create_delegation(request, **fields)  # type: ignore[misc]

    def revoke_delegation(self, request: Optional[pb.SignedStatementRequest] = None, /, *, signer: Any = None,
                          delegation_id: str = "", **fields: Any) -> pb.Delegation:
        """Withdraws ``delegation_id``, signed by ``signer`` (the delegator's key, or one that
        administers the tenant): decisions made under it count for nothing from then on."""
        if signer is not None:
            signer = _trust.as_signer(signer)
            if not delegation_id:
                raise ValueError("revoke_delegation with signer= needs delegation_id=")
            fields = _signed_fields(
                fields, signer, _trust.DelegationRevocation(_tenant(request, fields), delegation_id, signer.key_id)
            )
        return super().revoke_delegation(request, **fields)  # type: ignore[misc]

    def decide_customer(self, request: Optional[pb.CustomerDecision] = None, /, *, signer: Any = None,
                        delegation: Any = None, **fields: Any) -> pb.AccessRequest:
        """The customer's decision. With ``signer`` (a key file's path, a
        :class:`~lockbox.trust.TenantSigner`, or a passkey) it first asks the server for the
        statement to sign (GetAccessRequest with ``signing_key_id``), checks that it is about this
        request, its operator and service, and this decision, signs it (an approval with
        ``approved_duration_seconds`` ends that much after it starts, never later than
        prepared) and sends it as ``signed_decision``. With ``delegation`` (a
        :class:`~lockbox.trust.DelegationStatement` or a ``pb.Delegation`` to the caller) the
        decision is made in the delegator's place and counts as theirs."""
        if signer is None:
            return super().decide_customer(request, **fields)  # type: ignore[misc]
        signer = _trust.as_signer(signer)
        message_fields, options = _split(dict(fields))
        message = _decision(request, message_fields)
        prepared = self.get_access_request(  # type: ignore[attr-defined]
            request_id=message.request_id, signing_key_id=signer.key_id, **options
        )
        signed = _trust.sign_prepared_decision(
            prepared, signer, approve=message.decision == pb.DECISION_APPROVE,
            duration_seconds=message.approved_duration_seconds, request_id=message.request_id,
            delegation=None if delegation is None else _trust.as_delegation(delegation),
        )
        message.signed_decision.CopyFrom(signed.to_proto())
        return super().decide_customer(message, **options)  # type: ignore[misc]

    def approve(self, request_id: str, *, key: Any, comment: str = "", duration_seconds: int = 0,
                timeout: Timeout = DEFAULT, auth_token: Optional[str] = None) -> pb.AccessRequest:
        """Approves ``request_id`` as the customer, signed with ``key`` (see :meth:`decide_customer`);
        ``duration_seconds`` grants less time than requested (never more)."""
        return self.decide_customer(
            request_id=request_id, decision=pb.DECISION_APPROVE, comment=comment,
            approved_duration_seconds=duration_seconds or None, signer=key, timeout=timeout, auth_token=auth_token,
        )

    def deny(self, request_id: str, *, key: Any, reason: str = "", timeout: Timeout = DEFAULT,
             auth_token: Optional[str] = None) -> pb.AccessRequest:
        """Denies ``request_id`` as the customer, signed with ``key``."""
        return self.decide_customer(
            request_id=request_id, decision=pb.DECISION_DENY, comment=reason, signer=key, timeout=timeout,
            auth_token=auth_token,
        )


class AsyncTrustCalls:
    """Signing helpers of :class:`lockbox.AsyncClient`: the same as :class:`SyncTrustCalls`'s."""

    async def enroll_tenant_admin(self, request=None, /, *, root_key: Any = None, **fields: Any):
        if root_key is not None:
            fields = _root_fields(request, fields, root_key)
        return await super().enroll_tenant_admin(request, **fields)  # type: ignore[misc]

    async def adopt_tenant_root(self, request=None, /, *, root_key: Any = None, previous_root_key: Any = None,
                                **fields: Any):
        if root_key is not None:
            fields = _adopt_fields(request, fields, root_key, previous_root_key)
        return await super().adopt_tenant_root(request, **fields)  # type: ignore[misc]

    async def certify_key(self, request=None, /, *, signer: Any = None, principal_id: Optional[str] = None,
                          public_key: Any = None, algorithm: Optional[str] = None, capabilities: Any = "decide",
                          valid_for_seconds: int = DEFAULT_VALIDITY_SECONDS, not_before_ms: Optional[int] = None,
                          not_after_ms: Optional[int] = None, **fields: Any):
        if signer is not None:
            fields = _certificate_fields(request, fields, _trust.as_signer(signer), principal_id, public_key,
                                         algorithm, capabilities, valid_for_seconds, not_before_ms, not_after_ms)
        return await super().certify_key(request, **fields)  # type: ignore[misc]

    async def revoke_key(self, request=None, /, *, signer: Any = None, key_id: Optional[str] = None, **fields: Any):
        if signer is not None:
            signer = _trust.as_signer(signer)
            if not key_id:
                raise ValueError("revoke_key with signer= needs key_id=")
            fields = _signed_fields(fields, signer, _trust.KeyRevocation(_tenant(request, fields), key_id, signer.key_id))
        return await super().revoke_key(request, **fields)  # type: ignore[misc]

    async def set_tenant_policy(self, request=None, /, *, signer: Any = None, lockbox_enabled: bool = True,
                                signatures_required: bool = True, user_verification_required: bool = True,
                                rp_id: str = "", origins: Iterable[str] = (), version: Optional[int] = None,
                                **fields: Any):
        if signer is not None:
            signer = _trust.as_signer(signer)
            if version is None:
                current = await self.get_tenant_trust(  # type: ignore[attr-defined]
                    tenant_id=_tenant(request, fields), **{k: v for k, v in fields.items() if k in _CALL_OPTIONS}
                )
                version = current.policy.version + 1
            policy = _policy(request, fields, signer, version, lockbox_enabled, signatures_required,
                             user_verification_required, rp_id, origins)
            fields = _signed_fields(fields, signer, policy)
        return await super().set_tenant_policy(request, **fields)  # type: ignore[misc]

    async def create_delegation(self, request=None, /, *, signer: Any = None, delegate_id: str = "",
                                duration_seconds: int = 0, services: Iterable[str] = (), now_ms: Optional[int] = None,
                                **fields: Any):
        if signer is not None:
            signer = _trust.as_signer(signer)
            tenant = _tenant(request, fields)
            trust = await self.get_tenant_trust(  # type: ignore[attr-defined]
                tenant_id=tenant, **{k: v for k, v in fields.items() if k in _CALL_OPTIONS}
            )
            fields = _delegation_fields(fields, signer, tenant, _delegator(trust, signer), delegate_id,
                                        duration_seconds, services, now_ms)
        return await super().create_delegation(request, **fields)  # type: ignore[misc]

    async def revoke_delegation(self, request=None, /, *, signer: Any = None, delegation_id: str = "",
                                **fields: Any):
        if signer is not None:
            signer = _trust.as_signer(signer)
            if not delegation_id:
                raise ValueError("revoke_delegation with signer= needs delegation_id=")
            fields = _signed_fields(
                fields, signer, _trust.DelegationRevocation(_tenant(request, fields), delegation_id, signer.key_id)
            )
        return await super().revoke_delegation(request, **fields)  # type: ignore[misc]

    async def decide_customer(self, request=None, /, *, signer: Any = None, delegation: Any = None, **fields: Any):
        if signer is None:
            return await super().decide_customer(request, **fields)  # type: ignore[misc]
        signer = _trust.as_signer(signer)
        message_fields, options = _split(dict(fields))
        message = _decision(request, message_fields)
        prepared = await self.get_access_request(  # type: ignore[attr-defined]
            request_id=message.request_id, signing_key_id=signer.key_id, **options
        )
        signed = _trust.sign_prepared_decision(
            prepared, signer, approve=message.decision == pb.DECISION_APPROVE,
            duration_seconds=message.approved_duration_seconds, request_id=message.request_id,
            delegation=None if delegation is None else _trust.as_delegation(delegation),
        )
        message.signed_decision.CopyFrom(signed.to_proto())
        return await super().decide_customer(message, **options)  # type: ignore[misc]

    async def approve(self, request_id: str, *, key: Any, comment: str = "", duration_seconds: int = 0,
                      timeout: Timeout = DEFAULT, auth_token: Optional[str] = None):
        return await self.decide_customer(
            request_id=request_id, decision=pb.DECISION_APPROVE, comment=comment,
            approved_duration_seconds=duration_seconds or None, signer=key, timeout=timeout, auth_token=auth_token,
        )

    async def deny(self, request_id: str, *, key: Any, reason: str = "", timeout: Timeout = DEFAULT,
                   auth_token: Optional[str] = None):
        return await self.decide_customer(
            request_id=request_id, decision=pb.DECISION_DENY, comment=reason, signer=key, timeout=timeout,
            auth_token=auth_token,
        )



_OVERRIDES = ("enroll_tenant_admin", "adopt_tenant_root", "certify_key", "revoke_key", "set_tenant_policy",
              "decide_customer", "create_delegation", "revoke_delegation")


def _install_docs() -> None:
    """Each override's doc says what it adds, then the generated method's (the rpc it calls)."""
    from ._generated import AsyncMethods, SyncMethods

    added = {name: (SyncTrustCalls.__dict__[name].__doc__ or "").strip() for name in _OVERRIDES}
    for cls, base in ((SyncTrustCalls, SyncMethods), (AsyncTrustCalls, AsyncMethods)):
        for name in _OVERRIDES:
            generated = (getattr(base, name).__doc__ or "").strip()
            cls.__dict__[name].__doc__ = added[name] + "\n\n        " + generated


_install_docs()
