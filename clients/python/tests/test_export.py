"""Exports to a file: 100,000 audit records in constant memory, CSV, and integrity exports that
verify (and stop verifying when tampered with), in agreement with Tests/Interop/verify_export.py."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

import lockbox
from lockbox.integrity import IntegrityError, save_keys, verify_export

from test_connection import fill_audit

RECORDS = 100_000


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_an_export_of_100k_records_in_constant_memory(client, world, database, new_tenant, tmp_path):
    tenant = new_tenant("bulk")
    fill_audit(database, tenant.id, RECORDS, pad=200)
    path = tmp_path / "bulk.ndjson"
    progress = []
    auditor = client.with_token(world.auditor)
    gc.collect()
    rss_before = rss_kib()
    try:
        # Reset the peak RSS (VmHWM) where the kernel allows it, to measure this export alone.
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    tracemalloc.start()
    try:
        result = auditor.export_audit_to_file(path, tenant_id=tenant.id, format="json_lines",
                                              progress=lambda p: progress.append((p.bytes_written, p.lines)))
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_peak = rss_kib("VmHWM") if hwm_reset else rss_kib()
    size = os.path.getsize(path)
    assert result.lines >= RECORDS and result.bytes_written == size
    assert progress[-1] == (size, result.lines) and len(progress) == result.chunks >= RECORDS // 500
    # Every record is there, whole.
    with open(path, "rb") as handle:
        count = 0
        for line in handle:
            record = json.loads(line)
            count += record["activity"] == "Get-Mailbox"
    assert count == RECORDS
    report = ("export of %d records, %.1f MB: Python allocations peaked at %.2f MiB (tracemalloc); "
              "process RSS %s %.1f MiB over %.1f MiB before"
              % (RECORDS, size / 1e6, peak / 2**20, "peak" if hwm_reset else "now",
                 (rss_peak - rss_before) / 1024, rss_before / 1024))
    print(report)
    with open(os.path.join(os.environ.get("LOCKBOX_TEST_REPORT_DIR", str(tmp_path)), "export-memory.txt"), "w") as out:
        out.write(report + "\n")
    # Bounded by the client's stream buffer (1 MiB high water) and a chunk or two, not by the size.
    assert size > 30 * 2**20
    assert peak < 12 * 2**20, report
    assert rss_peak - rss_before < 48 * 1024, report

    # A consumer slower than the server (a slow disk: 20 ms per chunk for the first 60 chunks):
    # the stream's buffer fills to its high-water mark, reading stops, and memory stays bounded.
    def slow(p):
        if p.chunks <= 60:
            time.sleep(0.02)

    tracemalloc.start()
    try:
        slow_result = auditor.export_audit_to_file(tmp_path / "slow.ndjson", tenant_id=tenant.id, progress=slow)
        _, slow_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert slow_result.bytes_written == size
    slow_report = "with a slow consumer: Python allocations peaked at %.2f MiB" % (slow_peak / 2**20)
    print(slow_report)
    with open(os.path.join(os.environ.get("LOCKBOX_TEST_REPORT_DIR", str(tmp_path)), "export-memory.txt"), "a") as out:
        out.write(slow_report + "\n")
    assert slow_peak < 12 * 2**20, slow_report


def test_csv_export_and_a_failed_export_leaves_no_file(client, world, new_tenant, tmp_path):
    tenant = new_tenant("csv")
    admin = client.with_token(tenant.admin)
    result = admin.export_audit_to_file(tmp_path / "audit.csv", format="csv")  # "" = its own tenant
    text = (tmp_path / "audit.csv").read_text()
    assert text.splitlines()[0] == "id,time,tenant_id,kind,actor_id,actor_display,actor_ip,activity,item,decision,details"
    assert result.format == "csv" and result.lines == len(text.splitlines())
    with pytest.raises(lockbox.PermissionDenied):
        client.export_audit_to_file(tmp_path / "nope.ndjson", tenant_id=tenant.id, auth_token=world.operator)
    assert sorted(os.listdir(tmp_path)) == ["audit.csv"], "no partial or temporary file left"


def interop(export, keys):
    """The second verifier's exit code and verdict line ("ok ..." or "FAILED ..."; its notice
    lines, which come before, left out), or None when it is not here."""
    script = os.environ.get("LOCKBOX_TEST_VERIFY_EXPORT", "")
    if not script or not os.path.exists(script):
        return None
    out = subprocess.run([sys.executable, script, str(export), str(keys)], capture_output=True, text=True)
    verdict = [line for line in out.stdout.splitlines() if line.startswith(("ok ", "FAILED"))]
    return out.returncode, verdict[0] if verdict else out.stdout.strip()


def test_integrity_exports_verify_and_tampering_is_found(client, world, new_tenant, file, tmp_path):
    tenant = new_tenant("chain")
    for _ in range(3):
        request = file(tenant.id)
        client.decide_internal(request_id=request.id, approve=True, comment="ok", auth_token=world.manager)
    admin = client.with_token(tenant.admin)
    keys = tmp_path / "keys.json"
    save_keys(keys, client.list_signing_keys())
    export = tmp_path / "chain.jsonl"
    admin.export_audit_to_file(export, include_integrity=True)
    verified = verify_export(export, keys, tenant=tenant.id)
    assert verified.records >= 9 and verified.head_seq == verified.records
    assert interop(export, keys) in (None, (0, "ok %d %d %s" % (verified.records, verified.checkpoints,
                                                                 verified.head_hash)))
    # The auditor's export of the same chain is the same chain.
    again = tmp_path / "again.jsonl"
    client.export_audit_to_file(again, tenant_id=tenant.id, include_integrity=True, auth_token=world.auditor)
    assert verify_export(again, keys).head_hash[:16] and verify_export(again, keys).records >= verified.records

    lines = export.read_text().splitlines()

    def tampered(name, new_lines, reason):
        path = tmp_path / name
        path.write_text("\n".join(new_lines) + "\n")
        with pytest.raises(IntegrityError) as info:
            verify_export(path, keys)
        assert reason in info.value.reason, info.value
        agreed = interop(path, keys)
        assert agreed is None or (agreed[0] == 1 and agreed[1] == "FAILED %s" % info.value), agreed
        return info.value

    edited = json.loads(lines[2])
    edited["actor_display"] = "Someone Else"
    assert tampered("edited.jsonl", lines[:2] + [json.dumps(edited, separators=(",", ":"), sort_keys=True)] + lines[3:],
                    "hash does not match").seq == 3
    records = [line for line in lines if '"type":"record"' in line]
    checkpoints = [line for line in lines if '"type":"checkpoint"' in line]
    tampered("cut.jsonl", records[:-1] + checkpoints, "beyond the last record")
    tampered("unsigned.jsonl", records, "no checkpoint covers the last record")
    tampered("swapped.jsonl", [records[1], records[0]] + records[2:] + checkpoints, "sequence runs")
    signature = json.loads(checkpoints[-1])
    signature["signature"] = ("0" if signature["signature"][0] != "0" else "1") + signature["signature"][1:]
    tampered("forged.jsonl", records + checkpoints[:-1] + [json.dumps(signature, separators=(",", ":"), sort_keys=True)],
             "signature does not verify")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(IntegrityError, match="no checkpoint covers"):
        verify_export(empty, keys)
    other_keys = tmp_path / "other.json"
    other_keys.write_text('{"keys": []}')
    with pytest.raises(IntegrityError, match="unknown key"):
        verify_export(export, other_keys)
    with pytest.raises(IntegrityError, match="not of"):
        verify_export(export, keys, tenant="contoso")


def lockbox_cli():
    """The `lockbox` CLI of the lockboxd under test (LOCKBOX_TEST_LOCKBOX), or None. Not guessed
    from beside lockboxd: a build of lockboxd alone leaves an older CLI there."""
    path = os.environ.get("LOCKBOX_TEST_LOCKBOX", "")
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def test_notices_of_keys_and_of_changes_made_outside_lockboxd(client, world, database, new_tenant, tmp_path):
    """The database records a change made straight in it (here as the owner role), marked
    unattributed; the verified export names it, and the server key introduced, as notices,
    with the words of `lockbox audit verify`."""
    tenant = new_tenant("outside")
    admin = client.with_token(tenant.admin)
    helper = admin.create_principal(display_name="Helpdesk Hal", tenant_id=tenant.id)
    database.sql("UPDATE principals SET display_name = 'Hal, renamed in SQL' WHERE principal_id = '%s'" % helper.id)
    keys_file = tmp_path / "keys.json"
    keys = client.list_signing_keys()
    save_keys(keys_file, keys)
    export = tmp_path / "chain.jsonl"
    admin.export_audit_to_file(export, include_integrity=True)
    verified = verify_export(export, keys_file, tenant=tenant.id)
    assert interop(export, keys_file) in (None, (0, "ok %d %d %s" % (verified.records, verified.checkpoints,
                                                                    verified.head_hash)))
    # Every record lockboxd seals now carries its seal time (hash version 2).
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    records = [line for line in lines if line["type"] == "record"]
    assert all("sealed_at_ms" in line and line["time_ms"] <= line["sealed_at_ms"] for line in records)
    assert verified.head_sealed_at_ms == records[-1]["sealed_at_ms"]

    by_kind = {}
    for notice in verified.notices:
        by_kind.setdefault(notice.kind, []).append(notice)
    assert verified.notice_count == len(verified.notices)
    assert {n.key_id for n in by_kind["key_introduced"]} == {k.key_id for k in keys.keys}
    assert all(n.introduced_by_owner for n in by_kind["key_introduced"])
    [outside] = by_kind["outside_lockboxd"]
    record = next(line for line in records if line["seq"] == outside.seq)
    assert record["activity"] == "PrincipalChanged" and outside.database_role == "lockbox_owner"
    assert json.loads(record["details_text"])["display_name"] == "Hal, renamed in SQL"
    assert str(outside) == ("record seq %d (audit id %d): PrincipalChanged was made outside lockboxd, by the "
                            "database role lockbox_owner" % (record["seq"], record["id"]))
    # lockboxd's own changes are attributed to their actor: no notice for the principal created.
    created = next(line for line in records if line["activity"] == "PrincipalCreated"
                   and json.loads(line["details_text"])["principal_id"] == helper.id)
    assert created["actor_id"] == tenant.admin_id and created["seq"] not in {n.seq for n in verified.notices}

    # The CLI's verifier says the same.
    cli = lockbox_cli()
    if cli is not None:
        out = subprocess.run([cli, "audit", "verify", "--export", str(export), "--keys", str(keys_file)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        said = [line[len("  notice: "):] for line in out.stdout.splitlines() if line.startswith("  notice: ")]
        # The chain's notices, then the consent check's (the tenant's root adopted at enrollment,
        # and that the chain's first root is trusted as it stands).
        assert said == [str(notice) for notice in verified.notices][:50] + [str(n) for n in verified.consent.notices]
        assert [n.message for n in verified.consent.notices][:1] == [
            "record seq %d: tenant root %s adopted" % (n.seq, tenant.root.key_id)
            for n in verified.consent.notices[:1]]
