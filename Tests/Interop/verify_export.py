#!/usr/bin/python3
"""A second verifier of Lockbox integrity exports, written from docs/audit-integrity.md alone.

It shares no code with the server: it recomputes every record hash from the export's fields
with the canonical encoding of that page, checks each checkpoint's Ed25519 signature with
Python's `cryptography`, and checks that the last record is covered by a checkpoint.

Usage: verify_export.py EXPORT KEYS
Prints "ok RECORDS CHECKPOINTS HEAD_HASH" and exits 0, or "FAILED seq N: WHY" and exits 1.
"""
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
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


def main(export_path, keys_path):
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
    print("ok %d %d %s" % (len(records), len(checkpoints), previous.hex() if records else ""))
    return 0


def fail(seq, why):
    print("FAILED seq %d: %s" % (seq, why))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
