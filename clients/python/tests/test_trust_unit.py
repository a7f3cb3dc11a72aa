"""lockbox.trust offline, as Tests/LockboxTrustTests/TrustTests.swift tables it: statements read
back as written, which decisions a chain accepts (one change at a time), the policy in force,
passkey assertions as a relying party checks them, evidence against pinned roots; key files."""

from __future__ import annotations

import base64
import os
import stat
import struct
from dataclasses import replace

import pytest

from lockbox import trust
from lockbox.trust import (
    ADMINISTER,
    DECIDE,
    AccessEvidence,
    DecisionStatement,
    EvidenceVerifier,
    KeyCertificate,
    KeyRevocation,
    Malformed,
    RootRecord,
    SoftwarePasskey,
    TenantPolicy,
    TenantRootStatement,
    TenantSigner,
    TenantTrust,
    TrustMaterial,
    TrustProblem,
    WebAuthnAssertion,
)

ROOT = TenantSigner(bytes([1] * 32))
NEXT_ROOT = TenantSigner(bytes([2] * 32))
ADMIN = TenantSigner(bytes([3] * 32))
APPROVER = TenantSigner(bytes([4] * 32))
STRANGER = TenantSigner(bytes([5] * 32))
YEAR = 365 * 86_400_000
NOW = 1_800_000_000_000


def root_record(signer=ROOT, previous=None, tenant="contoso"):
    statement = TenantRootStatement(tenant, signer.public_key, previous.key_id if previous else "").to_bytes()
    return RootRecord(statement, signer.signature(statement), previous.signature(statement) if previous else b"")


def certify(key, principal, may, by=ROOT, algorithm=trust.ED25519, start=NOW - YEAR, until=NOW + YEAR):
    return by.sign(KeyCertificate("contoso", principal, algorithm, key, may, start, until, by.key_id))


def decision(word="Approve", key=APPROVER.key_id, approver="p_approver", tenant="contoso"):
    return DecisionStatement(tenant, "req_1", "p_op", "exchange", ["get-mailbox"], NOW, NOW + 3_600_000, word,
                             approver, key, bytes([1, 2, 3]))


def material(roots=None, certificates=None, revocations=(), policies=()):
    return TrustMaterial(
        "contoso",
        roots=list(roots) if roots is not None else [root_record()],
        certificates=list(certificates) if certificates is not None else [
            certify(ADMIN.public_key, "p_admin", ADMINISTER),
            certify(APPROVER.public_key, "p_approver", DECIDE, by=ADMIN),
        ],
        revocations=list(revocations),
        policies=list(policies),
    )


def trusting(*keys):
    return lambda root, _record: root.public_key in keys


def test_every_statement_reads_back_as_written():
    certificate = KeyCertificate("t", "p", trust.ES256_WEBAUTHN, b"\x01\x02", DECIDE | ADMINISTER, -1, 2**63 - 1, "i")
    assert KeyCertificate.from_bytes(certificate.to_bytes()) == certificate
    assert certificate.key_id == "es256:" + __import__("hashlib").sha256(b"\x01\x02").hexdigest()[:16]
    policy = TenantPolicy("t", 3, lockbox_enabled=False, signatures_required=True, user_verification_required=False,
                          rp_id="portal.example", origins=("https://portal.example", "https://x.example"),
                          issuer_key_id="i")
    assert TenantPolicy.from_bytes(policy.to_bytes()) == policy
    assert DecisionStatement.from_bytes(decision().to_bytes()) == decision()
    root = TenantRootStatement("t", ROOT.public_key)
    assert TenantRootStatement.from_bytes(root.to_bytes()) == root
    revocation = KeyRevocation("t", "k", "i")
    assert KeyRevocation.from_bytes(revocation.to_bytes()) == revocation
    assert trust.decode_statement(policy.to_bytes()) == policy
    # Another statement's bytes, a byte more, or a byte less: refused.
    with pytest.raises(Malformed):
        KeyCertificate.from_bytes(policy.to_bytes())
    with pytest.raises(Malformed):
        DecisionStatement.from_bytes(decision().to_bytes() + b"\x00")
    with pytest.raises(Malformed):
        DecisionStatement.from_bytes(decision().to_bytes()[:-1])
    # Flags beyond the three bits, more than 32 origins, an unknown algorithm, bad UTF-8: refused.
    with pytest.raises(Malformed):
        TenantPolicy.from_bytes(replace(policy).to_bytes().replace(struct.pack(">q", policy.flags), struct.pack(">q", 8)))
    with pytest.raises(Malformed):
        TenantPolicy.from_bytes(replace(policy, origins=["https://a.example"] * 33).to_bytes())
    assert len(TenantPolicy.from_bytes(replace(policy, origins=["https://a.example"] * 32).to_bytes()).origins) == 32
    with pytest.raises(Malformed):
        KeyCertificate.from_bytes(replace(certificate, algorithm="rsa").to_bytes())
    with pytest.raises(Malformed):
        KeyRevocation.from_bytes(b"lockbox/key-revocation/v1\x00\x00\x00\x00\x01\xff" + b"\x00" * 8)


def test_the_canonical_encoding_byte_for_byte():
    """Written out by hand: a tag and NUL, 4-byte big-endian lengths, 8-byte big-endian int64s,
    a string list as an int64 count and its strings."""
    assert KeyRevocation("t", "k", "i").to_bytes() == (
        b"lockbox/key-revocation/v1\x00" + b"\x00\x00\x00\x01t" + b"\x00\x00\x00\x01k" + b"\x00\x00\x00\x01i"
    )
    policy = TenantPolicy("t", 2, lockbox_enabled=True, signatures_required=False, user_verification_required=True,
                          rp_id="r", origins=("o1", "o2"), issuer_key_id="i")
    assert policy.to_bytes() == (
        b"lockbox/tenant-policy/v1\x00" + b"\x00\x00\x00\x01t" + (2).to_bytes(8, "big") + (5).to_bytes(8, "big")
        + b"\x00\x00\x00\x01r" + (2).to_bytes(8, "big") + b"\x00\x00\x00\x02o1" + b"\x00\x00\x00\x02o2"
        + b"\x00\x00\x00\x01i"
    )
    statement = DecisionStatement("t", "r", "o", "exchange", (), -1, 0, "Deny", "a", "k", b"\x09")
    assert statement.to_bytes() == (
        b"lockbox/decision/v1\x00" + b"\x00\x00\x00\x01t" + b"\x00\x00\x00\x01r" + b"\x00\x00\x00\x01o"
        + b"\x00\x00\x00\x08exchange" + bytes(8) + b"\xff" * 8 + bytes(8) + b"\x00\x00\x00\x04Deny"
        + b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x01k" + b"\x00\x00\x00\x01\x09"
    )
    # Key ids: the prefix and 16 hex digits of SHA-256 of the public key's bytes.
    assert ROOT.key_id == trust.key_id(ROOT.public_key) == "ed25519:34750f98bd59fcfc"
    assert trust.webauthn_challenge(b"abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


DECISIONS = [
    ("as issued", True),
    ("root not anchored", False),
    ("approver key revoked", False),
    ("issuing admin revoked", False),
    ("certificate expired", False),
    ("key of another principal", False),
    ("certified by an uncertified key", False),
    ("admin certified only to decide", False),
    ("signed by a stranger", False),
    ("statement altered", False),
    ("approver certified by the root directly", True),
    ("root rotated", True),
    ("rotation not signed by the old root", False),
    ("another tenant's decision", False),
    ("revoked by a stranger", True),
]


@pytest.mark.parametrize("change,accepted", DECISIONS)
def test_which_decisions_a_chain_accepts(change, accepted):
    m = material()
    anchor = trusting(ROOT.public_key)
    signed = APPROVER.sign(decision())
    if change == "root not anchored":
        anchor = trusting(STRANGER.public_key)
    elif change == "approver key revoked":
        m.revocations = [ADMIN.sign(KeyRevocation("contoso", APPROVER.key_id, ADMIN.key_id))]
    elif change == "issuing admin revoked":
        m.revocations = [ROOT.sign(KeyRevocation("contoso", ADMIN.key_id, ROOT.key_id))]
    elif change == "revoked by a stranger":
        m.revocations = [STRANGER.sign(KeyRevocation("contoso", APPROVER.key_id, STRANGER.key_id))]
    elif change == "certificate expired":
        m.certificates[1] = certify(APPROVER.public_key, "p_approver", DECIDE, by=ADMIN, until=NOW - 1)
    elif change == "key of another principal":
        signed = APPROVER.sign(decision(approver="p_someone_else"))
    elif change == "certified by an uncertified key":
        m.certificates[1] = certify(APPROVER.public_key, "p_approver", DECIDE, by=STRANGER)
    elif change == "admin certified only to decide":
        m.certificates[0] = certify(ADMIN.public_key, "p_admin", DECIDE)
    elif change == "signed by a stranger":
        signed = STRANGER.sign(decision(key=STRANGER.key_id))
    elif change == "statement altered":
        altered = bytearray(signed.statement)
        altered[-5] ^= 1
        signed = replace(signed, statement=bytes(altered))
    elif change == "approver certified by the root directly":
        m.certificates = [certify(APPROVER.public_key, "p_approver", DECIDE)]
    elif change == "root rotated":
        m.roots.append(root_record(NEXT_ROOT, previous=ROOT))
    elif change == "rotation not signed by the old root":
        m.roots.append(root_record(NEXT_ROOT, previous=STRANGER))
        m.certificates = [certify(APPROVER.public_key, "p_approver", DECIDE, by=NEXT_ROOT)]
    elif change == "another tenant's decision":
        signed = APPROVER.sign(decision(tenant="fabrikam"))
    chain = TenantTrust(m, anchor)
    if accepted:
        statement, counter = chain.verify_decision(signed)
        assert statement.request_id == "req_1" and counter == 0
    else:
        with pytest.raises(TrustProblem):
            chain.verify_decision(signed)


def test_the_policy_is_the_highest_version_an_administrator_signed():
    def policy(version, enabled, by):
        return by.sign(TenantPolicy("contoso", version, lockbox_enabled=enabled, issuer_key_id=by.key_id))

    assert TenantTrust(material(), trusting(ROOT.public_key)).policy == TenantPolicy.initial("contoso")
    signed = TenantTrust(
        material(policies=[policy(2, False, ADMIN), policy(1, True, ROOT), policy(9, True, APPROVER),
                           policy(8, True, STRANGER)]),
        trusting(ROOT.public_key),
    )
    assert signed.policy.version == 2 and not signed.policy.lockbox_enabled
    assert [str(p) for p in signed.problems] == [
        "the signature of tenant policy version 9 does not verify",
        "the signature of tenant policy version 8 does not verify",
    ]


PASSKEYS = [
    ("as asserted", True),
    ("user not verified, policy requires it", False),
    ("user not verified, policy allows it", True),
    ("user not present", False),
    ("wrong type", False),
    ("another statement's challenge", False),
    ("foreign origin", False),
    ("foreign relying party", False),
    ("signature of another assertion", False),
    ("no assertion", False),
]


@pytest.mark.parametrize("change,accepted", PASSKEYS)
def test_passkey_assertions(change, accepted):
    passkey = SoftwarePasskey()
    policy = ROOT.sign(TenantPolicy("contoso", 1, user_verification_required=change != "user not verified, policy allows it",
                                    rp_id=passkey.rp_id, origins=(passkey.origin,), issuer_key_id=ROOT.key_id))
    m = material(certificates=[certify(passkey.public_key, "p_approver", DECIDE, algorithm=trust.ES256_WEBAUTHN)],
                 policies=[policy])
    statement = decision(key=passkey.key_id).to_bytes()
    if change.startswith("user not verified"):
        signed = passkey.assert_statement(statement, user_verified=False)
    elif change == "user not present":
        signed = passkey.assert_statement(statement, user_present=False)
    elif change == "wrong type":
        signed = passkey.assert_statement(statement, type="webauthn.create")
    elif change == "another statement's challenge":
        signed = passkey.assert_statement(statement, challenge=trust.webauthn_challenge(b"\x01\x02\x03"))
    elif change == "foreign origin":
        signed = passkey.assert_statement(statement, origin="https://evil.example")
    elif change == "foreign relying party":
        signed = passkey.assert_statement(statement, rp_id="evil.example")
    elif change == "signature of another assertion":
        signed = passkey.assert_statement(statement)
        signed = replace(signed, signature=passkey.assert_statement(statement, user_verified=False).signature)
    elif change == "no assertion":
        signed = replace(passkey.assert_statement(statement), assertion=None)
    else:
        signed = passkey.assert_statement(statement)
    chain = TenantTrust(m, trusting(ROOT.public_key))
    if accepted:
        _, counter = chain.verify_decision(signed)
        assert counter == passkey.counter
    else:
        with pytest.raises(TrustProblem) as info:
            chain.verify_decision(signed)
        assert info.value.kind in ("webauthn", "bad_signature")


def test_evidence_is_checked_against_pinned_roots_only():
    evidence = AccessEvidence(material(), APPROVER.sign(decision()))
    decoded = AccessEvidence.from_bytes(evidence.to_bytes())
    assert decoded == evidence and decoded.to_bytes() == evidence.to_bytes()
    pinned = EvidenceVerifier({"contoso": [ROOT.public_key]})

    def verify(verifier, evidence, operation="Get-Mailbox", at=NOW + 1):
        try:
            verifier.verify(evidence, tenant_id="contoso", operator_id="p_op", service="exchange",
                            operation=operation, now_ms=at)
            return True
        except TrustProblem:
            return False

    assert verify(pinned, decoded)
    assert verify(pinned, decoded.to_bytes())
    assert not verify(pinned, decoded, operation="Set-Mailbox")
    assert not verify(pinned, decoded, at=NOW + 3_600_000)
    # A lockboxd with a rogue root (and its own keys) makes evidence that chains to its root:
    # a data plane pinning the tenant's root refuses it.
    rogue = AccessEvidence(
        TrustMaterial("contoso", roots=[root_record(STRANGER)],
                      certificates=[certify(APPROVER.public_key, "p_approver", DECIDE, by=STRANGER)]),
        APPROVER.sign(decision()),
    )
    assert not verify(pinned, rogue)
    assert verify(EvidenceVerifier({"contoso": [STRANGER.public_key.hex()]}), rogue)
    # A denial is no approval; nor is "no decision" without a signed policy turning the lockbox off.
    assert not verify(pinned, AccessEvidence(material(), APPROVER.sign(decision("Deny"))))
    assert not verify(pinned, AccessEvidence(material(), None))
    off = ROOT.sign(TenantPolicy("contoso", 1, lockbox_enabled=False, issuer_key_id=ROOT.key_id))
    verdict = pinned.verify(AccessEvidence(material(policies=[off]), None), tenant_id="contoso", operator_id="p_op",
                            service="exchange", operation="Get-Mailbox", now_ms=NOW)
    assert verdict.kind == "lockbox_off" and verdict.policy.version == 1
    # A passkey's decision travels with its assertion, and reads back the same.
    passkey = SoftwarePasskey()
    with_passkey = AccessEvidence(material(), passkey.assert_statement(decision(key=passkey.key_id).to_bytes()))
    assert AccessEvidence.from_bytes(with_passkey.to_bytes()) == with_passkey
    # Malformed evidence: an unknown kind, six decisions, a count beyond what the bytes hold.
    with pytest.raises(Malformed):
        AccessEvidence.from_bytes(with_passkey.to_bytes().replace(b"decision", b"decisioN"))
    two = AccessEvidence(TrustMaterial("contoso"), APPROVER.sign(decision())).to_bytes()
    item = two[len(b"lockbox/evidence/v1\x00") + 4 + 7 + 8:]
    five = b"lockbox/evidence/v1\x00" + b"\x00\x00\x00\x07contoso" + (5).to_bytes(8, "big") + item * 5
    assert len(AccessEvidence.from_bytes(five).decisions) == 5
    six = b"lockbox/evidence/v1\x00" + b"\x00\x00\x00\x07contoso" + (6).to_bytes(8, "big") + item * 6
    with pytest.raises(Malformed):
        AccessEvidence.from_bytes(six)
    with pytest.raises(Malformed):
        AccessEvidence.from_bytes(b"lockbox/evidence/v1\x00" + b"\x00\x00\x00\x07contoso" + (10**6).to_bytes(8, "big"))


def test_key_files(tmp_path):
    path = tmp_path / "approver.key"
    made = TenantSigner.create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.endswith("\n") and len(base64.b64decode(text.strip())) == 32
    loaded = TenantSigner.load(path)
    assert loaded.key_id == made.key_id and loaded.public_key == made.public_key
    with pytest.raises(FileExistsError):
        TenantSigner.create(path)
    assert TenantSigner.load_or_create(path).key_id == made.key_id
    assert TenantSigner.load_or_create(tmp_path / "new.key").key_id != made.key_id
    os.chmod(path, 0o640)
    with pytest.raises(PermissionError, match="chmod 600"):
        TenantSigner.load(path)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    with pytest.raises(ValueError, match="does not hold a key"):
        TenantSigner.load(bad)
    # The signature is Ed25519's over the exact bytes.
    signed = made.sign(KeyRevocation("t", "k", made.key_id))
    made.trust_key.verify(signed, None)
    with pytest.raises(TrustProblem, match="does not verify"):
        made.trust_key.verify(replace(signed, statement=signed.statement + b"x"), None)
    # A browser's PublicKeyCredential.toJSON(), relayed.
    passkey = SoftwarePasskey()
    asserted = passkey.assert_statement(b"statement")

    def b64url(data):
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    browser = {"id": "cred", "rawId": "cred", "type": "public-key", "response": {
        "authenticatorData": b64url(asserted.assertion.authenticator_data),
        "clientDataJSON": b64url(asserted.assertion.client_data_json), "signature": b64url(asserted.signature)}}
    relayed = trust.SignedBytes.from_browser(b"statement", passkey.key_id, browser)
    assert relayed == asserted
    assert trust.SignedBytes.from_proto(relayed.to_proto()) == relayed
    assert relayed.assertion == WebAuthnAssertion(asserted.assertion.authenticator_data,
                                                  asserted.assertion.client_data_json)


def _prepared_request(statement, requested_seconds=3600):
    from lockbox._proto import lockbox_pb2 as pb

    return pb.AccessRequest(
        id="req_1", tenant_id="contoso", requester_id="p_op", service=pb.SERVICE_EXCHANGE,
        requested_duration_seconds=requested_seconds, approve_statement=statement.to_bytes(),
    )


@pytest.mark.parametrize("change,accepted", [
    ("as prepared", True),
    ("server clock a minute ahead", True),
    ("shorter than asked", True),
    ("longer than asked", False),
    ("longer than four hours", False),
    ("ends before it starts", False),
    ("starts next week", False),
    ("started yesterday", False),
    ("another request", False),
    ("another key", False),
])
def test_only_what_the_approver_means_is_signed(change, accepted):
    # The statement comes from lockboxd, which may not be what it claims: the approver's request
    # id, key and clock are the reference (as LockboxTrust's DecisionIntent, DecisionIntentTests).
    base = decision(word="Approve")
    statement, requested = base, 3600
    day = 86_400_000
    if change == "server clock a minute ahead":
        statement = replace(base, starts_at_ms=NOW + 60_000, ends_at_ms=NOW + 60_000 + 3_600_000)
    elif change == "shorter than asked":
        statement = replace(base, ends_at_ms=NOW + 600_000)
    elif change == "longer than asked":
        statement = replace(base, ends_at_ms=base.ends_at_ms + 1)
    elif change == "longer than four hours":
        statement, requested = replace(base, ends_at_ms=NOW + 5 * 3_600_000), 5 * 3600
    elif change == "ends before it starts":
        statement = replace(base, ends_at_ms=NOW)
    elif change == "starts next week":
        statement = replace(base, starts_at_ms=NOW + 7 * day, ends_at_ms=NOW + 7 * day + 3_600_000)
    elif change == "started yesterday":
        statement = replace(base, starts_at_ms=NOW - day, ends_at_ms=NOW - day + 3_600_000)
    elif change == "another request":
        statement = replace(base, request_id="req_2")
    elif change == "another key":
        statement = replace(base, key_id=STRANGER.key_id)
    request = _prepared_request(statement, requested)
    if accepted:
        signed = trust.sign_prepared_decision(request, APPROVER, approve=True, now_ms=NOW)
        assert DecisionStatement.from_bytes(signed.statement) == statement
    else:
        with pytest.raises(ValueError, match="not signed"):
            trust.sign_prepared_decision(request, APPROVER, approve=True, now_ms=NOW)


def test_n_of_m_policy_decisions_and_evidence():
    """Tests/LockboxTrustTests/QuorumTests.swift's evidence and encoding cases, in Python."""
    from lockbox.trust import ApprovalRule, quorum_backs

    plain = TenantPolicy("t", 1, issuer_key_id="i")
    assert plain.to_bytes().startswith(b"lockbox/tenant-policy/v1\x00")
    ruled = TenantPolicy("t", 2, issuer_key_id="i",
                         approval_rules=(ApprovalRule("teams", 3, False), ApprovalRule("exchange", 2)))
    assert ruled.to_bytes().startswith(b"lockbox/tenant-policy/v2\x00")
    assert TenantPolicy.from_bytes(ruled.to_bytes()) == ruled
    assert ruled.approval_rule("teams") == ApprovalRule("teams", 3, False)
    assert ruled.approval_rule("onedrive") == ApprovalRule("onedrive", 1)
    assert trust.decode_statement(ruled.to_bytes()) == ruled
    categorized = TenantPolicy("t", 3, issuer_key_id="i",
                               justification_categories=("security_investigation", "incident"))
    assert categorized.to_bytes().startswith(b"lockbox/tenant-policy/v2\x00")
    assert TenantPolicy.from_bytes(categorized.to_bytes()) == categorized
    assert categorized.justification_categories == ("incident", "security_investigation")
    preapproving = TenantPolicy("t", 4, issuer_key_id="i", auto_approvals=(
        trust.AutoApprovalRule("exchange", "incident", 3600, ("Get-Mailbox", "get-messagetrace")),))
    assert TenantPolicy.from_bytes(preapproving.to_bytes()) == preapproving
    for bad in [(ApprovalRule("exchange", 6),), (ApprovalRule("exchange", 2), ApprovalRule("exchange", 3))]:
        with pytest.raises(Malformed):
            TenantPolicy.from_bytes(TenantPolicy("t", 2, issuer_key_id="i", approval_rules=bad).to_bytes())
    # A decision signs its threshold above one only (v2), and reads back.
    assert decision().to_bytes().startswith(b"lockbox/decision/v1\x00")
    several = replace(decision(), approvals_required=2)
    assert several.to_bytes().startswith(b"lockbox/decision/v2\x00")
    assert DecisionStatement.from_bytes(several.to_bytes()) == several
    # Two approvers of two back it; one does not, even when the rule at hand asks for one,
    # because each approval signed that two are required.
    a = replace(decision(approver="a"), approvals_required=2)
    b = replace(decision(approver="b"), approvals_required=2)
    assert quorum_backs([a, b], ApprovalRule.single("exchange"), "Get-Mailbox", NOW + 1)
    assert not quorum_backs([a], ApprovalRule.single("exchange"), "Get-Mailbox", NOW + 1)
    assert not quorum_backs([a, a], ApprovalRule.single("exchange"), "Get-Mailbox", NOW + 1)
    assert not quorum_backs([a, b, decision("Deny", approver="c")], ApprovalRule("exchange", 2), "Get-Mailbox", NOW + 1)
    assert quorum_backs([a, b, decision("Deny", approver="c")], ApprovalRule("exchange", 2, False), "Get-Mailbox",
                        NOW + 1)

    # Evidence under a 2-of-2 policy: both approvals pass; one, one twice, or one with
    # another request's approval does not.
    second = TenantSigner(bytes([9] * 32))
    policy = ROOT.sign(TenantPolicy("contoso", 1, issuer_key_id=ROOT.key_id,
                                    approval_rules=(ApprovalRule("exchange", 2),)))
    m = material(certificates=[certify(APPROVER.public_key, "a", DECIDE), certify(second.public_key, "b", DECIDE)],
                 policies=[policy])
    first_signed = APPROVER.sign(replace(a, key_id=APPROVER.key_id))
    second_signed = second.sign(replace(b, key_id=second.key_id))
    other_request = second.sign(replace(b, key_id=second.key_id, request_id="req_2"))
    pinned = EvidenceVerifier({"contoso": [ROOT.public_key]})

    def verify(decisions):
        try:
            pinned.verify(AccessEvidence.from_bytes(AccessEvidence(m, decisions).to_bytes()), tenant_id="contoso",
                          operator_id="p_op", service="exchange", operation="Get-Mailbox", now_ms=NOW + 1)
            return True
        except TrustProblem:
            return False

    assert verify([first_signed, second_signed])
    assert not verify([first_signed])
    assert not verify([first_signed, first_signed])
    assert not verify([first_signed, other_request])


def test_a_preapproved_grant_counts_while_its_rule_is_in_force():
    """Tests/LockboxTrustTests/ConsentAuditTests.swift's pre-approval case, in Python."""
    import json as _json

    rule = trust.AutoApprovalRule("exchange", "incident", 3600, ("Get-Mailbox",))

    def record(seq, activity, kind="trust", item="", details=None):
        return {"seq": seq, "tenant_id": "contoso", "time_ms": NOW + 10, "kind": kind, "activity": activity,
                "item": item, "details_text": _json.dumps(details or {}, sort_keys=True)}

    def policy(version, rules):
        signed = ROOT.sign(TenantPolicy("contoso", version, issuer_key_id=ROOT.key_id, auto_approvals=tuple(rules)))
        return {"statement": signed.statement.hex(), "issuer_key_id": signed.key_id,
                "signature": signed.signature.hex()}

    def preapproved(seq, item):
        return record(seq, "AutoApproved", "lifecycle", item, {
            "auto_approval_policy_version": 1, "auto_approval_rule": 1, "service": "exchange",
            "justification_category": "incident", "operations": "get-mailbox",
            "grant_starts_at_ms": NOW, "grant_ends_at_ms": NOW + 1_800_000})

    def action(seq, item):
        return record(seq, "Get-Mailbox", "operator_action", item, {"allowed": True, "service": "exchange"})

    root = root_record()
    start = [
        record(1, "TenantRootAdopted", details={"statement": root.statement.hex(), "signature": root.signature.hex(),
                                                "previous_signature": ""}),
        record(2, "TenantPolicySet", details=policy(1, [rule])),
    ]
    assert trust.check_consent(start + [preapproved(3, "req_1"), action(4, "req_1")]).ok
    extended = trust.check_consent(start + [
        record(3, "AccessRequestCreated", "lifecycle", "req_2", {"extends_request_id": "req_1"}),
        preapproved(4, "req_2"), action(5, "req_2")])
    assert len(extended.findings) == 2
    withdrawn = trust.check_consent(start + [preapproved(3, "req_1"), record(4, "TenantPolicySet", details=policy(2, [])),
                                             action(5, "req_1")])
    assert len(withdrawn.findings) == 1


def test_a_scheduled_window_is_signed_only_where_the_request_starts():
    """DecisionIntentTests' scheduled cases: the window starts at the request's scheduled start
    (an extension's: where its grant ends), within 7 days of this machine's clock."""
    day = 86_400_000
    tomorrow = replace(decision(), starts_at_ms=NOW + day, ends_at_ms=NOW + day + 3_600_000)
    assert trust.window_problem(tomorrow, 3600, now_ms=NOW, scheduled_start_ms=NOW + day) is None
    assert trust.window_problem(tomorrow, 3600, now_ms=NOW) is not None
    assert trust.window_problem(decision(), 3600, now_ms=NOW, scheduled_start_ms=NOW + day) is not None
    far = replace(decision(), starts_at_ms=NOW + 8 * day, ends_at_ms=NOW + 8 * day + 3_600_000)
    assert trust.window_problem(far, 3600, now_ms=NOW, scheduled_start_ms=NOW + 8 * day) is not None


def test_delegation_statements_decisions_and_consent():
    """Tests/LockboxTrustTests/DelegationTests.swift and the delegation case of
    ConsentAuditTests.swift, in Python: the same bytes (the id Swift computes), which decisions
    a delegation covers, how a delegate's decision counts, and revocation."""
    from lockbox.trust import (ApprovalRule, ConsentAuditor, DelegationRevocation, DelegationStatement,
                               quorum_backs)

    hour = 3_600_000
    bob = TenantSigner(bytes([6] * 32))
    given = DelegationStatement("contoso", "p_approver", APPROVER.key_id, "p_bob", ("exchange",), NOW - hour,
                                NOW + 24 * hour, bytes([9] * 16))
    assert given.id == "dlg_93c5cf870b3400698b057ee103c7398e"
    assert DelegationStatement.from_bytes(given.to_bytes()) == given
    assert trust.decode_statement(given.to_bytes()) == given
    revocation = DelegationRevocation("contoso", given.id, APPROVER.key_id)
    assert DelegationRevocation.from_bytes(revocation.to_bytes()) == revocation
    assert replace(given, delegate_id="p_approver").terms_problem
    assert replace(given, ends_at_ms=given.starts_at_ms + 90 * 24 * hour + 1).terms_problem
    assert replace(given, nonce=b"\x01").terms_problem
    assert given.terms_problem is None

    delegated = replace(decision(key=bob.key_id, approver="p_bob"), delegation_id=given.id, on_behalf_of="p_approver")
    assert delegated.to_bytes().startswith(b"lockbox/decision/v3\x00")
    assert DecisionStatement.from_bytes(delegated.to_bytes()) == delegated
    assert delegated.counted_approver_id == "p_approver"
    assert given.covers(delegated)
    assert not given.covers(replace(delegated, service="teams"))
    assert not given.covers(replace(delegated, on_behalf_of="p_other"))
    assert not given.covers(replace(delegated, approver_id="p_carol"))
    assert not given.covers(replace(delegated, starts_at_ms=NOW + 24 * hour))
    # Counted as the delegator's: with the delegate's own, two; with the delegator's own, one.
    own_bob = decision(key=bob.key_id, approver="p_bob")
    rule = ApprovalRule("exchange", 2)
    assert quorum_backs([own_bob, delegated], rule, "Get-Mailbox", NOW + 1)
    assert not quorum_backs([decision(), delegated], rule, "Get-Mailbox", NOW + 1)

    def chain(revoked, with_delegation=True, forged=False):
        bob_certificate = certify(bob.public_key, "p_bob", DECIDE)
        approver_certificate = certify(APPROVER.public_key, "p_approver", DECIDE)
        root = root_record()
        signed = APPROVER.sign(given)
        withdrawn = (bob if forged else APPROVER).sign(revocation)
        if forged:
            withdrawn = trust.SignedBytes(withdrawn.statement, APPROVER.key_id, withdrawn.signature)
        statement = delegated.to_bytes()

        def rec(seq, activity, details, kind="trust", item=""):
            import json as _json
            return {"seq": seq, "tenant_id": "contoso", "time_ms": NOW + 10, "kind": kind, "activity": activity,
                    "item": item, "details_text": _json.dumps(details)}

        records = [
            rec(1, "TenantRootAdopted", {"statement": root.statement.hex(), "signature": root.signature.hex(),
                                         "previous_signature": ""}),
            rec(2, "KeyCertified", {"statement": approver_certificate.statement.hex(),
                                    "issuer_key_id": approver_certificate.key_id,
                                    "signature": approver_certificate.signature.hex()}),
            rec(3, "KeyCertified", {"statement": bob_certificate.statement.hex(), "issuer_key_id": bob_certificate.key_id,
                                    "signature": bob_certificate.signature.hex()}),
        ]
        if with_delegation:
            records.append(rec(4, "DelegationGranted", {"statement": signed.statement.hex(),
                                                        "issuer_key_id": signed.key_id,
                                                        "signature": signed.signature.hex()}, item=given.id))
        records.append(rec(5, "CustomerApprove", {"decision_statement": statement.hex(), "decision_key_id": bob.key_id,
                                                  "decision_signature": bob.signature(statement).hex()},
                           kind="lifecycle", item="req_1"))
        records.append(rec(6, "Get-Mailbox", {"allowed": True, "service": "exchange"}, kind="operator_action",
                           item="req_1"))
        if revoked:
            records.append(rec(7, "DelegationRevoked", {"statement": withdrawn.statement.hex(),
                                                        "issuer_key_id": withdrawn.key_id,
                                                        "signature": withdrawn.signature.hex()}, item=given.id))
            records.append(rec(8, "Get-Mailbox", {"allowed": True, "service": "exchange"}, kind="operator_action",
                               item="req_1"))
        auditor = ConsentAuditor([ROOT.public_key])
        for record in records:
            auditor.add(record)
        return [finding.seq for finding in auditor.finish().findings]

    assert chain(revoked=False) == []
    assert chain(revoked=True) == [8]
    # A revocation no tenant key signed withdraws nothing: a finding of its own, and the action after it is backed.
    assert chain(revoked=True, forged=True) == [7]
    assert 6 in chain(revoked=False, with_delegation=False)

    # Evidence carries the delegation; a data plane counts the delegate's approval as the delegator's.
    m = material(certificates=[certify(APPROVER.public_key, "p_approver", DECIDE), certify(bob.public_key, "p_bob", DECIDE)])
    pinned = EvidenceVerifier({"contoso": [ROOT.public_key]})
    signed_decision = bob.sign(delegated)

    def verify(delegations, revocations=()):
        carried = TrustMaterial("contoso", m.roots, m.certificates, delegations=list(delegations),
                                delegation_revocations=list(revocations))
        try:
            pinned.verify(AccessEvidence.from_bytes(AccessEvidence(carried, [signed_decision]).to_bytes()),
                          tenant_id="contoso", operator_id="p_op", service="exchange", operation="Get-Mailbox",
                          now_ms=NOW + 1)
            return True
        except TrustProblem:
            return False

    assert verify([APPROVER.sign(given)])
    assert not verify([])
    assert not verify([APPROVER.sign(given)], [APPROVER.sign(revocation)])
    assert verify([APPROVER.sign(given)], [bob.sign(DelegationRevocation("contoso", given.id, bob.key_id))])


def test_delegation_rules_after_review():
    """The cases DelegationTests.swift adds: a revocation stands when its key is revoked later;
    a delegation does not outlive the delegator's key; under a rule where each person counts
    once, a delegate counts once; a policy signs that flag."""
    from lockbox.trust import ApprovalRule, DelegationRevocation, DelegationStatement, KeyRevocation, quorum_backs

    hour = 3_600_000
    bob = TenantSigner(bytes([6] * 32))
    other_admin = TenantSigner(bytes([7] * 32))
    given = DelegationStatement("contoso", "p_approver", APPROVER.key_id, "p_bob", (), NOW - hour, NOW + 24 * hour,
                                bytes([9] * 16))
    delegated = replace(decision(key=bob.key_id, approver="p_bob"), delegation_id=given.id, on_behalf_of="p_approver")

    def trust_with(revocations=(), key_revocations=(), alice_until=NOW + YEAR):
        m = material(certificates=[
            certify(APPROVER.public_key, "p_approver", DECIDE, until=alice_until),
            certify(other_admin.public_key, "p_admin2", ADMINISTER),
            certify(bob.public_key, "p_bob", DECIDE),
        ], revocations=key_revocations)
        m.delegations = [APPROVER.sign(given)]
        m.delegation_revocations = list(revocations)
        return TenantTrust(m, trusting(ROOT.public_key))

    assert given.id in trust_with().delegations
    by_admin = other_admin.sign(DelegationRevocation("contoso", given.id, other_admin.key_id))
    admin_revoked = ROOT.sign(KeyRevocation("contoso", other_admin.key_id, ROOT.key_id))
    later = trust_with([by_admin], [admin_revoked])
    assert given.id not in later.delegations and later.delegation_revoked_by[given.id] == other_admin.key_id
    # Alice's key expires half an hour from now: her delegation no longer carries a decision after that.
    short = trust_with(alice_until=NOW + hour // 2)
    short.verify_decision(bob.sign(delegated))
    with pytest.raises(TrustProblem):
        short.verify_decision(bob.sign(replace(delegated, starts_at_ms=NOW + hour, ends_at_ms=NOW + 2 * hour)))
    once = ApprovalRule("exchange", 2, person_counts_once=True)
    own = decision(key=bob.key_id, approver="p_bob")
    assert not quorum_backs([own, delegated], once, "Get-Mailbox", NOW + 1)
    assert quorum_backs([own, delegated], replace(once, person_counts_once=False), "Get-Mailbox", NOW + 1)
    policy = TenantPolicy("t", 2, issuer_key_id="i", approval_rules=(once,))
    assert TenantPolicy.from_bytes(policy.to_bytes()).approval_rules == (once,)


def test_the_rule_signed_into_decisions_and_denials_that_win():
    """v3 carries "each person counts once" with or without a delegation; evidence whose policy
    says nothing of it still counts each person once; an approver with a denial never also
    counts as approving (QuorumTests.swift and DelegationTests.swift)."""
    from lockbox.trust import ApprovalRule, quorum_backs

    once = replace(decision(), person_counts_once=True)
    assert once.to_bytes().startswith(b"lockbox/decision/v3\x00")
    assert DecisionStatement.from_bytes(once.to_bytes()) == once
    own = replace(decision(key="kb", approver="p_bob"), person_counts_once=True)
    for_alice = replace(own, delegation_id="dlg_x", on_behalf_of="p_approver")
    assert not quorum_backs([own, for_alice], ApprovalRule("exchange", 2), "Get-Mailbox", NOW + 1)
    plain_own, plain_for = replace(own, person_counts_once=False), replace(for_alice, person_counts_once=False)
    assert quorum_backs([plain_own, plain_for], ApprovalRule("exchange", 2), "Get-Mailbox", NOW + 1)
    lenient = ApprovalRule("exchange", 1, False)
    assert not quorum_backs([decision(), decision("Deny")], lenient, "Get-Mailbox", NOW + 1)
