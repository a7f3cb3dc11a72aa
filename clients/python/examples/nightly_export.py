#!/usr/bin/env python3
"""A nightly audit export job: writes the night's records as NDJSON, verifies them, and keeps a
cursor for the next night.

Each run:

1. exports the tenant's audit chain with its integrity data (``ExportAudit`` with
   ``include_integrity``: JSON Lines with each record's sequence number and hash, and the
   server's signed checkpoints) to ``OUT/audit-<time>.jsonl``, printing progress;
2. verifies it offline (hash chain and Ed25519 signatures, docs/audit-integrity.md) against the
   keys saved on the first night (``OUT/keys.json``: trust on first use; save them yourself
   beforehand to trust nothing the server says later);
3. checks it against last night's cursor: the record at the cursor's place must still have the
   hash it had then, otherwise the history was rewritten since (exit 2);
4. writes the records added since last night to ``OUT/new-<time>.ndjson``, for the SIEM, and
   prints the notices among them (``notice: ...``, as ``lockbox audit verify`` does): changes
   made straight in the database, outside lockboxd, and server signing keys introduced;
5. saves the new cursor (the verified head: sequence number and hash) to the state file.

    export LOCKBOX_TOKEN=lbx_...   # a tenant global admin's or approver's token, or an auditor's
    nightly_export.py --address lockbox.example.com:7443 --ca-file ca.pem --out /var/lib/lockbox-audit
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional

import lockbox
from lockbox.integrity import IntegrityError, record_at, save_keys, verify_export


def save_json(path: str, document) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default=os.environ.get("LOCKBOX_ADDRESS", "127.0.0.1:7443"))
    parser.add_argument("--ca-file", default=os.environ.get("LOCKBOX_CA_FILE"))
    parser.add_argument("--plaintext", action="store_true", help="no TLS (a lockboxd on loopback with --plaintext)")
    parser.add_argument("--tenant", default="", help="the chain to export (default: the token's own tenant; "
                                                     "an auditor names one, or '' for the provider-wide chain)")
    parser.add_argument("--out", required=True, help="folder for exports, keys.json and state.json")
    parser.add_argument("--keys", help="keys file to trust (default: OUT/keys.json, saved on the first run)")
    arguments = parser.parse_args(argv)

    token = os.environ.get("LOCKBOX_TOKEN", "")
    if not token:
        sys.exit("set LOCKBOX_TOKEN")
    os.makedirs(arguments.out, exist_ok=True)
    state_path = os.path.join(arguments.out, "state.json")
    state = {}
    if os.path.exists(state_path):
        with open(state_path) as handle:
            state = json.load(handle)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-%03d" % (int(time.time() * 1000) % 1000)
    export_path = os.path.join(arguments.out, "audit-%s.jsonl" % stamp)
    new_path = os.path.join(arguments.out, "new-%s.ndjson" % stamp)
    keys_path = arguments.keys or os.path.join(arguments.out, "keys.json")

    with lockbox.Client(arguments.address, token=token, plaintext=arguments.plaintext,
                        ca_file=arguments.ca_file) as client:
        if not os.path.exists(keys_path):
            save_keys(keys_path, client.list_signing_keys())
            print("saved the server's signing keys to %s (trusted from now on)" % keys_path)

        def progress(p: lockbox.ExportProgress) -> None:
            if p.chunks % 20 == 1:
                print("  ... %d lines, %.1f MB" % (p.lines, p.bytes_written / 1e6), flush=True)

        try:
            result = client.export_audit_to_file(
                export_path, tenant_id=arguments.tenant, include_integrity=True, progress=progress, timeout=3600
            )
        except lockbox.LockboxError as error:
            print("export failed: %s" % error, file=sys.stderr)
            return 1
    print("exported %d lines (%.1f MB) to %s" % (result.lines, result.bytes_written / 1e6, export_path))

    cursor = state.get("cursor")
    after = cursor["seq"] if cursor else 0
    try:
        verified = verify_export(export_path, keys_path, notices_after=after)
    except IntegrityError as error:
        print("VERIFICATION FAILED: %s (export kept at %s)" % (error, export_path), file=sys.stderr)
        return 2
    print("verified: chain %r, %d records, head seq %d %s…, signed by %s" % (
        verified.scope, verified.records, verified.head_seq, verified.head_hash[:16], verified.key_id))

    if cursor:
        if verified.scope != cursor["scope"]:
            print("this is the chain of %r; the cursor is of %r" % (verified.scope, cursor["scope"]), file=sys.stderr)
            return 2
        if cursor["seq"] > 0:
            then = record_at(export_path, cursor["seq"])
            if then is None or then["hash"] != cursor["hash"]:
                print("HISTORY CHANGED: record %d had hash %s last night, now %s" % (
                    cursor["seq"], cursor["hash"], then["hash"] if then else "nothing"), file=sys.stderr)
                return 2

    written = 0
    with open(export_path) as source, open(new_path + ".tmp", "w") as target:
        for text in source:
            line = json.loads(text)
            if line["type"] == "record" and line["seq"] > after:
                target.write(text)
                written += 1
    os.replace(new_path + ".tmp", new_path)
    print("%d new records since seq %d written to %s" % (written, after, new_path))
    for notice in verified.notices:
        print("notice: %s" % notice)
    if verified.notice_count > len(verified.notices):
        print("and %d more notices" % (verified.notice_count - len(verified.notices)))

    state["cursor"] = {"scope": verified.scope, "seq": verified.head_seq, "hash": verified.head_hash,
                       "signed_at_ms": verified.signed_at_ms, "export": os.path.basename(export_path)}
    state.setdefault("nights", []).append({"export": os.path.basename(export_path), "new": written,
                                           "records": verified.records})
    save_json(state_path, state)
    print("cursor saved: seq %d" % verified.head_seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
