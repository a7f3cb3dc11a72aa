"""lockbox.integrity offline, with no server: exports built here (records of hash version 1
and 2, signed checkpoints) and signed approval statements of version 1 and 2. Every export's
verdict is compared with the repository's second verifier (LOCKBOX_TEST_VERIFY_EXPORT) when
it is there."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lockbox import pb
from lockbox.integrity import (
    GENESIS,
    ChainNotice,
    IntegrityError,
    canonical,
    checkpoint_bytes,
    key_id,
    record_hash,
    verify_approval,
    verify_export,
)

NOW = 1_760_000_000_000


class Signer:
    """A server key of the test's own."""

    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw)
        self.key_id = key_id(self.public)

    def keys_file(self, path) -> str:
        with open(path, "w") as handle:
            json.dump({"keys": [{"first_seen_at_ms": NOW, "key_id": self.key_id, "public_key": self.public.hex()}]},
                      handle)
        return str(path)


def line_text(line: Dict[str, Any]) -> str:
    return json.dumps(line, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def make_records(specs: List[Dict[str, Any]], scope: str = "contoso") -> List[Dict[str, Any]]:
    """Record lines chained from the genesis hash; each spec may set ``sealed_at_ms`` (hash
    version 2), ``time_ms``, ``activity``, ``details``."""
    previous = GENESIS
    records = []
    for seq, spec in enumerate(specs, start=1):
        line = {
            "type": "record", "seq": seq, "id": 1000 + seq, "time_ms": spec.get("time_ms", NOW + seq),
            "tenant_id": scope, "kind": spec.get("kind", "lifecycle"), "actor_id": "p_1",
            "actor_display": "Olivia Operator", "actor_ip": "192.0.2.1", "activity": spec.get("activity", "Something"),
            "item": "req_%d" % seq, "decision": "", "details_text": json.dumps(spec.get("details", {"n": seq})),
        }
        if "sealed_at_ms" in spec:
            line["sealed_at_ms"] = spec["sealed_at_ms"]
        digest = record_hash(line, previous)
        line["hash"] = digest.hex()
        previous = digest
        records.append(line)
    return records


def checkpoint(signer: Signer, records: List[Dict[str, Any]], seq: Optional[int] = None,
               scope: str = "contoso") -> Dict[str, Any]:
    seq = len(records) if seq is None else seq
    line = {"type": "checkpoint", "scope": scope, "seq": seq,
            "hash": records[seq - 1]["hash"] if seq else GENESIS.hex(), "signed_at_ms": NOW + 10_000,
            "key_id": signer.key_id}
    line["signature"] = signer.private.sign(checkpoint_bytes(line)).hex()
    return line


def write(path, lines) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else line_text(line)) + "\n")
    return str(path)


def reference(export: str, keys: str):
    """The second verifier's verdict: (exit code, output), or None when it is not here."""
    script = os.environ.get("LOCKBOX_TEST_VERIFY_EXPORT", "")
    if not script or not os.path.exists(script):
        return None
    out = subprocess.run([sys.executable, script, export, keys], capture_output=True, text=True)
    return out.returncode, out.stdout.strip()


def verified(export: str, keys: str):
    result = verify_export(export, keys)
    agreed = reference(export, keys)
    assert agreed is None or agreed == (0, "ok %d %d %s" % (result.records, result.checkpoints,
                                                            result.head_hash if result.records else "")), agreed
    return result


def refused(export: str, keys: str, seq: int, reason: str) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        verify_export(export, keys)
    assert (info.value.seq, info.value.reason) == (seq, reason), info.value
    agreed = reference(export, keys)
    assert agreed is None or agreed == (1, "FAILED %s" % info.value), agreed
    return info.value


def test_records_of_both_hash_versions_verify(tmp_path):
    signer = Signer()
    keys = signer.keys_file(tmp_path / "keys.json")
    records = make_records([{}, {}, {"sealed_at_ms": NOW + 5}, {"sealed_at_ms": NOW + 5},
                            {"sealed_at_ms": NOW + 9, "time_ms": NOW + 2}])  # a record's own time may step back
    result = verified(write(tmp_path / "chain.jsonl", records + [checkpoint(signer, records, 2),
                                                                 checkpoint(signer, records)]), keys)
    assert (result.records, result.checkpoints, result.head_seq) == (5, 2, 5)
    assert result.head_sealed_at_ms == NOW + 9 and result.notices == () and result.notice_count == 0
    # The version is in the hash: the tag, and the seal time hashed last.
    v1 = dict(records[0])
    v2 = dict(v1, sealed_at_ms=NOW + 1)
    assert record_hash(v1, GENESIS) != record_hash(v2, GENESIS) != record_hash(dict(v2, sealed_at_ms=NOW + 2), GENESIS)
    fields = [("int64", 1), ("bytes", GENESIS), ("string", "contoso"), ("int64", v1["id"]), ("int64", v1["time_ms"])]
    fields += [("string", v1[name]) for name in ("kind", "actor_id", "actor_display", "actor_ip", "activity", "item",
                                                 "decision", "details_text")]
    assert record_hash(v1, GENESIS) == hashlib.sha256(canonical("lockbox/audit-record/v1", fields)).digest()
    assert record_hash(v2, GENESIS) == hashlib.sha256(
        canonical("lockbox/audit-record/v2", fields + [("int64", NOW + 1)])).digest()
    # Only version 1 records (as before seal times were hashed) verify too.
    old = make_records([{}, {}])
    assert verified(write(tmp_path / "old.jsonl", old + [checkpoint(signer, old)]), keys).head_sealed_at_ms is None


def test_time_going_backwards_is_refused(tmp_path):
    signer = Signer()
    keys = signer.keys_file(tmp_path / "keys.json")

    def chain(name, specs):
        records = make_records(specs)
        return write(tmp_path / name, records + [checkpoint(signer, records)])

    refused(chain("back.jsonl", [{"sealed_at_ms": NOW + 50}, {"sealed_at_ms": NOW + 49}]), keys, 2,
            "sealed before the record ahead of it: time went backwards")
    refused(chain("late.jsonl", [{"sealed_at_ms": NOW + 50}, {"sealed_at_ms": NOW + 60, "time_ms": NOW + 61}]), keys, 2,
            "recorded after it was sealed")
    refused(chain("dropped.jsonl", [{}, {"sealed_at_ms": NOW + 50}, {}]), keys, 3,
            "no seal time after a record with one")
    # Taking the seal time off a record (to hide it) breaks its hash, whatever the order.
    records = make_records([{"sealed_at_ms": NOW + 5}, {"sealed_at_ms": NOW + 6}])
    stripped = dict(records[1])
    del stripped["sealed_at_ms"]
    refused(write(tmp_path / "stripped.jsonl", [records[0], stripped, checkpoint(signer, records)]), keys, 2,
            "hash does not match the record")
    changed = dict(records[0], sealed_at_ms=NOW + 4)
    refused(write(tmp_path / "changed.jsonl", [changed, records[1], checkpoint(signer, records)]), keys, 1,
            "hash does not match the record")


def test_malformed_seal_times_are_refused(tmp_path):
    signer = Signer()
    keys = signer.keys_file(tmp_path / "keys.json")
    records = make_records([{"sealed_at_ms": NOW + 5}])
    for value in (None, "1760000000005", 1.5, True):
        line = dict(records[0], sealed_at_ms=value)
        with pytest.raises(IntegrityError, match="line 1: sealed_at_ms is not a 64-bit integer"):
            verify_export(write(tmp_path / "bad.jsonl", [line, checkpoint(signer, records)]), keys)
    line = dict(records[0], sealed_at_ms=NOW + 5, extra=1)
    refused(write(tmp_path / "extra.jsonl", [line, checkpoint(signer, records)]), keys, 0,
            "line 1: neither a record nor a checkpoint line")
    twice = line_text(records[0])[:-1] + ',"sealed_at_ms":%d}' % (NOW + 5)
    refused(write(tmp_path / "twice.jsonl", [twice, checkpoint(signer, records)]), keys, 0,
            "line 1: a field appears twice")


def test_notices_name_changes_made_outside_lockboxd_and_keys_introduced(tmp_path):
    signer = Signer()
    keys = signer.keys_file(tmp_path / "keys.json")
    other = Signer()
    records = make_records([
        {"activity": "SigningKeyAdded", "kind": "key", "sealed_at_ms": NOW + 1,
         "details": {"key_id": signer.key_id, "public_key": signer.public.hex(), "introduced_by_owner": True,
                     "attested_by": "", "attestation": ""}},
        {"activity": "PrincipalChanged", "kind": "principal", "sealed_at_ms": NOW + 2,
         "details": {"principal_id": "p_2", "unattributed": True, "database_role": "lockbox_app"}},
        {"activity": "CheckAccess", "sealed_at_ms": NOW + 3, "details": {"unattributed": False}},
        {"activity": "SigningKeyAdded", "kind": "key", "sealed_at_ms": NOW + 4,
         "details": {"key_id": other.key_id, "introduced_by_owner": False, "attested_by": signer.key_id,
                     "unattributed": True, "database_role": "lockbox_app"}},
        {"activity": "RoleAssigned", "sealed_at_ms": NOW + 5, "details": ["not", "an", "object"]},
    ])
    result = verified(write(tmp_path / "chain.jsonl", records + [checkpoint(signer, records)]), keys)
    assert result.notice_count == 3
    assert [str(notice) for notice in result.notices] == [
        "record seq 1 (audit id 1001): server key %s introduced by the database's owner role" % signer.key_id,
        "record seq 2 (audit id 1002): PrincipalChanged was made outside lockboxd, by the database role lockbox_app",
        "record seq 4 (audit id 1004): server key %s introduced cross-signed by %s, outside lockboxd, by the database "
        "role lockbox_app" % (other.key_id, signer.key_id),
    ]
    assert result.notices[0] == ChainNotice("key_introduced", 1, 1001, result.notices[0].message, key_id=signer.key_id,
                                            introduced_by_owner=True)
    assert (result.notices[1].kind, result.notices[1].database_role) == ("outside_lockboxd", "lockbox_app")
    assert (result.notices[2].attested_by, result.notices[2].introduced_by_owner) == (signer.key_id, False)
    # What is new since a cursor.
    since = verify_export(tmp_path / "chain.jsonl", keys, notices_after=2)
    assert [n.seq for n in since.notices] == [4] and since.notice_count == 1


# -- signed approvals ----------------------------------------------------------------------


def statement_bytes(version: int, signer: Signer, operations=("get-mailbox", "get-sizes"), decision="Approve",
                    count: Optional[int] = None) -> bytes:
    fields = [("string", "contoso"), ("string", "req_1"), ("string", "p_op"), ("string", "exchange"),
              ("int64", NOW), ("int64", NOW + 3_600_000)]
    if version == 2:
        fields.append(("int64", len(operations) if count is None else count))
        fields += [("string", operation) for operation in operations]
    fields += [("string", "p_approver"), ("string", decision), ("int64", NOW - 5), ("string", signer.key_id)]
    return canonical("lockbox/approval/v%d" % version, fields)


def signed(signer: Signer, statement: bytes) -> pb.SignedApproval:
    return pb.SignedApproval(statement=statement, key_id=signer.key_id, signature=signer.private.sign(statement))


def test_approval_statements_of_both_versions(tmp_path):
    signer = Signer()
    keys = {signer.key_id: signer.public}
    v2 = verify_approval(signed(signer, statement_bytes(2, signer)), keys, request_id="req_1", tenant_id="contoso")
    assert v2.version == 2 and v2.operations == ("get-mailbox", "get-sizes")
    assert (v2.tenant_id, v2.request_id, v2.operator_id, v2.service) == ("contoso", "req_1", "p_op", "exchange")
    assert (v2.grant_starts_at_ms, v2.grant_ends_at_ms, v2.decided_at_ms) == (NOW, NOW + 3_600_000, NOW - 5)
    assert (v2.approver_id, v2.decision, v2.key_id) == ("p_approver", "Approve", signer.key_id)
    assert v2.allows("Get-Mailbox") and v2.allows("get-sizes") and not v2.allows("Set-Mailbox")
    assert v2.covers(NOW) and not v2.covers(NOW + 3_600_000)
    v1 = verify_approval(signed(signer, statement_bytes(1, signer)), keys)
    assert v1.version == 1 and v1.operations == () and not v1.allows("get-mailbox")
    assert (v1.approver_id, v1.decision, v1.grant_ends_at_ms) == ("p_approver", "Approve", NOW + 3_600_000)
    empty = verify_approval(signed(signer, statement_bytes(2, signer, operations=())), keys)
    assert empty.version == 2 and empty.operations == ()
    denied = verify_approval(signed(signer, statement_bytes(2, signer, decision="Deny")), keys)
    assert denied.decision == "Deny" and not denied.allows("get-mailbox") and not denied.covers(NOW)

    def malformed(statement: bytes, reason: str):
        with pytest.raises(IntegrityError, match=reason):
            verify_approval(signed(signer, statement), keys)

    malformed(statement_bytes(2, signer, count=2**40), "truncated or malformed")
    malformed(statement_bytes(2, signer, count=-1), "truncated or malformed")
    malformed(statement_bytes(2, signer, count=3), "truncated or malformed")
    malformed(statement_bytes(2, signer) + b"\x00", "trailing bytes")
    malformed(statement_bytes(2, signer)[:-3], "truncated or malformed")
    malformed(statement_bytes(2, signer).replace(b"approval/v2", b"approval/v3"), "not an approval statement")
    # A version 2 statement read as version 1 (the tag changed) does not parse: the count is in the way.
    malformed(statement_bytes(2, signer).replace(b"approval/v2", b"approval/v1"), "truncated or malformed|trailing")
    # The signature covers the scope: a widened statement does not verify.
    widened = signed(signer, statement_bytes(2, signer))
    widened.statement = statement_bytes(2, signer, operations=("get-mailbox", "get-sizes", "set-mailbox"))
    with pytest.raises(IntegrityError, match="does not verify"):
        verify_approval(widened, keys)
