#!/usr/bin/python3
"""A second verifier of Lockbox integrity exports, written from docs/audit-integrity.md alone.

It shares no code with the server: it recomputes every record hash from the export's fields
with the canonical encoding of that page, checks each checkpoint's Ed25519 signature with
Python's `cryptography`, and checks that the last record is covered by a checkpoint.

Then, for a tenant's chain, it checks the customer's consent from the chain alone, as
`lockbox audit verify` does (the statements of Sources/LockboxTrust, which its records carry as
hex in their details):

- TenantRootAdopted, KeyCertified, KeyRevoked (those the tenant signed) and TenantPolicySet
  records build the tenant's trust: roots ("lockbox/tenant-root/v1", each self-signed, a
  rotation signed by the root before it too; the chain starts at a root given with
  --tenant-root, else at the chain's first root), key certificates ("lockbox/key-certificate/v1",
  signed by a root or by a certified Ed25519 key that may administer), revocations
  ("lockbox/key-revocation/v1"; a revoked key and what it certified count for nothing) and
  policies ("lockbox/tenant-policy/v1", the highest version signed by a root or administering
  key; without one: lockbox on, signatures required, passkeys user-verified);
- a CustomerApprove or CustomerDeny record's decision ("lockbox/decision/v1") must be signed by
  the key it names, certified to its approver to decide at its start (Ed25519, or a passkey's
  WebAuthn assertion checked against the policy's relying party, origins and user verification),
  and be about the record's request; one with no signature is a finding when the tenant has a
  root whose policy requires signatures;
- an operator action allowed (kind operator_action, details "allowed": true) on a tenant with a
  root is a finding unless a verified approval of its request covers the operation at its time,
  or the verified policy has the lockbox off;
- given --tenant-root keys of which the chain holds none: a finding.

Usage: verify_export.py EXPORT KEYS [--tenant-root HEX]...
  --tenant-root HEX   a tenant root public key you keep (64 hex digits); repeat for several.
                      Without it the chain's first root is trusted as it stands (a notice says so).

Prints "FAILED seq N: WHY" and exits 1 when the chain does not verify. Otherwise prints a
"notice: ..." line for each root adopted or replaced (and where trust starts), then
"ok RECORDS CHECKPOINTS HEAD_HASH", then a "CONSENT: ..." line for each consent finding; exits 1
when there is any, else 0. Notices and findings use the words of `lockbox audit verify`.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical(tag, fields):
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


def record_hash(line, previous):
    # Version 2 records carry their seal time, hashed last; version 1 records have none.
    sealed = [("int64", line["sealed_at_ms"])] if "sealed_at_ms" in line else []
    tag = "lockbox/audit-record/v2" if sealed else "lockbox/audit-record/v1"
    return hashlib.sha256(canonical(tag, [
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
    ] + sealed)).digest()


def checkpoint_bytes(line):
    return canonical("lockbox/audit-checkpoint/v1", [
        ("string", line["scope"]),
        ("int64", line["seq"]),
        ("bytes", bytes.fromhex(line["hash"])),
        ("int64", line["signed_at_ms"]),
        ("string", line["key_id"]),
    ])


RECORD_KEYS = {"type", "seq", "hash", "id", "time_ms", "tenant_id", "kind", "actor_id", "actor_display",
               "actor_ip", "activity", "item", "decision", "details_text"}
CHECKPOINT_KEYS = {"type", "scope", "seq", "hash", "signed_at_ms", "key_id", "signature"}


def no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a field appears twice")
    return dict(pairs)


def lower_hex(text):
    if text != text.lower():
        raise ValueError("hex must be lower-case")
    return bytes.fromhex(text)


def main(export_path, keys_path, tenant_roots=None):
    keys = {}
    with open(keys_path) as handle:
        for key in json.load(handle)["keys"]:
            raw = bytes.fromhex(key["public_key"])
            if "ed25519:" + hashlib.sha256(raw).hexdigest()[:16] != key["key_id"]:
                return fail(0, "key %s does not match its id" % key["key_id"])
            keys[key["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
    records, checkpoints = [], []
    with open(export_path) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text, object_pairs_hook=no_duplicates)
                kind = line.get("type")
                if kind == "record" and set(line) - {"sealed_at_ms"} == RECORD_KEYS:
                    lower_hex(line["hash"])
                    records.append(line)
                elif kind == "checkpoint" and set(line) == CHECKPOINT_KEYS:
                    lower_hex(line["hash"])
                    lower_hex(line["signature"])
                    checkpoints.append(line)
                else:
                    raise ValueError("neither a record nor a checkpoint line")
            except ValueError as error:
                return fail(0, "line %d: %s" % (number, error))
    scope = records[0]["tenant_id"] if records else (checkpoints[0]["scope"] if checkpoints else "")
    if any(line["tenant_id"] != scope for line in records) or any(line["scope"] != scope for line in checkpoints):
        return fail(0, "lines of more than one chain")
    previous = bytes(32)
    hashes = {}
    last_sealed = None
    for expected, line in enumerate(records, start=1):
        if line["seq"] != expected:
            return fail(expected, "sequence runs %d where %d was expected" % (line["seq"], expected))
        computed = record_hash(line, previous)
        if computed.hex() != line["hash"]:
            return fail(line["seq"], "hash does not match the record")
        hashes[line["seq"]] = line["hash"]
        previous = computed
        # Time never goes backwards within a chain: seal times never decrease, a record is not
        # recorded after its seal, and no record without a seal time follows one with it.
        sealed = line.get("sealed_at_ms")
        if sealed is None:
            if last_sealed is not None:
                return fail(line["seq"], "no seal time after a record with one")
        else:
            if line["time_ms"] > sealed:
                return fail(line["seq"], "recorded after it was sealed")
            if last_sealed is not None and sealed < last_sealed:
                return fail(line["seq"], "sealed before the record ahead of it: time went backwards")
            last_sealed = sealed
    last = len(records)
    anchored = False
    for line in checkpoints:
        key = keys.get(line["key_id"])
        if key is None:
            return fail(line["seq"], "checkpoint signed with unknown key %s" % line["key_id"])
        try:
            key.verify(bytes.fromhex(line["signature"]), checkpoint_bytes(line))
        except InvalidSignature:
            return fail(line["seq"], "checkpoint signature does not verify")
        if line["seq"] > last:
            return fail(last + 1, "checkpoint at seq %d beyond the last record" % line["seq"])
        expected = bytes(32).hex() if line["seq"] == 0 else hashes[line["seq"]]
        if expected != line["hash"]:
            return fail(line["seq"], "checkpoint does not match the record")
        if line["seq"] == last:
            anchored = True
    if not anchored:
        return fail(last, "no checkpoint covers the last record")
    findings, notices = consent(records, tenant_roots) if records and records[0]["tenant_id"] else ([], [])
    for notice in notices:
        print("notice: %s" % notice)
    print("ok %d %d %s" % (len(records), len(checkpoints), previous.hex() if records else ""))
    for finding in findings:
        print("CONSENT: %s" % finding)
    return 1 if findings else 0


# -- Consent: the tenant's own statements, from the chain alone ---------------------------
#
# Strings are compared as the server's Swift compares them: by canonical equivalence.


def same(a, b):
    return unicodedata.normalize("NFD", a) == unicodedata.normalize("NFD", b)


def norm(text):
    return unicodedata.normalize("NFC", text)


class Malformed(Exception):
    pass


class Reader:
    """The canonical encoding, read back: tag and NUL, int64 big-endian, 4-byte lengths."""

    def __init__(self, data, tag):
        prefix = tag.encode() + b"\x00"
        if not data.startswith(prefix):
            raise Malformed()
        self.data, self.at = data, len(prefix)

    def int64(self):
        if self.at + 8 > len(self.data):
            raise Malformed()
        self.at += 8
        return struct.unpack(">q", self.data[self.at - 8:self.at])[0]

    def bytes(self):
        if self.at + 4 > len(self.data):
            raise Malformed()
        size = struct.unpack(">I", self.data[self.at:self.at + 4])[0]
        self.at += 4
        if size > len(self.data) - self.at:
            raise Malformed()
        self.at += size
        return self.data[self.at - size:self.at]

    def string(self):
        try:
            return self.bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed()

    def strings(self, limit):
        count = self.int64()
        if count < 0 or count > limit:
            raise Malformed()
        return [self.string() for _ in range(count)]

    def end(self, value):
        if self.at != len(self.data):
            raise Malformed()
        return value


def key_id_of(algorithm, public_key):
    prefix = {"ed25519": "ed25519:", "es256-webauthn": "es256:"}[algorithm]
    return prefix + hashlib.sha256(public_key).hexdigest()[:16]


def parse_root(data):
    r = Reader(data, "lockbox/tenant-root/v1")
    return r.end({"tenant": r.string(), "key_id": r.string(), "public_key": r.bytes(), "previous": r.string()})


def parse_certificate(data):
    r = Reader(data, "lockbox/key-certificate/v1")
    value = {"tenant": r.string(), "principal": r.string(), "key_id": r.string(), "algorithm": r.string()}
    if value["algorithm"] not in ("ed25519", "es256-webauthn"):
        raise Malformed()
    value.update(public_key=r.bytes(), capabilities=r.int64(), not_before=r.int64(), not_after=r.int64(),
                 issuer=r.string())
    return r.end(value)


def parse_revocation(data):
    r = Reader(data, "lockbox/key-revocation/v1")
    return r.end({"tenant": r.string(), "key_id": r.string(), "issuer": r.string()})


def parse_policy(data):
    r = Reader(data, "lockbox/tenant-policy/v1")
    value = {"tenant": r.string(), "version": r.int64()}
    flags = r.int64()
    if flags & ~7:
        raise Malformed()
    value.update(enabled=bool(flags & 1), signatures=bool(flags & 2), verification=bool(flags & 4),
                 rp_id=r.string(), origins=r.strings(32), issuer=r.string())
    return r.end(value)


def parse_decision(data):
    r = Reader(data, "lockbox/decision/v1")
    value = {"tenant": r.string(), "request": r.string(), "operator": r.string(), "service": r.string(),
             "operations": r.strings(1000), "starts": r.int64(), "ends": r.int64(), "decision": r.string(),
             "approver": r.string(), "key_id": r.string(), "nonce": r.bytes()}
    return r.end(value)


def initial_policy(tenant):
    return {"tenant": tenant, "version": 0, "enabled": True, "signatures": True, "verification": True,
            "rp_id": "", "origins": [], "issuer": ""}


class Problem(Exception):
    """Why a signature or a chain does not hold, in the server's words."""


def bad_signature(what):
    return Problem("the signature of %s does not verify" % what)


def webauthn(what):
    return Problem("the passkey's assertion does not hold: %s" % what)


def verify_signature(key, statement, key_id, signature, assertion, policy):
    """key: (algorithm, public key). Raises Problem; a passkey's assertion is checked as a
    WebAuthn relying party checks it."""
    algorithm, public_key = key
    if algorithm == "ed25519":
        if assertion is not None:
            raise bad_signature("the statement signed by %s" % key_id)
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, statement)
        except (ValueError, InvalidSignature):
            raise bad_signature("the statement signed by %s" % key_id)
        return
    if assertion is None:
        raise webauthn("a passkey's signature comes with its authenticator data and client data")
    if policy is None:
        raise webauthn("the tenant's policy names no relying party")
    authenticator, client_data = assertion
    try:
        client = json.loads(client_data)
    except ValueError:
        client = None
    if not isinstance(client, dict):
        raise webauthn("clientDataJSON is not a JSON object")
    if not (isinstance(client.get("type"), str) and same(client["type"], "webauthn.get")):
        raise webauthn("clientDataJSON's type is not webauthn.get")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(statement).digest()).decode().rstrip("=")
    if not (isinstance(client.get("challenge"), str) and same(client["challenge"], challenge)):
        raise webauthn("the challenge is not this statement's")
    origin = client.get("origin")
    if not (isinstance(origin, str) and any(same(origin, allowed) for allowed in policy["origins"])):
        raise webauthn("the origin is not one of the tenant's")
    if len(authenticator) < 37:
        raise webauthn("the authenticator data is too short")
    if authenticator[:32] != hashlib.sha256(policy["rp_id"].encode()).digest() or not policy["rp_id"]:
        raise webauthn("the relying party is not the tenant's")
    if not authenticator[32] & 1:
        raise webauthn("the user was not present")
    if policy["verification"] and not authenticator[32] & 4:
        raise webauthn("the user was not verified, and the tenant's policy requires it")
    try:
        point = serialization.load_der_public_key(public_key)
        if not isinstance(point, ec.EllipticCurvePublicKey) or point.curve.name != "secp256r1":
            raise ValueError("not P-256")
        point.verify(signature, authenticator + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, TypeError, InvalidSignature):
        raise bad_signature("the statement signed by %s" % key_id)


def signs(key, statement, key_id, signature):
    try:
        verify_signature(key, statement, key_id, signature, None, None)
        return True
    except Problem:
        return False


class Trust:
    """A tenant's trust, from its material: roots (statement, signature, previous signature),
    and certificates, revocations, policies as (statement, issuer key id, signature)."""

    def __init__(self, tenant, roots, certificates, revocations, policies, anchor):
        self.tenant = tenant
        self.roots = []
        self.keys = {}
        self.revoked = set()
        self.policy = None
        previous = None
        for statement, signature, previous_signature in roots:
            try:
                root = parse_root(statement)
            except Malformed:
                break
            if not same(root["tenant"], tenant) or not same(root["key_id"], key_id_of("ed25519", root["public_key"])):
                break
            key = ("ed25519", root["public_key"])
            if not signs(key, statement, root["key_id"], signature):
                break
            if not self.roots:
                if anchor(root["public_key"]):
                    self.roots.append(root)
                previous = root
                continue
            if previous is None or not same(root["previous"], previous["key_id"]):
                break
            if not signs(("ed25519", previous["public_key"]), statement, previous["key_id"], previous_signature):
                break
            self.roots.append(root)
            previous = root
        if not self.roots:
            return
        root_keys = {norm(root["key_id"]): ("ed25519", root["public_key"]) for root in self.roots}
        issuers = dict(root_keys)
        for name, certificate in self.certify(certificates, root_keys, set()).items():
            if self.may_issue(certificate):
                issuers[name] = (certificate["algorithm"], certificate["public_key"])
        for statement, issuer, signature in revocations:
            try:
                revocation = parse_revocation(statement)
            except Malformed:
                continue
            key = issuers.get(norm(issuer))
            if (same(revocation["tenant"], tenant) and same(revocation["issuer"], issuer) and key is not None
                    and signs(key, statement, issuer, signature)):
                self.revoked.add(norm(revocation["key_id"]))
        self.keys = self.certify(certificates, root_keys, self.revoked)
        best = None
        for statement, issuer, signature in policies:
            try:
                policy = parse_policy(statement)
            except Malformed:
                continue
            if not (same(policy["tenant"], tenant) and same(policy["issuer"], issuer)):
                continue
            key = root_keys.get(norm(issuer))
            if key is None and norm(issuer) in self.keys and self.may_issue(self.keys[norm(issuer)]):
                certificate = self.keys[norm(issuer)]
                key = (certificate["algorithm"], certificate["public_key"])
            if key is None or not signs(key, statement, issuer, signature):
                continue
            if policy["version"] > (best["version"] if best else 0):
                best = policy
        self.policy = best or initial_policy(tenant)

    @staticmethod
    def may_issue(certificate):
        return certificate["capabilities"] & 2 == 2 and certificate["algorithm"] == "ed25519"

    def certify(self, certificates, root_keys, excluding):
        """The certificates that chain to a root through keys not excluded, by key id."""
        issuers, issued, pending = dict(root_keys), {}, []
        for statement, issuer, signature in certificates:
            try:
                certificate = parse_certificate(statement)
            except Malformed:
                continue
            if (same(certificate["tenant"], self.tenant) and same(certificate["issuer"], issuer)
                    and same(certificate["key_id"], key_id_of(certificate["algorithm"], certificate["public_key"]))
                    and norm(certificate["key_id"]) not in excluding):
                pending.append((statement, issuer, signature, certificate))
        grew = True
        while grew:
            grew, waiting = False, []
            for statement, issuer, signature, certificate in pending:
                key = issuers.get(norm(issuer))
                if key is None or not signs(key, statement, issuer, signature):
                    waiting.append((statement, issuer, signature, certificate))
                    continue
                issued[norm(certificate["key_id"])] = certificate
                if self.may_issue(certificate):
                    issuers[norm(certificate["key_id"])] = (certificate["algorithm"], certificate["public_key"])
                grew = True
            pending = waiting
        return issued

    def verify_decision(self, statement, key_id, signature, assertion):
        try:
            decision = parse_decision(statement)
        except Malformed:
            raise Problem("the decision is not in the canonical encoding")
        if not same(decision["tenant"], self.tenant):
            raise Problem("the decision is another tenant's")
        if not same(decision["key_id"], key_id):
            raise Problem("the decision names another key than the one that signed it")
        if norm(key_id) in self.revoked:
            raise Problem("key %s was revoked" % key_id)
        certificate = self.keys.get(norm(key_id))
        if certificate is None:
            raise Problem("key %s is not certified for this tenant" % key_id)
        if not same(certificate["principal"], decision["approver"]):
            raise Problem("key %s is certified to another principal" % key_id)
        if certificate["capabilities"] & 1 != 1:
            raise Problem("key %s is not certified to decide" % key_id)
        if not certificate["not_before"] <= decision["starts"] < certificate["not_after"]:
            raise Problem("key %s's certificate is not valid at that time" % key_id)
        verify_signature((certificate["algorithm"], certificate["public_key"]), statement, key_id, signature,
                         assertion, self.policy)
        return decision


def hex_field(details, name):
    value = details.get(name)
    if not isinstance(value, str) or len(value) % 2 or any(c not in "0123456789abcdefABCDEF" for c in value):
        return b""
    return bytes.fromhex(value)


def json_true(value):
    return value is True or (type(value) in (int, float) and value == 1)


def consent(records, tenant_roots):
    """(findings, notices) of a tenant's chain, in the words of `lockbox audit verify`."""
    tenant = records[0]["tenant_id"]
    roots, certificates, revocations, policies = [], [], [], []
    findings, notices, approvals = [], [], {}
    first_root = []
    cache = []

    def anchor(public_key):
        if tenant_roots:
            return public_key in tenant_roots
        return bool(first_root) and public_key == first_root[0]

    def trust():
        if not cache:
            cache.append(Trust(tenant, roots, certificates, revocations, policies, anchor))
        return cache[0]

    def signed(details):
        issuer = details.get("issuer_key_id")
        return (hex_field(details, "statement"), issuer if isinstance(issuer, str) else "",
                hex_field(details, "signature"))

    for line in records:
        try:
            details = json.loads(line["details_text"])
        except ValueError:
            continue
        if not isinstance(details, dict):
            continue
        named, activity, item = "record seq %d" % line["seq"], norm(line["activity"]), line["item"]
        if activity == "TenantRootAdopted":
            statement = hex_field(details, "statement")
            roots.append((statement, hex_field(details, "signature"), hex_field(details, "previous_signature")))
            del cache[:]
            try:
                root = parse_root(statement)
            except Malformed:
                root = None
            if root is not None and not first_root:
                first_root.append(root["public_key"])
            if root is None or root["previous"] == "":
                notices.append("%s: tenant root %s adopted" % (named, root["key_id"] if root else "?"))
            else:
                notices.append("%s: tenant root %s replaced %s" % (named, root["key_id"], root["previous"]))
        elif activity == "KeyCertified":
            certificates.append(signed(details))
            del cache[:]
        elif activity == "KeyRevoked":
            if hex_field(details, "statement"):
                revocations.append(signed(details))
                del cache[:]
        elif activity == "TenantPolicySet":
            policies.append(signed(details))
            del cache[:]
        elif activity in ("CustomerApprove", "CustomerDeny"):
            statement = hex_field(details, "decision_statement")
            if not statement:
                if roots and (trust().policy is None or trust().policy["signatures"]):
                    findings.append("%s: %s on %s carries no signature of the customer's key"
                                    % (named, line["activity"], item))
                continue
            key_id = details.get("decision_key_id")
            key_id = key_id if isinstance(key_id, str) else ""
            authenticator = hex_field(details, "decision_authenticator_data")
            assertion = (authenticator, hex_field(details, "decision_client_data")) if authenticator else None
            try:
                decision = trust().verify_decision(statement, key_id, hex_field(details, "decision_signature"),
                                                   assertion)
            except Problem as problem:
                findings.append("%s: the decision on %s is signed by %s, which does not chain to the tenant's "
                                "root: %s" % (named, item, key_id, problem))
                continue
            if not same(decision["request"], item):
                findings.append("%s: the signed decision on %s is about %s" % (named, item, decision["request"]))
                continue
            if same(decision["decision"], "Approve"):
                approvals[norm(item)] = decision
        elif same(line["kind"], "operator_action") and json_true(details.get("allowed")) and roots:
            policy = trust().policy
            if policy is not None and not policy["enabled"] and policy["version"] > 0:
                continue
            approval = approvals.get(norm(item))
            operation = line["activity"].lower()
            if (approval is not None and same(approval["decision"], "Approve")
                    and approval["starts"] <= line["time_ms"] < approval["ends"]
                    and any(same(name, operation) for name in approval["operations"])):
                continue
            findings.append("%s: %s was allowed under %s without a decision the customer's key signed"
                            % (named, line["activity"], item))
    if not tenant_roots and first_root:
        notices.append("the chain's first root (public key %s) is trusted as it stands; pass --tenant-root to "
                       "check it against the one you keep" % first_root[0].hex())
    if tenant_roots and roots and not trust().roots:
        findings.append("no tenant root in the chain is one you keep (%s)"
                        % ", ".join(key.hex() for key in tenant_roots))
    return findings, notices


def fail(seq, why):
    print("FAILED seq %d: %s" % (seq, why))
    return 1


def root_key(text):
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32 or len(text) != 64:
        raise argparse.ArgumentTypeError("--tenant-root is 64 hex digits")
    return raw


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Verify a Lockbox integrity export, and a tenant's consent.")
    parser.add_argument("export")
    parser.add_argument("keys")
    parser.add_argument("--tenant-root", action="append", type=root_key, default=[])
    arguments = parser.parse_args()
    sys.exit(main(arguments.export, arguments.keys, arguments.tenant_root or None))
