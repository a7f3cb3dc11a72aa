"""Customer-signed consent against the real lockboxd: a tenant's root from enrollment, keys it
certifies (directly, and through an administering key), decisions signed as the server
prepared them (with a key file, and with a passkey), the evidence behind a grant checked
against the pinned root, and what the server refuses: a rogue root, a statement replayed on
another request, a revoked key, an unverified passkey, a replayed passkey counter."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import replace

import pytest

import lockbox
from lockbox import StatusCode, pb, trust
from lockbox.integrity import save_keys, verify_export
from lockbox.trust import (
    AccessEvidence,
    DecisionStatement,
    EvidenceVerifier,
    KeyCertificate,
    RootRecord,
    SoftwarePasskey,
    TenantRootStatement,
    TenantSigner,
    TenantTrust,
    TrustMaterial,
    TrustProblem,
)

from support import make_principal

OPERATION = "Get-Mailbox"


def refused(expected, call, *args, **kwargs):
    with pytest.raises(lockbox.LockboxError) as info:
        call(*args, **kwargs)
    assert info.value.code == expected, "%s, not %s" % (info.value, expected.name)
    return info.value


@pytest.fixture(scope="module")
def preapproved(client, world):
    """Get-Mailbox is pre-approved for exchange (other tests may have added it already)."""
    try:
        client.add_preapproved_operation(service="exchange", operation=OPERATION, description="read a mailbox",
                                         auth_token=world.provider_admin)
    except lockbox.AlreadyExists:
        pass
    return OPERATION


def waiting(client, world, tenant, duration=3600):
    """A request filed by the operator and approved internally: it waits for the customer."""
    request = client.create_access_request(tenant_id=tenant.id, service="exchange", ticket_number="SR-42",
                                           justification="mailbox fails to sync",
                                           requested_duration_seconds=duration, auth_token=world.operator)
    client.decide_internal(request_id=request.id, approve=True, comment="ok", auth_token=world.manager)
    return request


def check(client, world, tenant, operation=OPERATION, evidence=True):
    return client.check_access(tenant_id=tenant.id, service="exchange", operator_id=world.operator_id,
                               operation=operation, client_ip="192.0.2.7", include_evidence=evidence,
                               auth_token=world.service)


def verify(evidence, roots, world, tenant, operation=OPERATION, now_ms=None):
    return trust.verify_evidence(evidence, roots, tenant_id=tenant.id, operator_id=world.operator_id,
                                 service="exchange", operation=operation, now_ms=now_ms)


def test_the_signed_lifecycle(client, world, new_tenant, preapproved, keys_dir, tmp_path):
    tenant = new_tenant("signed")
    admin = client.with_token(tenant.admin)
    # The root brought at enrollment, attested by lockboxd's key.
    stored = admin.get_tenant_trust(tenant_id=tenant.id)
    [root] = stored.roots
    assert (root.key_id, bytes(root.public_key)) == (tenant.root.key_id, tenant.root.public_key)
    assert bytes(root.statement) == TenantRootStatement(tenant.id, tenant.root.public_key).to_bytes()
    server_keys = {k.key_id: bytes(k.public_key) for k in client.list_signing_keys().keys}
    attestation = trust.verify_root_attestation(root, server_keys)
    assert attestation.root_key_id == tenant.root.key_id
    assert stored.policy.version == 0 and stored.policy.signatures_required and stored.policy.lockbox_enabled

    # The root certifies an administering key for the global admin; that key certifies a new
    # approver's key to decide (a chain of two certificates).
    admin_key = TenantSigner.create(os.path.join(keys_dir, tenant.id + "-admin.key"))
    certified = admin.certify_key(tenant_id=tenant.id, signer=tenant.root, principal_id=tenant.admin_id,
                                  public_key=admin_key, capabilities="administer")
    assert certified.key_id == admin_key.key_id and list(certified.capabilities) == ["administer"]
    approver, approver_id = make_principal(client, "Second Approver", ["lockbox_approver"], tenant=tenant.id,
                                           by=tenant.admin)
    approver_key = TenantSigner.create(os.path.join(keys_dir, tenant.id + "-second.key"))
    admin.certify_key(tenant_id=tenant.id, signer=admin_key.path, principal_id=approver_id,
                      public_key=approver_key.public_key.hex(), capabilities=["decide"], valid_for_seconds=3600)
    refused(StatusCode.ALREADY_EXISTS, admin.certify_key, tenant_id=tenant.id, signer=admin_key,
            principal_id=approver_id, public_key=approver_key)
    # Only the root or an administering key certifies; only approvers and global admins decide.
    refused(StatusCode.PERMISSION_DENIED, admin.certify_key, tenant_id=tenant.id, signer=approver_key,
            principal_id=approver_id, public_key=TenantSigner.generate())
    helper, helper_id = make_principal(client, "Helpdesk", [], tenant=tenant.id, by=tenant.admin)
    refused(StatusCode.FAILED_PRECONDITION, admin.certify_key, tenant_id=tenant.id, signer=tenant.root,
            principal_id=helper_id, public_key=TenantSigner.generate())
    refused(StatusCode.PERMISSION_DENIED, client.certify_key, tenant_id=tenant.id, signer=tenant.root,
            principal_id=approver_id, public_key=TenantSigner.generate(), auth_token=approver)

    # The approver signs what the server prepared, byte for byte as it builds it.
    request = waiting(client, world, tenant)
    prepared = client.get_access_request(request_id=request.id, signing_key_id=approver_key.key_id,
                                         auth_token=approver)
    statement = DecisionStatement.from_bytes(prepared.approve_statement)
    operations = sorted(o.operation.lower() for o in client.list_preapproved_operations(
        service="exchange", auth_token=world.operator).operations)
    rebuilt = DecisionStatement(tenant.id, request.id, world.operator_id, "exchange", operations,
                                statement.starts_at_ms, statement.starts_at_ms + 3600 * 1000, "Approve", approver_id,
                                approver_key.key_id, statement.nonce)
    assert rebuilt.to_bytes() == bytes(prepared.approve_statement)
    assert replace(rebuilt, decision="Deny").to_bytes() == bytes(prepared.deny_statement)
    assert len(statement.nonce) == 16 and abs(statement.starts_at_ms - time.time() * 1000) < 60_000
    # Another key's statements name that key; a caller who may not decide gets none.
    other = client.get_access_request(request_id=request.id, signing_key_id="ed25519:0000000000000000",
                                      auth_token=approver)
    assert DecisionStatement.from_bytes(other.approve_statement).key_id == "ed25519:0000000000000000"
    assert not client.get_access_request(request_id=request.id, signing_key_id=approver_key.key_id,
                                         auth_token=world.operator).approve_statement

    # Unsigned, or signed by a key certified to someone else: refused.
    refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=request.id, decision="approve",
            auth_token=approver)
    refused(StatusCode.PERMISSION_DENIED, client.approve, request.id, key=tenant.approver_key, auth_token=approver)
    # A grant shorter than asked: the signed statement ends earlier, and so does the grant.
    approved = client.approve(request.id, key=approver_key.path, comment="checked", duration_seconds=1800,
                              auth_token=approver)
    assert approved.status == pb.REQUEST_STATUS_APPROVED
    signed = trust.SignedBytes.from_proto(approved.customer_signature)
    decided = DecisionStatement.from_bytes(signed.statement)
    assert decided.key_id == approver_key.key_id and decided.approver_id == approver_id
    assert decided.ends_at_ms - decided.starts_at_ms == 1800 * 1000
    assert approved.grant.ends_at_ms == pytest.approx(decided.ends_at_ms, abs=1000)
    # Anyone holding the root verifies the decision with what GetTenantTrust gives.
    material = trust.material_from_proto(admin.get_tenant_trust(tenant_id=tenant.id), tenant.id)
    chain = TenantTrust(material, [tenant.root.public_key])
    assert chain.verify_decision(signed)[0] == decided
    assert set(chain.certificates) == {tenant.approver_key.key_id, admin_key.key_id, approver_key.key_id}

    # CheckAccess with evidence: allowed, and the evidence verifies against the pinned root only.
    answer = check(client, world, tenant)
    assert answer.allowed and answer.request_id == request.id and answer.evidence
    evidence = AccessEvidence.from_bytes(answer.evidence)
    assert evidence.to_bytes() == bytes(answer.evidence), "decoded and encoded again, byte for byte"
    assert [root.statement for root in evidence.material.roots] == [bytes(root.statement)]
    assert [c.key_id for c in evidence.material.certificates] == [admin_key.key_id, tenant.root.key_id]
    assert evidence.decision == signed
    verdict = verify(answer.evidence, [tenant.root.public_key], world, tenant)
    assert verdict.kind == "approved" and verdict.decision == decided
    with pytest.raises(TrustProblem, match="does not include"):
        verify(answer.evidence, [tenant.root.public_key], world, tenant, operation="Set-Mailbox")
    with pytest.raises(TrustProblem, match="window"):
        verify(answer.evidence, [tenant.root.public_key], world, tenant, now_ms=decided.ends_at_ms)
    # A rogue root: not the one pinned, so nothing chains to it.
    rogue = TenantSigner.generate()
    with pytest.raises(TrustProblem, match="no root in the evidence"):
        verify(answer.evidence, [rogue.public_key], world, tenant)
    # A lockboxd that made its own root and certified its own key: refused by a data plane that
    # pins the tenant's root, though it chains to the rogue root.
    statement_bytes = TenantRootStatement(tenant.id, rogue.public_key).to_bytes()
    forged_key = TenantSigner.generate()
    forged = AccessEvidence(
        TrustMaterial(tenant.id, roots=[RootRecord(statement_bytes, rogue.signature(statement_bytes))],
                      certificates=[rogue.sign(KeyCertificate(tenant.id, approver_id, trust.ED25519,
                                                              forged_key.public_key, trust.DECIDE,
                                                              0, 2**62, rogue.key_id))]),
        forged_key.sign_bytes(replace(decided, key_id=forged_key.key_id).to_bytes()),
    )
    with pytest.raises(TrustProblem, match="no root in the evidence"):
        verify(forged, [tenant.root.public_key], world, tenant)
    assert verify(forged, [rogue.public_key], world, tenant).kind == "approved"
    # The server refuses a rogue root too: adopting one needs the current root's signature.
    refused(StatusCode.PERMISSION_DENIED, admin.adopt_tenant_root, tenant_id=tenant.id, root_key=rogue)
    refused(StatusCode.PERMISSION_DENIED, admin.adopt_tenant_root, tenant_id=tenant.id, root_key=rogue,
            previous_root_key=TenantSigner.generate())

    # The CLI's data-plane check says the same of the same files.
    cli = os.environ.get("LOCKBOX_TEST_LOCKBOX", "")
    if cli and os.access(cli, os.X_OK):
        saved = tmp_path / "evidence.bin"
        saved.write_bytes(answer.evidence)
        forged_file = tmp_path / "forged.bin"
        forged_file.write_bytes(forged.to_bytes())

        def cli_verify(path, root):
            return subprocess.run([cli, "access", "verify-evidence", "--evidence", str(path), "--tenant", tenant.id,
                                   "--operator", world.operator_id, "--service", "exchange", "--operation", OPERATION,
                                   "--root", root.public_key.hex()], capture_output=True, text=True, timeout=60)

        ok = cli_verify(saved, tenant.root)
        assert ok.returncode == 0 and ok.stdout.startswith("ok: %s approved with %s" % (approver_id, approver_key.key_id)), ok
        assert cli_verify(saved, rogue).returncode == 1
        assert cli_verify(forged_file, tenant.root).returncode == 1
        assert cli_verify(forged_file, rogue).returncode == 0

    # The root rotates: the new root is signed by the old one too. What the old root certified
    # still chains from the old root; a data plane that pins only the new root starts the chain
    # there, and the old root's certificates count for nothing to it.
    next_root = TenantSigner.create(os.path.join(keys_dir, tenant.id + "-root2.key"))
    rotated = admin.adopt_tenant_root(tenant_id=tenant.id, root_key=next_root.path, previous_root_key=tenant.root)
    assert rotated.key_id == next_root.key_id
    assert TenantRootStatement.from_bytes(rotated.statement).previous_key_id == tenant.root.key_id
    answer = check(client, world, tenant)
    assert answer.allowed and len(AccessEvidence.from_bytes(answer.evidence).material.roots) == 2
    assert verify(answer.evidence, [tenant.root.public_key], world, tenant).kind == "approved"
    with pytest.raises(TrustProblem, match="not certified"):
        verify(answer.evidence, [next_root.public_key], world, tenant)


def test_a_revoked_keys_approval_is_refused(client, world, new_tenant, preapproved):
    tenant = new_tenant("revoke")
    admin = client.with_token(tenant.admin)
    first = waiting(client, world, tenant)
    client.approve(first.id, key=tenant.approver_key, auth_token=tenant.approver)
    assert check(client, world, tenant, evidence=False).allowed
    # Revoked by the root: its approval no longer backs the grant, and it approves nothing more.
    revoked = admin.revoke_key(tenant_id=tenant.id, signer=tenant.root, key_id=tenant.approver_key.key_id)
    assert revoked.revoked and revoked.key_id == tenant.approver_key.key_id
    denied = check(client, world, tenant)
    assert not denied.allowed and denied.reason == pb.ACCESS_DENY_REASON_UNVERIFIED_APPROVAL
    assert denied.request_id == first.id and not denied.evidence
    second = waiting(client, world, tenant)
    error = refused(StatusCode.PERMISSION_DENIED, client.approve, second.id, key=tenant.approver_key,
                    auth_token=tenant.approver)
    assert "was revoked" in error.message
    refused(StatusCode.ALREADY_EXISTS, admin.revoke_key, tenant_id=tenant.id, signer=tenant.root,
            key_id=tenant.approver_key.key_id)
    refused(StatusCode.NOT_FOUND, admin.revoke_key, tenant_id=tenant.id, signer=tenant.root,
            key_id="ed25519:0000000000000000")
    # The tenant's own view: the key is listed as revoked, and its chain no longer certifies it.
    stored = admin.get_tenant_trust(tenant_id=tenant.id)
    assert [k.revoked for k in stored.keys if k.key_id == tenant.approver_key.key_id] == [True]
    # A new key, certified: the approver decides again.
    fresh = TenantSigner.generate()
    admin.certify_key(tenant_id=tenant.id, signer=tenant.root, principal_id=tenant.approver_id, public_key=fresh)
    assert client.deny(second.id, key=fresh, reason="not now", auth_token=tenant.approver).status == \
        pb.REQUEST_STATUS_DENIED


def test_a_signed_statement_replayed_on_another_request_is_refused(client, world, new_tenant, preapproved):
    tenant = new_tenant("replay")
    key = tenant.approver_key
    first, second = waiting(client, world, tenant), waiting(client, world, tenant)
    prepared = client.get_access_request(request_id=first.id, signing_key_id=key.key_id, auth_token=tenant.approver)
    signed = key.sign_bytes(prepared.approve_statement)
    # Sent as the decision on another request: refused, and the other request still waits.
    error = refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=second.id, decision="approve",
                    signed_decision=signed.to_proto(), auth_token=tenant.approver)
    assert "another request" in error.message
    # The denial's statement sent as an approval, or a longer window than prepared: refused.
    deny = key.sign_bytes(prepared.deny_statement)
    refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=deny.to_proto(), auth_token=tenant.approver)
    statement = DecisionStatement.from_bytes(prepared.approve_statement)
    longer = key.sign(replace(statement, ends_at_ms=statement.ends_at_ms + 600_000))
    refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=longer.to_proto(), auth_token=tenant.approver)
    # A signature that does not match the bytes: refused.
    refused(StatusCode.PERMISSION_DENIED, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=replace(signed, signature=bytes(64)).to_proto(), auth_token=tenant.approver)
    # Another approver may not send this approver's signed statement.
    other, _ = make_principal(client, "Other Approver", ["lockbox_approver"], tenant=tenant.id, by=tenant.admin)
    refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=signed.to_proto(), auth_token=other)
    # As prepared: accepted. Sent again on the decided request: refused.
    approved = client.decide_customer(request_id=first.id, decision="approve", signed_decision=signed.to_proto(),
                                      auth_token=tenant.approver)
    assert approved.status == pb.REQUEST_STATUS_APPROVED
    refused(StatusCode.FAILED_PRECONDITION, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=signed.to_proto(), auth_token=tenant.approver)
    assert client.get_access_request(request_id=second.id, auth_token=tenant.approver).status == \
        pb.REQUEST_STATUS_PENDING_CUSTOMER
    # The client refuses to sign a statement that is not about the request it was asked about.
    with pytest.raises(ValueError, match="names request"):
        trust.sign_prepared_decision(prepared, key, approve=True, request_id=second.id)


def test_a_passkey_approval(client, world, new_tenant, preapproved):
    tenant = new_tenant("passkey")
    admin = client.with_token(tenant.admin)
    passkey = SoftwarePasskey(rp_id="portal.%s.example" % tenant.id, origin="https://portal.%s.example" % tenant.id)
    # Only an Ed25519 key administers; a passkey may decide.
    refused(StatusCode.INVALID_ARGUMENT, admin.certify_key, tenant_id=tenant.id, signer=tenant.root,
            principal_id=tenant.approver_id, public_key=passkey, capabilities="administer")
    admin.certify_key(tenant_id=tenant.id, signer=tenant.root, principal_id=tenant.approver_id, public_key=passkey)
    first = waiting(client, world, tenant)
    # The initial policy names no relying party nor origin: no passkey assertion holds.
    error = refused(StatusCode.PERMISSION_DENIED, client.approve, first.id, key=passkey, auth_token=tenant.approver)
    assert "the passkey's assertion does not hold" in error.message
    policy = admin.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, rp_id=passkey.rp_id,
                                     origins=[passkey.origin], user_verification_required=True)
    assert policy.version == 1 and policy.user_verification_required and list(policy.origins) == [passkey.origin]
    refused(StatusCode.INVALID_ARGUMENT, admin.set_tenant_policy, tenant_id=tenant.id, signer=tenant.root,
            origins=["http://insecure.example"])
    refused(StatusCode.FAILED_PRECONDITION, admin.set_tenant_policy, tenant_id=tenant.id, signer=tenant.root,
            version=5)

    # The user not verified, while the policy requires it: refused.
    prepared = client.get_access_request(request_id=first.id, signing_key_id=passkey.key_id, auth_token=tenant.approver)
    unverified = passkey.assert_statement(prepared.approve_statement, user_verified=False)
    error = refused(StatusCode.PERMISSION_DENIED, client.decide_customer, request_id=first.id, decision="approve",
                    signed_decision=unverified.to_proto(), auth_token=tenant.approver)
    assert "not verified" in error.message
    # A foreign origin: refused.
    foreign = passkey.assert_statement(prepared.approve_statement, origin="https://evil.example")
    refused(StatusCode.PERMISSION_DENIED, client.decide_customer, request_id=first.id, decision="approve",
            signed_decision=foreign.to_proto(), auth_token=tenant.approver)
    # Verified: approved, and the evidence carries the assertion.
    approved = client.approve(first.id, key=passkey, auth_token=tenant.approver)
    assert approved.status == pb.REQUEST_STATUS_APPROVED
    assert bytes(approved.customer_signature.authenticator_data)[32] & 0x05 == 0x05
    answer = check(client, world, tenant)
    assert answer.allowed
    evidence = AccessEvidence.from_bytes(answer.evidence)
    assert evidence.to_bytes() == bytes(answer.evidence)
    assert evidence.decision.assertion is not None and evidence.decision.key_id == passkey.key_id
    assert [p.statement for p in evidence.material.policies] == [bytes(policy.statement)]
    assert verify(answer.evidence, [tenant.root.public_key], world, tenant).kind == "approved"

    # A cloned authenticator (its counter not moving forward): refused.
    second = waiting(client, world, tenant)
    passkey.counter -= 1
    error = refused(StatusCode.PERMISSION_DENIED, client.approve, second.id, key=passkey, auth_token=tenant.approver)
    assert "counter" in error.message
    # With user verification preferred by a new policy, an unverified assertion is enough.
    admin.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, rp_id=passkey.rp_id, origins=[passkey.origin],
                            user_verification_required=False)
    prepared = client.get_access_request(request_id=second.id, signing_key_id=passkey.key_id,
                                         auth_token=tenant.approver)
    passkey.counter += 5
    asserted = passkey.assert_statement(prepared.deny_statement, user_verified=False)
    denied = client.decide_customer(request_id=second.id, decision="deny", signed_decision=asserted.to_proto(),
                                    auth_token=tenant.approver)
    assert denied.status == pb.REQUEST_STATUS_DENIED


def test_a_signed_policy_turns_the_lockbox_off(client, world, new_tenant, preapproved):
    """With the lockbox off by the tenant's signed policy, the provider's internal approval
    grants access, and the evidence is that policy."""
    tenant = new_tenant("off")
    admin = client.with_token(tenant.admin)
    admin.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, lockbox_enabled=False)
    request = client.create_access_request(tenant_id=tenant.id, service="exchange", ticket_number="SR-1",
                                           justification="migration", requested_duration_seconds=600,
                                           auth_token=world.operator)
    decided = client.decide_internal(request_id=request.id, approve=True, comment="ok", auth_token=world.manager)
    assert decided.status == pb.REQUEST_STATUS_APPROVED
    answer = check(client, world, tenant)
    assert answer.allowed
    verdict = verify(answer.evidence, [tenant.root.public_key], world, tenant)
    assert verdict.kind == "lockbox_off" and verdict.policy.version == 1 and not verdict.policy.lockbox_enabled


def test_a_delegate_approves_in_the_delegators_place_until_revoked(client, world, new_tenant, preapproved, tmp_path):
    """Delegation against the real lockboxd: the approver signs a delegation to a second
    approver; the second approves in the first's place (the decision names the delegation);
    the evidence carries it and verifies against the pinned root; the revocation unbacks the
    grant and refuses the next decision under it."""
    tenant = new_tenant("delegate")
    admin = client.with_token(tenant.admin)
    second, second_id = make_principal(client, "second approver", ["lockbox_approver"], tenant=tenant.id,
                                       by=tenant.admin)
    second_key = TenantSigner.generate()
    admin.certify_key(tenant_id=tenant.id, signer=tenant.root, principal_id=second_id, public_key=second_key)
    # Only the delegator gives it: the second approver cannot, in the first's name.
    refused(StatusCode.PERMISSION_DENIED, client.create_delegation, tenant_id=tenant.id, signer=tenant.approver_key,
            delegate_id=second_id, duration_seconds=86400, auth_token=second)
    given = client.create_delegation(tenant_id=tenant.id, signer=tenant.approver_key, delegate_id=second_id,
                                     duration_seconds=86400, services=["exchange"], auth_token=tenant.approver)
    assert given.holds and given.delegator_id == tenant.approver_id and list(given.services) == ["exchange"]
    listed = client.list_delegations(tenant_id=tenant.id, principal_id=second_id, auth_token=second)
    assert [d.delegation_id for d in listed.delegations] == [given.delegation_id]

    first = waiting(client, world, tenant)
    approved = client.decide_customer(request_id=first.id, decision=pb.DECISION_APPROVE, comment="for them",
                                      signer=second_key, delegation=given, auth_token=second)
    assert approved.status == pb.REQUEST_STATUS_APPROVED
    [vote] = client.get_access_request(request_id=first.id, auth_token=tenant.admin).customer_votes
    assert (vote.approver_id, vote.delegate_id, vote.delegation_id) == (tenant.approver_id, second_id,
                                                                        given.delegation_id)
    allowed = check(client, world, tenant)
    assert allowed.allowed
    evidence = AccessEvidence.from_bytes(allowed.evidence)
    assert len(evidence.material.delegations) == 1
    verdict = verify(allowed.evidence, [tenant.root.public_key], world, tenant)
    assert verdict.kind == "approved" and verdict.decision.counted_approver_id == tenant.approver_id

    # The delegator withdraws it: the grant is no longer backed, and the delegate cannot decide again.
    revoked = client.revoke_delegation(tenant_id=tenant.id, signer=tenant.approver_key,
                                       delegation_id=given.delegation_id, auth_token=tenant.approver)
    assert revoked.revoked and not revoked.holds
    denied = check(client, world, tenant)
    assert not denied.allowed and denied.reason == pb.ACCESS_DENY_REASON_UNVERIFIED_APPROVAL
    second_request = waiting(client, world, tenant)
    error = refused(StatusCode.PERMISSION_DENIED, client.decide_customer, request_id=second_request.id,
                    decision=pb.DECISION_APPROVE, signer=second_key, delegation=given, auth_token=second)
    assert "was revoked" in error.message
    # The chain, checked from an export alone against the pinned root: the action allowed under the
    # delegation was backed while it held, and the delegation and its revocation are in the chain.
    keys = tmp_path / "keys.json"
    save_keys(keys, client.list_signing_keys())
    export = tmp_path / "chain.jsonl"
    admin.export_audit_to_file(export, include_integrity=True)
    verified = verify_export(export, keys, tenant=tenant.id, tenant_roots=[tenant.root.public_key])
    assert verified.records > 0
    text = export.read_text()
    assert "DelegationGranted" in text and "DelegationRevoked" in text
