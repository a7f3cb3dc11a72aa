"""The examples and the README's ten lines, each run as a program against the session's lockboxd."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading

from support import WAIT

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
README = os.path.join(os.path.dirname(HERE), "README.md")


class Program:
    """A Python program run in the background, its output read line by line with deadlines."""

    def __init__(self, arguments, token, **environment):
        environment = dict(os.environ, LOCKBOX_TOKEN=token, PYTHONUNBUFFERED="1", **environment)
        self.process = subprocess.Popen([sys.executable] + arguments, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=environment)
        self.lines: "queue.Queue" = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, pattern: str) -> re.Match:
        compiled = re.compile(pattern)
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError("no line matching %r within %.0f s; saw %s" % (pattern, WAIT, self.seen))
            if line is None:
                raise AssertionError("the program ended (%s) before a line matching %r; saw %s"
                                     % (self.process.wait(), pattern, self.seen))
            self.seen.append(line)
            match = compiled.search(line)
            if match:
                return match

    def wait(self) -> int:
        return self.process.wait(timeout=WAIT)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run(arguments, token, **environment):
    program = Program(arguments, token, **environment)
    code = program.wait()
    while True:
        line = program.lines.get(timeout=WAIT)
        if line is None:
            break
        program.seen.append(line)
    return code, "\n".join(program.seen)


def test_portal_backend(server, world, client, new_tenant, file):
    tenant = new_tenant("portal")
    script = os.path.join(EXAMPLES, "portal_backend.py")
    base = [script, "--address", server.address, "--plaintext"]
    waiting = file(tenant.id, ticket="SR-7")
    client.decide_internal(request_id=waiting.id, approve=True, comment="ok", auth_token=world.manager)
    file(tenant.id)  # still with the support manager: not in the inbox

    code, out = run(base + ["list"], tenant.approver)
    assert code == 0, out
    assert waiting.id in out and "SR-7" in out and "1 awaiting your decision" in out

    watcher = Program(base + ["watch", "--max-events", "2"], tenant.approver)
    try:
        watcher.expect(r"^live \d+ \(1 awaiting\)")
        # Unsigned: refused, the tenant requires its approver's own signature.
        code, out = run(base + ["approve", waiting.id], tenant.approver)
        assert code == 1 and "FAILED_PRECONDITION" in out and "signed" in out, out
        code, out = run(base + ["approve", waiting.id, "--comment", "checked"], tenant.approver,
                        LOCKBOX_KEY_FILE=tenant.approver_key_file)
        assert code == 0 and "approved %s: access until" % waiting.id in out, out
        watcher.expect(r"^event \d+ CustomerApprove %s APPROVED \(0 awaiting\)" % waiting.id)
        another = file(tenant.id)
        client.decide_internal(request_id=another.id, approve=True, auth_token=world.manager)
        watcher.expect(r"^event \d+ AccessRequestCreated %s PENDING_INTERNAL" % another.id)
        assert watcher.wait() == 0
    finally:
        watcher.stop()
    assert client.get_access_request(request_id=waiting.id, auth_token=tenant.admin).status == \
        __import__("lockbox").pb.REQUEST_STATUS_APPROVED

    code, out = run(base + ["approve", waiting.id], world.fabrikam.approver,
                    LOCKBOX_KEY_FILE=world.fabrikam.approver_key_file)
    assert code == 1 and "NOT_FOUND" in out, out


def test_nightly_export(server, world, client, new_tenant, file, tmp_path):
    tenant = new_tenant("night")
    script = os.path.join(EXAMPLES, "nightly_export.py")
    arguments = [script, "--address", server.address, "--plaintext", "--out", str(tmp_path)]

    code, out = run(arguments, tenant.admin)
    assert code == 0, out
    assert "saved the server's signing keys" in out and "verified: chain %r" % tenant.id in out
    # The server's key, introduced into the new tenant's chain by the database's owner.
    assert re.search(r"^notice: record seq \d+ \(audit id \d+\): server key ed25519:[0-9a-f]{16} introduced by "
                     r"the database's owner role$", out, re.M), out
    state = json.loads((tmp_path / "state.json").read_text())
    first = state["cursor"]
    assert first["scope"] == tenant.id and first["seq"] >= 6
    (new_file,) = [p for p in tmp_path.iterdir() if p.name.startswith("new-")]
    assert len(new_file.read_text().splitlines()) == first["seq"]

    # The next night: only what was added since.
    filed = file(tenant.id)
    client.decide_internal(request_id=filed.id, approve=True, comment="ok", auth_token=world.manager)
    code, out = run(arguments, tenant.admin)
    assert code == 0, out
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["cursor"]["seq"] > first["seq"] and len(state["nights"]) == 2
    newest = sorted(p for p in tmp_path.iterdir() if p.name.startswith("new-"))[-1]
    added = [json.loads(line) for line in newest.read_text().splitlines()]
    assert [line["seq"] for line in added] == list(range(first["seq"] + 1, state["cursor"]["seq"] + 1))
    assert {"AccessRequestCreated", "InternalApprove"} <= {line["activity"] for line in added}
    assert "notice:" not in out, "the key was introduced before the cursor"

    # A cursor that no longer matches the chain is reported, not overwritten.
    state["cursor"]["hash"] = "00" * 32
    (tmp_path / "state.json").write_text(json.dumps(state))
    code, out = run(arguments, tenant.admin)
    assert code == 2 and "HISTORY CHANGED" in out, out
    assert json.loads((tmp_path / "state.json").read_text())["cursor"]["hash"] == "00" * 32


def readme_block() -> str:
    text = open(README).read()
    return re.search(r"## Ten lines.*?```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_example(server, world, client, new_tenant, file, tmp_path):
    block = readme_block()
    assert len([line for line in block.splitlines() if line.strip()]) <= 10
    tenant = new_tenant("readme")
    waiting = file(tenant.id)
    client.decide_internal(request_id=waiting.id, approve=True, auth_token=world.manager)
    path = tmp_path / "readme_example.py"
    path.write_text(block)
    os.environ["LOCKBOX_ADDRESS"], os.environ["LOCKBOX_PLAINTEXT"] = server.address, "1"
    try:
        program = Program([str(path)], tenant.approver, LOCKBOX_KEY_FILE=tenant.approver_key_file)
    finally:
        del os.environ["LOCKBOX_ADDRESS"], os.environ["LOCKBOX_PLAINTEXT"]
    try:
        program.expect(r"^approving %s SR-1001" % waiting.id)
        program.expect(r"^\d+ CustomerApprove %s$" % waiting.id)
        assert client.get_access_request(request_id=waiting.id, auth_token=tenant.admin).status == 3
        later = file(tenant.id)
        program.expect(r"^\d+ AccessRequestCreated %s$" % later.id)
    finally:
        program.stop()
