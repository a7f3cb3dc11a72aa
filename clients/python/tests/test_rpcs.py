"""Every rpc of `service Lockbox`, at least once, against a real lockboxd: successes, and the
refusals the protocol documents (PERMISSION_DENIED, NOT_FOUND, FAILED_PRECONDITION, ...), each
with its code. The last test checks that this module called every method in METHODS."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

import lockbox
from lockbox import StatusCode, pb
from lockbox.integrity import save_keys, verify_approval, verify_export

from support import make_principal

CALLED = {}


@pytest.fixture(scope="module")
def api(server, world):
    """A client whose observer records every method called in this module, with its codes."""

    def observe(event: lockbox.CallEvent):
        CALLED.setdefault(event.method, set()).add(event.code)

    with lockbox.Client(server.address, plaintext=True, observer=observe) as observed:
        yield observed


def refused(expected, call, *args, **kwargs):
    """Makes the call, expecting the error of status ``expected``; returns it."""
    with pytest.raises(lockbox.LockboxError) as info:
        call(*args, **kwargs)
    assert info.value.code == expected, "%s, not %s" % (info.value, expected.name)
    assert isinstance(info.value, lockbox.errors._BY_CODE[expected])
    assert info.value.message
    return info.value


def new_request(api, world, tenant_id, **fields):
    values = dict(tenant_id=tenant_id, service="exchange", ticket_number="SR-1001",
                  justification="mailbox fails to sync", requested_duration_seconds=3600)
    values.update(fields)
    token = values.pop("token", world.operator)
    return api.create_access_request(auth_token=token, **values)


def test_ping_needs_no_token(api):
    pong = api.ping()
    assert pong.version
    assert pong.server_time_ms > 0


def test_a_request_from_filing_to_revocation(api, world, new_tenant):
    tenant = new_tenant("life")
    operator = api.with_token(world.operator)
    # CreateAccessRequest: an idempotency key returns the original request on a retry.
    key = "key-" + uuid.uuid4().hex
    first = new_request(api, world, tenant.id, idempotency_key=key)
    assert first.status == pb.REQUEST_STATUS_PENDING_INTERNAL
    again = new_request(api, world, tenant.id, idempotency_key=key)
    assert again.id == first.id
    refused(StatusCode.ALREADY_EXISTS, new_request, api, world, tenant.id, idempotency_key=key, ticket_number="SR-2")
    refused(StatusCode.INVALID_ARGUMENT, new_request, api, world, tenant.id, requested_duration_seconds=5)
    refused(StatusCode.NOT_FOUND, new_request, api, world, "no-such-tenant")
    refused(StatusCode.PERMISSION_DENIED, new_request, api, world, tenant.id, token=tenant.admin)

    # GetAccessRequest: the requester and the tenant may read it; another tenant may not know it exists.
    assert operator.get_access_request(request_id=first.id).id == first.id
    assert api.get_access_request(request_id=first.id, auth_token=tenant.approver).tenant_id == tenant.id
    refused(StatusCode.NOT_FOUND, api.get_access_request, request_id=first.id, auth_token=world.fabrikam.admin)
    refused(StatusCode.NOT_FOUND, operator.get_access_request, request_id="req_nope")

    # DecideInternal: support managers only.
    refused(StatusCode.PERMISSION_DENIED, operator.decide_internal, request_id=first.id, approve=True)
    decided = api.decide_internal(request_id=first.id, approve=True, comment="ok", auth_token=world.manager)
    assert decided.status == pb.REQUEST_STATUS_PENDING_CUSTOMER
    refused(StatusCode.FAILED_PRECONDITION, api.decide_internal, request_id=first.id, approve=True,
            auth_token=world.manager)

    # An operation pre-approved before the customer decides is in the grant's scope.
    operation = "Get-Sizes-" + uuid.uuid4().hex[:8]
    api.add_preapproved_operation(service="exchange", operation=operation,
                                  description="read mailbox sizes", auth_token=world.provider_admin)

    # DecideCustomer: the tenant's approvers, signing with their own key what the server prepared
    # (the tenant has a root, whose initial policy requires it); the server signs its statement too.
    refused(StatusCode.PERMISSION_DENIED, operator.decide_customer, request_id=first.id, decision="approve")
    refused(StatusCode.INVALID_ARGUMENT, api.decide_customer, request_id=first.id, decision="approve",
            approved_duration_seconds=7200, auth_token=tenant.approver)
    refused(StatusCode.FAILED_PRECONDITION, api.decide_customer, request_id=first.id, decision="approve",
            auth_token=tenant.approver)
    approved = api.decide_customer(request_id=first.id, decision=pb.DECISION_APPROVE, comment="go ahead",
                                   signer=tenant.approver_key, auth_token=tenant.approver)
    assert approved.status == pb.REQUEST_STATUS_APPROVED
    assert approved.grant.active
    # The server's signed statement of the approval verifies against its published keys.
    keys = api.list_signing_keys()
    statement = verify_approval(approved, keys)
    assert statement.decision == "Approve" and statement.request_id == first.id
    assert statement.approver_id == tenant.approver_id
    assert statement.covers(approved.grant.starts_at_ms)
    # It states the grant's scope (approval v2): the operations pre-approved when it was approved.
    assert statement.version == 2 and operation.lower() in statement.operations
    assert list(statement.operations) == sorted(o.lower() for o in statement.operations)
    assert statement.allows(operation.upper())

    # CheckAccess: data-plane services; the operation must be in the grant's scope.
    check = dict(tenant_id=tenant.id, service="exchange", operator_id=world.operator_id, client_ip="192.0.2.7")
    allowed = api.check_access(operation=operation, auth_token=world.service, **check)
    assert allowed.allowed and allowed.request_id == first.id and allowed.grant_ends_at_ms > 0
    not_listed = api.check_access(operation="Set-Mailbox", auth_token=world.service, **check)
    assert not not_listed.allowed
    assert not_listed.reason == pb.ACCESS_DENY_REASON_OPERATION_NOT_PREAPPROVED
    # An operation pre-approved after the approval does not widen the grant.
    later = "Get-Later-" + uuid.uuid4().hex[:8]
    api.add_preapproved_operation(service="exchange", operation=later, description="added later",
                                  auth_token=world.provider_admin)
    widened = api.check_access(operation=later, auth_token=world.service, **check)
    assert not widened.allowed and widened.reason == pb.ACCESS_DENY_REASON_OPERATION_NOT_PREAPPROVED
    assert not statement.allows(later)
    refused(StatusCode.PERMISSION_DENIED, operator.check_access, operation=operation, **check)

    # ListGrants: the operator's own grants, each with its scope (the signed one).
    grants = operator.list_grants()
    assert first.id in [g.request_id for g in grants.grants]
    [grant] = [g for g in grants.grants if g.request_id == first.id]
    assert tuple(grant.operations) == statement.operations
    refused(StatusCode.PERMISSION_DENIED, operator.list_grants, operator_id=world.operator2_id)

    # RevokeAccess: the tenant's approvers.
    revoked = api.revoke_access(request_id=first.id, reason="done", auth_token=tenant.approver)
    assert revoked.status == pb.REQUEST_STATUS_REVOKED
    after = api.check_access(operation=operation, auth_token=world.service, **check)
    assert not after.allowed and after.reason == pb.ACCESS_DENY_REASON_REVOKED
    refused(StatusCode.FAILED_PRECONDITION, api.revoke_access, request_id=first.id, auth_token=tenant.approver)

    # CancelAccessRequest: the requester, while it is pending.
    second = new_request(api, world, tenant.id)
    refused(StatusCode.NOT_FOUND, api.cancel_access_request, request_id=second.id, auth_token=world.operator2)
    cancelled = operator.cancel_access_request(request_id=second.id, reason="not needed")
    assert cancelled.status == pb.REQUEST_STATUS_CANCELED
    refused(StatusCode.FAILED_PRECONDITION, operator.cancel_access_request, request_id=second.id)

    # ListAccessRequests: pages, with the same filters; status filters by the clock.
    third = new_request(api, world, tenant.id)
    pager = api.list_access_requests(tenant_id=tenant.id, page_size=1, auth_token=tenant.admin)
    assert len(pager.requests) == 1 and pager.next_page_token
    assert sorted(r.id for r in pager) == sorted([first.id, second.id, third.id])
    assert len(list(pager.pages())) == 3
    pending = list(api.list_access_requests(tenant_id=tenant.id, status="pending_internal", auth_token=tenant.admin))
    assert [r.id for r in pending] == [third.id]
    refused(StatusCode.NOT_FOUND, api.list_access_requests, tenant_id=tenant.id, auth_token=world.fabrikam.admin)
    refused(StatusCode.INVALID_ARGUMENT, api.list_access_requests, tenant_id=tenant.id, page_token="garbage",
            auth_token=tenant.admin)


def test_tenants_and_enrollment(api, world):
    tenant_id = "enr-" + uuid.uuid4().hex[:8]
    created = api.create_tenant(tenant_id=tenant_id, display_name="Enrolled Inc", auth_token=world.provider_admin)
    assert created.tenant.id == tenant_id and created.enrollment.code.startswith("lbxe_")
    refused(StatusCode.ALREADY_EXISTS, api.create_tenant, tenant_id=tenant_id, display_name="Again",
            auth_token=world.provider_admin)
    refused(StatusCode.INVALID_ARGUMENT, api.create_tenant, tenant_id="Not Valid!", display_name="x",
            auth_token=world.provider_admin)
    refused(StatusCode.PERMISSION_DENIED, api.create_tenant, tenant_id="x-" + tenant_id, display_name="x",
            auth_token=world.operator)
    # A new code replaces the first while the tenant has no admin.
    code = api.issue_enrollment_code(tenant_id=tenant_id, auth_token=world.provider_admin)
    assert code.code.startswith("lbxe_") and code.code != created.enrollment.code
    refused(StatusCode.UNAUTHENTICATED, api.enroll_tenant_admin, tenant_id=tenant_id, code="lbxe_" + "A" * 40,
            display_name="Mallory")
    # The first admin brings the tenant's root key.
    refused(StatusCode.INVALID_ARGUMENT, api.enroll_tenant_admin, tenant_id=tenant_id, code=code.code,
            display_name="First Admin")
    root = lockbox.TenantSigner.generate()
    enrolled = api.enroll_tenant_admin(tenant_id=tenant_id, code=code.code, display_name="First Admin",
                                       root_key=root)
    assert enrolled.token.secret.startswith("lbx_")
    trust = api.get_tenant_trust(tenant_id=tenant_id, auth_token=enrolled.token.secret)
    assert [(r.key_id, bytes(r.public_key)) for r in trust.roots] == [(root.key_id, root.public_key)]
    assert [r.role for r in enrolled.admin.roles] == [pb.ROLE_GLOBAL_ADMIN]
    refused(StatusCode.FAILED_PRECONDITION, api.issue_enrollment_code, tenant_id=tenant_id,
            auth_token=world.provider_admin)


def test_tenant_settings(api, world, new_tenant):
    tenant = new_tenant("set")
    settings = api.get_tenant_settings(tenant_id=tenant.id, auth_token=tenant.approver)
    assert settings.lockbox_enabled and settings.approval_window_seconds == 43200
    refused(StatusCode.NOT_FOUND, api.get_tenant_settings, tenant_id=tenant.id, auth_token=world.fabrikam.admin)
    changed = api.set_tenant_settings(tenant_id=tenant.id, approval_window_seconds=600,
                                      max_access_duration_seconds={"value": 7200}, auth_token=tenant.admin)
    assert changed.approval_window_seconds == 600 and changed.max_access_duration_seconds == 7200
    refused(StatusCode.INVALID_ARGUMENT, api.set_tenant_settings, tenant_id=tenant.id, approval_window_seconds=5,
            auth_token=tenant.admin)
    refused(StatusCode.PERMISSION_DENIED, api.set_tenant_settings, tenant_id=tenant.id,
            approval_window_seconds=900, auth_token=tenant.approver)
    refused(StatusCode.INVALID_ARGUMENT, api.set_lockbox_enabled, tenant_id=tenant.id, enabled=False,
            auth_token=tenant.admin)
    # A tenant with a root switches its lockbox with a policy its own key signs, not with this call.
    refused(StatusCode.FAILED_PRECONDITION, api.set_lockbox_enabled, tenant_id=tenant.id, enabled=False,
            reason="migration weekend", auth_token=tenant.admin)
    off = api.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, lockbox_enabled=False,
                                auth_token=tenant.admin)
    assert off.version == 1 and not off.lockbox_enabled
    assert not api.get_tenant_settings(tenant_id=tenant.id, auth_token=tenant.admin).lockbox_enabled
    on = api.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, auth_token=tenant.admin)
    assert on.version == 2 and on.lockbox_enabled
    assert api.get_tenant_settings(tenant_id=tenant.id, auth_token=tenant.admin).lockbox_enabled


def test_tenant_trust(api, world, new_tenant):
    """The tenant's own statements (lockbox.trust): certify, revoke, set the policy, rotate the root."""
    tenant = new_tenant("tru")
    admin = api.with_token(tenant.admin)
    before = admin.get_tenant_trust(tenant_id=tenant.id)
    assert [r.key_id for r in before.roots] == [tenant.root.key_id]
    assert [k.key_id for k in before.keys] == [tenant.approver_key.key_id]
    refused(StatusCode.NOT_FOUND, api.get_tenant_trust, tenant_id=tenant.id, auth_token=world.fabrikam.admin)
    key = lockbox.TenantSigner.generate()
    certified = admin.certify_key(tenant_id=tenant.id, signer=tenant.root, principal_id=tenant.approver_id,
                                  public_key=key, valid_for_seconds=600)
    assert certified.key_id == key.key_id and certified.not_after_ms - certified.not_before_ms == 900_000
    refused(StatusCode.INVALID_ARGUMENT, admin.certify_key, tenant_id=tenant.id, statement=b"not a statement",
            issuer_key_id=tenant.root.key_id, signature=bytes(64))
    refused(StatusCode.PERMISSION_DENIED, api.certify_key, tenant_id=tenant.id, signer=tenant.root,
            principal_id=tenant.approver_id, public_key=lockbox.TenantSigner.generate(), auth_token=tenant.approver)
    revoked = admin.revoke_key(tenant_id=tenant.id, signer=tenant.root, key_id=key.key_id)
    assert revoked.revoked and revoked.revoked_at_ms > 0
    policy = admin.set_tenant_policy(tenant_id=tenant.id, signer=tenant.root, signatures_required=False)
    assert policy.version == 1 and not policy.signatures_required
    refused(StatusCode.PERMISSION_DENIED, admin.set_tenant_policy, tenant_id=tenant.id, signer=key)
    following = lockbox.TenantSigner.generate()
    refused(StatusCode.PERMISSION_DENIED, admin.adopt_tenant_root, tenant_id=tenant.id, root_key=following)
    refused(StatusCode.PERMISSION_DENIED, api.adopt_tenant_root, tenant_id=tenant.id, root_key=following,
            previous_root_key=tenant.root, auth_token=tenant.approver)
    rotated = admin.adopt_tenant_root(tenant_id=tenant.id, root_key=following, previous_root_key=tenant.root)
    assert rotated.key_id == following.key_id and rotated.attested_by
    after = admin.get_tenant_trust(tenant_id=tenant.id)
    assert [r.key_id for r in after.roots] == [tenant.root.key_id, following.key_id]
    assert after.policy.version == 1 and {k.key_id: k.revoked for k in after.keys}[key.key_id]


def test_delegations(api, world, new_tenant):
    """An approver's delegation to another approver: create, list, revoke (lockbox.trust signs)."""
    tenant = new_tenant("dlg")
    admin = api.with_token(tenant.admin)
    token, other_id = make_principal(api, "Other approver", ["lockbox_approver"], tenant=tenant.id, by=tenant.admin)
    given = api.create_delegation(tenant_id=tenant.id, signer=tenant.approver_key, delegate_id=other_id,
                                  duration_seconds=3600, auth_token=tenant.approver)
    assert given.holds and given.delegate_id == other_id and not given.services
    refused(StatusCode.INVALID_ARGUMENT, api.create_delegation, tenant_id=tenant.id, statement=b"not a statement",
            issuer_key_id=tenant.approver_key.key_id, signature=bytes(64), auth_token=tenant.approver)
    refused(StatusCode.PERMISSION_DENIED, api.create_delegation, tenant_id=tenant.id, signer=tenant.approver_key,
            delegate_id=other_id, duration_seconds=3600, auth_token=world.operator)
    assert [d.delegation_id for d in admin.list_delegations(tenant_id=tenant.id).delegations] == [given.delegation_id]
    refused(StatusCode.INVALID_ARGUMENT, admin.list_delegations, tenant_id=tenant.id, page_size=101)
    refused(StatusCode.NOT_FOUND, api.list_delegations, tenant_id=tenant.id, auth_token=world.fabrikam.admin)
    refused(StatusCode.PERMISSION_DENIED, api.revoke_delegation, tenant_id=tenant.id, signer=tenant.approver_key,
            delegation_id=given.delegation_id, auth_token=token)
    revoked = admin.revoke_delegation(tenant_id=tenant.id, signer=tenant.root, delegation_id=given.delegation_id)
    assert revoked.revoked and not revoked.holds
    assert not admin.list_delegations(tenant_id=tenant.id).delegations
    assert admin.list_delegations(tenant_id=tenant.id, include_ended=True).delegations[0].revoked
    refused(StatusCode.ALREADY_EXISTS, admin.revoke_delegation, tenant_id=tenant.id, signer=tenant.root,
            delegation_id=given.delegation_id)


def test_principals_tokens_and_roles(api, world, new_tenant):
    tenant = new_tenant("ppl")
    admin = api.with_token(tenant.admin)
    helper = admin.create_principal(display_name="Helpdesk Hal", tenant_id=tenant.id)
    assert helper.tenant_id == tenant.id and not helper.roles
    refused(StatusCode.PERMISSION_DENIED, api.create_principal, display_name="x", tenant_id=tenant.id,
            auth_token=world.provider_admin)
    refused(StatusCode.INVALID_ARGUMENT, admin.create_principal, display_name="Lockbox", tenant_id=tenant.id)
    names = [p.display_name for p in admin.list_principals(tenant_id=tenant.id).principals]
    assert "Helpdesk Hal" in names
    refused(StatusCode.NOT_FOUND, admin.list_principals, tenant_id=world.fabrikam.id)

    assignment = admin.assign_role(principal_id=helper.id, role="lockbox_approver", tenant_id=tenant.id)
    assert assignment.role == pb.ROLE_LOCKBOX_APPROVER and assignment.assigned_by == tenant.admin_id
    assert helper.id in [a.principal_id for a in admin.list_role_assignments(tenant_id=tenant.id).assignments]
    refused(StatusCode.INVALID_ARGUMENT, admin.assign_role, principal_id=helper.id, role="unspecified",
            tenant_id=tenant.id)

    issued = admin.issue_token(principal_id=helper.id, ttl_seconds=3600)
    assert issued.token.expires_at_ms > 0
    helper_api = api.with_token(issued.secret)
    assert helper_api.get_tenant_settings(tenant_id=tenant.id).tenant_id == tenant.id
    refused(StatusCode.INVALID_ARGUMENT, admin.issue_token, principal_id=helper.id, ttl_seconds=-1)
    # A revoked token no longer authenticates, at the very next call.
    revoked = admin.revoke_token(token_id=issued.token.id)
    assert revoked.revoked
    refused(StatusCode.UNAUTHENTICATED, helper_api.get_tenant_settings, tenant_id=tenant.id)
    # A removed role no longer permits.
    helper_api = api.with_token(admin.issue_token(principal_id=helper.id).secret)
    removed = admin.remove_role(principal_id=helper.id, role="lockbox_approver", tenant_id=tenant.id)
    assert removed.principal_id == helper.id
    refused(StatusCode.PERMISSION_DENIED, helper_api.get_tenant_settings, tenant_id=tenant.id)

    emailed = admin.set_principal_email(principal_id=helper.id, email="hal@example.com")
    assert emailed.email == "hal@example.com"
    refused(StatusCode.INVALID_ARGUMENT, admin.set_principal_email, principal_id=helper.id, email="not an address")

    suspended = admin.suspend_principal(principal_id=helper.id, reason="left the company")
    assert suspended.suspended_at_ms > 0
    refused(StatusCode.FAILED_PRECONDITION, admin.suspend_principal, principal_id=tenant.admin_id, reason="me")
    refused(StatusCode.INVALID_ARGUMENT, admin.suspend_principal, principal_id=helper.id)
    reactivated = admin.reactivate_principal(principal_id=helper.id, reason="came back")
    assert reactivated.suspended_at_ms == 0
    refused(StatusCode.NOT_FOUND, admin.reactivate_principal, principal_id=world.fabrikam.admin_id)

    digest = hashlib.sha256(b"a certificate").digest()
    bound = api.bind_certificate(principal_id=world.service_id, certificate_sha256=digest,
                                 auth_token=world.provider_admin)
    assert bound.id == world.service_id
    api.bind_certificate(principal_id=world.service_id, certificate_sha256=b"", auth_token=world.provider_admin)
    refused(StatusCode.INVALID_ARGUMENT, api.bind_certificate, principal_id=world.service_id,
            certificate_sha256=b"short", auth_token=world.provider_admin)
    refused(StatusCode.PERMISSION_DENIED, api.bind_certificate, principal_id=world.service_id,
            certificate_sha256=digest, auth_token=tenant.approver)


def test_preapproved_operations(api, world):
    name = "Get-Thing" + uuid.uuid4().hex[:6]
    added = api.add_preapproved_operation(service="sharepoint", operation=name, description="reads things",
                                          auth_token=world.provider_admin)
    assert added.operation == name
    listed = api.list_preapproved_operations(service="sharepoint", auth_token=world.contoso.approver)
    assert name in [o.operation for o in listed.operations]
    refused(StatusCode.PERMISSION_DENIED, api.add_preapproved_operation, service="sharepoint", operation=name,
            auth_token=world.operator)
    refused(StatusCode.INVALID_ARGUMENT, api.add_preapproved_operation, service="sharepoint",
            operation="CustomerApprove", auth_token=world.provider_admin)
    assert isinstance(api.remove_preapproved_operation(service="sharepoint", operation=name,
                                                       auth_token=world.provider_admin), pb.Empty)
    listed = api.list_preapproved_operations(service="sharepoint", auth_token=world.operator)
    assert name not in [o.operation for o in listed.operations]


def grant_of(api, world, request_id):
    """The grant of a request as ListGrants shows it, with its scope. (AccessRequest.grant does
    not carry its operations: lockboxd leaves them out there.)"""
    [grant] = [g for g in api.list_grants(auth_token=world.operator).grants if g.request_id == request_id]
    return grant


def approve(api, world, tenant, **fields):
    """A request filed, approved by a support manager, then by the tenant's approver."""
    request = new_request(api, world, tenant.id, **fields)
    api.decide_internal(request_id=request.id, approve=True, comment="ok", auth_token=world.manager)
    return api.approve(request.id, key=tenant.approver_key, auth_token=tenant.approver)


def test_a_grant_keeps_the_scope_it_was_approved_for(api, world, new_tenant):
    """The operations a grant allows are fixed when the customer approves (and signed with the
    decision): one pre-approved later is for later approvals; one removed is no longer allowed."""
    tenant = new_tenant("scope")
    keys = api.list_signing_keys()
    provider = api.with_token(world.provider_admin)
    # Teams: no other test pre-approves its operations, so the scopes are known exactly.
    first_op, later_op = "Get-TeamA-" + uuid.uuid4().hex[:6], "Get-TeamB-" + uuid.uuid4().hex[:6]
    for existing in api.list_preapproved_operations(service="teams", auth_token=world.operator).operations:
        provider.remove_preapproved_operation(service="teams", operation=existing.operation)
    provider.add_preapproved_operation(service="teams", operation=first_op, description="first")
    try:
        first = approve(api, world, tenant, service="teams")
        assert list(grant_of(api, world, first.id).operations) == [first_op.lower()]
        statement = verify_approval(first, keys)
        assert statement.version == 2 and statement.operations == (first_op.lower(),)
        check = dict(tenant_id=tenant.id, service="teams", operator_id=world.operator_id, client_ip="192.0.2.7",
                     auth_token=world.service)
        assert api.check_access(operation=first_op.upper(), **check).allowed

        provider.add_preapproved_operation(service="teams", operation=later_op, description="later")
        denied = api.check_access(operation=later_op, **check)
        assert not denied.allowed and denied.reason == pb.ACCESS_DENY_REASON_OPERATION_NOT_PREAPPROVED
        assert denied.request_id == first.id
        assert list(grant_of(api, world, first.id).operations) == [first_op.lower()]
        # A grant approved now has both in its scope, and allows the later one.
        second = approve(api, world, tenant, service="teams", ticket_number="SR-1002")
        scope = sorted([first_op.lower(), later_op.lower()])
        assert list(grant_of(api, world, second.id).operations) == scope
        assert verify_approval(second, keys).operations == tuple(scope)
        assert api.check_access(operation=later_op, **check).allowed
        # Removed from the pre-approved list: no longer allowed, though the grants state it.
        provider.remove_preapproved_operation(service="teams", operation=first_op)
        gone = api.check_access(operation=first_op, **check)
        assert not gone.allowed and gone.reason == pb.ACCESS_DENY_REASON_OPERATION_NOT_PREAPPROVED
        # Each change to the list is in the tenant's chain (AUDIT_KIND_OPERATION).
        changes = [(r.activity, json.loads(r.details_json)["operation"])
                   for r in api.search_audit(tenant_id=tenant.id, kind="operation", auth_token=tenant.admin)]
        assert ("PreapprovedOperationAdded", later_op) in changes
        assert ("PreapprovedOperationRemoved", first_op) in changes
    finally:
        for operation in (first_op, later_op):
            try:
                provider.remove_preapproved_operation(service="teams", operation=operation)
            except lockbox.NotFound:
                pass


def test_audit_search_export_and_checkpoints(api, world, new_tenant, tmp_path):
    tenant = new_tenant("aud")
    admin = api.with_token(tenant.admin)
    activities = [r.activity for r in admin.search_audit(tenant_id=tenant.id, page_size=2)]
    assert "TenantCreated" in activities and "TenantAdminEnrolled" in activities
    assert len(activities) >= 6
    refused(StatusCode.NOT_FOUND, admin.search_audit, tenant_id=world.fabrikam.id)
    refused(StatusCode.PERMISSION_DENIED, api.search_audit, tenant_id=tenant.id, auth_token=world.operator)
    records = list(api.search_audit(tenant_id=tenant.id, activity="TenantCreated", auth_token=world.auditor))
    assert len(records) == 1 and json.loads(records[0].details_json)["display_name"]

    # ExportAudit, plain: JSON Lines and CSV.
    with admin.export_audit(tenant_id=tenant.id, format="json_lines") as stream:
        text = b"".join(chunk.data for chunk in stream).decode()
    lines = [json.loads(line) for line in text.splitlines()]
    assert {line["activity"] for line in lines} >= {"TenantCreated", "TenantAdminEnrolled"}
    assert stream.status.code == StatusCode.OK
    csv_text = b"".join(c.data for c in admin.export_audit(tenant_id=tenant.id, format="csv")).decode()
    assert csv_text.startswith("id,time,tenant_id,kind,actor_id,actor_display,actor_ip,activity,item,decision,details")
    with pytest.raises(lockbox.InvalidArgument):
        list(admin.export_audit(tenant_id=tenant.id, format="csv", include_integrity=True))

    # CreateCheckpoint and ListCheckpoints (paged by after_seq).
    checkpoint = admin.create_checkpoint(tenant_id=tenant.id)
    assert checkpoint.scope == tenant.id and checkpoint.seq >= len(lines)
    listed = list(admin.list_checkpoints(tenant_id=tenant.id, page_size=1))
    assert listed and listed[-1].seq == checkpoint.seq
    refused(StatusCode.INVALID_ARGUMENT, admin.list_checkpoints, tenant_id=tenant.id, after_seq=-1)
    refused(StatusCode.PERMISSION_DENIED, api.create_checkpoint, tenant_id=tenant.id, auth_token=world.operator)

    # ListSigningKeys: public, no token, trusted keys only (the session's, introduced by the
    # database's owner when it migrated); an integrity export verifies against them.
    keys = api.list_signing_keys(auth_token="")
    assert keys.keys and all(len(k.public_key) == 32 for k in keys.keys)
    assert all(k.introduced_by_owner and not k.attested_by and not k.attestation for k in keys.keys)
    # Each key's arrival is in every chain, a new tenant's included (AUDIT_KIND_KEY).
    arrivals = list(admin.search_audit(tenant_id=tenant.id, kind="key"))
    assert {json.loads(r.details_json)["key_id"] for r in arrivals} == {k.key_id for k in keys.keys}
    assert {(r.activity, r.kind) for r in arrivals} == {("SigningKeyAdded", pb.AUDIT_KIND_KEY)}
    keys_file = tmp_path / "keys.json"
    save_keys(keys_file, keys)
    export = tmp_path / "chain.jsonl"
    progress = []
    result = admin.export_audit_to_file(export, tenant_id=tenant.id, include_integrity=True, progress=progress.append)
    assert result.lines > len(lines) and result.include_integrity
    assert progress and progress[-1].bytes_written == os.path.getsize(export)
    verified = verify_export(export, keys_file, tenant=tenant.id)
    assert verified.records >= len(lines)
    assert verified.head_seq == verified.records and verified.scope == tenant.id
    # The repository's independent verifier, known to agree with the server, agrees.
    interop = os.environ.get("LOCKBOX_TEST_VERIFY_EXPORT", "")
    if interop and os.path.exists(interop):
        out = subprocess.run([sys.executable, interop, str(export), str(keys_file)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
        *notices, verdict = out.stdout.splitlines()
        assert verdict.split() == ["ok", str(verified.records), str(verified.checkpoints), verified.head_hash]
        # Before it, the notices of the consent check: the root adopted at enrollment, and where trust starts.
        assert notices == ["notice: %s" % n for n in verified.consent.notices]


def test_webhooks_and_notifications(api, world, new_tenant):
    tenant = new_tenant("hook")
    admin = api.with_token(tenant.admin)
    # An endpoint on loopback: lockboxd refuses to deliver there without
    # --webhook-allow-private-networks, so nothing leaves this machine.
    added = admin.add_webhook(tenant_id=tenant.id, url="https://127.0.0.1:9/lockbox-hook")
    assert added.secret and added.webhook.url == "https://127.0.0.1:9/lockbox-hook"
    assert [w.id for w in admin.list_webhooks(tenant_id=tenant.id).webhooks] == [added.webhook.id]
    refused(StatusCode.INVALID_ARGUMENT, admin.add_webhook, tenant_id=tenant.id, url="http://127.0.0.1/hook")
    refused(StatusCode.PERMISSION_DENIED, admin.add_webhook, tenant_id=tenant.id, url="https://127.0.0.1:9/x",
            auth_token=tenant.approver)
    removed = admin.remove_webhook(webhook_id=added.webhook.id)
    assert removed.id == added.webhook.id
    assert not admin.list_webhooks(tenant_id=tenant.id).webhooks
    refused(StatusCode.NOT_FOUND, admin.remove_webhook, webhook_id=added.webhook.id)
    notifications = admin.list_notifications(tenant_id=tenant.id)
    assert list(notifications) == [] and notifications.next_page_token == ""
    refused(StatusCode.PERMISSION_DENIED, admin.list_notifications, tenant_id=tenant.id, auth_token=tenant.approver)


def test_watch_access_requests_stream(api, world, new_tenant):
    tenant = new_tenant("wat")
    with api.watch_access_requests(tenant_id=tenant.id, auth_token=tenant.admin) as stream:
        marker = next(stream)
        assert marker.live and not marker.HasField("request")
        filed = new_request(api, world, tenant.id)
        event = next(stream)
        assert event.request.id == filed.id and event.activity == "AccessRequestCreated"
        assert event.event_id > marker.event_id and event.status == pb.REQUEST_STATUS_PENDING_INTERNAL
    assert stream.wait_status(timeout=30).code == StatusCode.CANCELLED
    with pytest.raises(lockbox.NotFound):
        next(api.watch_access_requests(tenant_id=tenant.id, auth_token=world.fabrikam.admin))
    with pytest.raises(lockbox.PermissionDenied):
        next(api.watch_access_requests(tenant_id=tenant.id, auth_token=world.service))


def test_every_rpc_was_called():
    """Runs last in this module: each rpc of the proto was called above."""
    missing = sorted(set(lockbox.METHODS) - set(CALLED))
    assert not missing, "never called: %s" % ", ".join(missing)
    for name, codes in sorted(CALLED.items()):
        print("%-28s %s" % (name, ", ".join(sorted(code.name for code in codes))))
