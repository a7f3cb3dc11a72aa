"""The client alone, without lockboxd: request building, errors, the generator, and the
connection's behaviour against a scripted fake server (deadlines and cancel frames, retries,
GOAWAY, connection-level refusals, responses out of order)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

import lockbox
from lockbox import StatusCode, pb
from lockbox._core import parse_address
from lockbox._method import build_request

from support import WAIT, FakeServer, eventually

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)


def test_the_installed_package_is_the_one_tested():
    # scripts/test installs clients/python into a fresh virtualenv; the tests import that copy.
    if os.environ.get("LOCKBOX_TEST_ALLOW_SOURCE") != "1":
        assert "site-packages" in lockbox.__file__, lockbox.__file__


def test_addresses():
    assert parse_address("lockbox.example.com") == ("lockbox.example.com", 7443)
    assert parse_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:7443") == ("::1", 7443)
    assert parse_address("[::1]") == ("::1", 7443)
    for bad in ("", ":80", "host:0", "host:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_requests_from_keyword_arguments():
    methods = lockbox.METHODS
    request = build_request(methods["CreateAccessRequest"], None, {"tenant_id": "contoso", "service": "exchange",
                                                                   "requested_duration_seconds": 3600, "ticket_number": None})
    assert request.service == pb.SERVICE_EXCHANGE and request.tenant_id == "contoso" and request.ticket_number == ""
    assert build_request(methods["ListAccessRequests"], None, {"status": "pending_customer"}).status == \
        pb.REQUEST_STATUS_PENDING_CUSTOMER
    assert build_request(methods["DecideCustomer"], None, {"decision": "DECISION_DENY"}).decision == pb.DECISION_DENY
    settings = build_request(methods["SetTenantSettings"], None, {"approval_window_seconds": 600})
    assert settings.HasField("approval_window_seconds") and settings.approval_window_seconds.value == 600
    assert not settings.HasField("max_access_duration_seconds")
    principal = build_request(methods["CreatePrincipal"], None,
                              {"display_name": "x", "roles": [{"role": "global_admin", "tenant_id": "t"}]})
    assert principal.roles[0].role == pb.ROLE_GLOBAL_ADMIN
    # A request message, with keyword fields set over it (a false bool too).
    base = pb.SetLockboxEnabledRequest(tenant_id="t", enabled=True, reason="r")
    merged = build_request(methods["SetLockboxEnabled"], base, {"enabled": False})
    assert merged.tenant_id == "t" and merged.enabled is False and base.enabled is True
    with pytest.raises(ValueError, match="exchange, sharepoint"):
        build_request(methods["CreateAccessRequest"], None, {"service": "mail"})
    with pytest.raises(TypeError):
        build_request(methods["CreateAccessRequest"], pb.PingRequest(), {})


def test_every_status_code_has_its_exception():
    for code in StatusCode:
        if code == StatusCode.OK:
            continue
        error = lockbox.errors.error_for(code, "why", method="Ping")
        assert error.code == code and error.message == "why" and isinstance(error, lockbox.LockboxError)
        assert str(error) == "Ping: %s: why" % code.name
    assert isinstance(lockbox.errors.error_for(14, ""), lockbox.TransientError)
    assert isinstance(lockbox.errors.error_for(7, ""), lockbox.AccessError)
    assert isinstance(lockbox.errors.error_for(5, ""), lockbox.CallerError)
    assert isinstance(lockbox.errors.error_for(13, ""), lockbox.ServerError)
    assert issubclass(lockbox.WatchResyncRequired, lockbox.OutOfRange)
    assert issubclass(lockbox.TLSError, lockbox.Unavailable)
    assert lockbox.errors.error_for(99, "future").code == StatusCode.UNKNOWN


def test_every_rpc_has_a_method_on_both_clients():
    assert len(lockbox.METHODS) >= 40
    for name, info in lockbox.METHODS.items():
        assert info.full_name == "lockbox.v1.Lockbox/" + name
        for cls in (lockbox.Client, lockbox.AsyncClient):
            method = getattr(cls, info.python_name)
            assert method.__doc__ and info.full_name in method.__doc__
    assert lockbox.METHODS["WatchAccessRequests"].server_streaming
    assert lockbox.METHODS["ListAccessRequests"].paging.kind == "token"
    assert lockbox.METHODS["ListCheckpoints"].paging.kind == "cursor"
    assert lockbox.METHODS["GetAccessRequest"].safe_to_retry
    assert lockbox.METHODS["CreateAccessRequest"].safe_to_retry and lockbox.METHODS["CreateAccessRequest"].keyed
    assert not lockbox.METHODS["DecideCustomer"].safe_to_retry


def test_a_new_rpc_in_the_proto_gets_a_method_and_the_check_fails(tmp_path):
    source = os.environ.get("LOCKBOX_PROTO") or os.path.join(PACKAGE, "..", "..", "proto", "lockbox.proto")
    if not os.path.exists(source) or not shutil.which("protoc"):
        pytest.skip("no proto or protoc here")
    text = open(source).read()
    assert "rpc Ping(PingRequest)" in text
    changed = tmp_path / "lockbox.proto"
    changed.write_text(text.replace(
        "rpc Ping(PingRequest) returns (PingResponse);",
        "rpc Ping(PingRequest) returns (PingResponse);\n  // Frobnicates.\n"
        "  rpc FrobnicateWidgets(ListPrincipalsRequest) returns (stream Principal);",
    ))
    check = subprocess.run([os.path.join(PACKAGE, "scripts", "gen-proto"), "--check"], capture_output=True, text=True,
                           env=dict(os.environ, LOCKBOX_PROTO=str(changed)))
    assert check.returncode == 1 and "stale" in check.stderr
    current = subprocess.run([os.path.join(PACKAGE, "scripts", "gen-proto"), "--check"], capture_output=True, text=True)
    assert current.returncode == 0, current.stderr
    descriptor = tmp_path / "lockbox.desc"
    subprocess.run(["protoc", "-I", str(tmp_path), "--include_source_info", "--descriptor_set_out=%s" % descriptor,
                    str(changed)], check=True)
    out = tmp_path / "_generated.py"
    subprocess.run([sys.executable, os.path.join(PACKAGE, "scripts", "gen_methods.py"), str(descriptor), str(out), "x"],
                   check=True)
    generated = out.read_text()
    assert "def frobnicate_widgets(" in generated and "'FrobnicateWidgets': MethodInfo(" in generated
    assert "-> Stream[pb.Principal]" in generated and "Frobnicates." in generated


# -- against a scripted server -----------------------------------------------------------


def fake(handler):
    server = FakeServer(handler)
    return server


def ping_answer(connection, frame):
    if frame.header.method.endswith("/Ping"):
        connection.answer(frame.header.call_id, pb.PingResponse(version="fake"))


def test_a_deadline_cancels_the_call_on_the_server():
    server = fake(lambda connection, frame: None)  # never answers
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            started = time.monotonic()
            with pytest.raises(lockbox.DeadlineExceeded):
                client.get_access_request(request_id="req_1", timeout=0.3)
            assert time.monotonic() - started < 5
            (sent,) = server.frames_of("GetAccessRequest")
            assert 1 <= sent.header.timeout_ms <= 300
            cancel = eventually(server.cancels, "the cancel frame")[0]
            assert cancel.header.call_id == sent.header.call_id and not cancel.header.method
            assert client.stats.cancels_sent == 1
    finally:
        server.close()


def test_answers_are_matched_by_call_id_in_any_order():
    held = []
    lock = threading.Lock()

    def handler(connection, frame):
        with lock:
            held.append(frame)
            if len(held) == 3:
                for request in reversed(held):  # answer the last first
                    connection.answer(request.header.call_id, pb.AccessRequest(id=pb.GetAccessRequestRequest.FromString(
                        request.payload).request_id))

    server = fake(handler)
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            results = {}

            def get(identifier):
                results[identifier] = client.get_access_request(request_id=identifier, timeout=WAIT).id

            threads = [threading.Thread(target=get, args=("req_%d" % n,)) for n in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            assert results == {"req_0": "req_0", "req_1": "req_1", "req_2": "req_2"}
            assert len({f.header.call_id for f in held}) == 3 and client.stats.connections_opened == 1
    finally:
        server.close()


def test_unavailable_is_retried_only_when_safe():
    answers = {"GetAccessRequest": 0}

    def handler(connection, frame):
        method = frame.header.method.rsplit("/", 1)[-1]
        if method == "GetAccessRequest":
            answers[method] += 1
            if answers[method] < 3:
                connection.answer(frame.header.call_id, code=StatusCode.UNAVAILABLE, message="server is overloaded")
            else:
                connection.answer(frame.header.call_id, pb.AccessRequest(id="req_1"))
        elif method == "CreateAccessRequest":
            if len(server.frames_of("CreateAccessRequest")) < 2:
                connection.answer(frame.header.call_id, code=StatusCode.UNAVAILABLE, message="try again")
            else:
                connection.answer(frame.header.call_id, pb.AccessRequest(id="req_2"))
        else:
            connection.answer(frame.header.call_id, code=StatusCode.UNAVAILABLE, message="database unreachable")

    server = fake(handler)
    policy = lockbox.RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
    try:
        with lockbox.Client(server.address, plaintext=True, retry=policy) as client:
            assert client.get_access_request(request_id="req_1").id == "req_1"
            assert answers["GetAccessRequest"] == 3
            # A state-changing call that may have happened is not sent again.
            with pytest.raises(lockbox.Unavailable):
                client.decide_customer(request_id="req_1", decision="approve")
            assert len(server.frames_of("DecideCustomer")) == 1
            # A create with an idempotency key is: both attempts carry the same key.
            assert client.create_access_request(tenant_id="t").id == "req_2"
            keys = [f.header.idempotency_key for f in server.frames_of("CreateAccessRequest")]
            assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 32
        with lockbox.Client(server.address, plaintext=True, retry=None) as client:
            with pytest.raises(lockbox.Unavailable):
                client.list_principals()
            assert len(server.frames_of("ListPrincipals")) == 1
    finally:
        server.close()


def test_goaway_moves_new_calls_to_a_new_connection():
    def handler(connection, frame):
        if frame.cancel:
            return
        if connection.number == 1 and frame.header.method.endswith("/ListGrants"):
            # Draining: tell the client, answer the call in flight, then close when done.
            goaway = pb.ResponseFrame(call_id=0, goaway=True)
            goaway.end.status.code = StatusCode.UNAVAILABLE
            goaway.end.status.message = "server is shutting down"
            connection.send(goaway)
            connection.answer(frame.header.call_id, pb.ListGrantsResponse())
            return
        ping_answer(connection, frame)

    server = fake(handler)
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            assert client.ping().version == "fake"
            client.list_grants()  # finished on the draining connection
            eventually(lambda: client.stats.goaways_received == 1, "the GOAWAY")
            assert client.ping().version == "fake"
            assert client.stats.connections_opened == 2
            assert [n for n, f in server.frames if f.header.method.endswith("/Ping")] == [1, 2]
    finally:
        server.close()


def test_a_refused_connection_fails_its_calls_with_the_servers_status():
    def handler(connection, frame):
        refusal = pb.ResponseFrame(call_id=0)
        refusal.end.status.code = StatusCode.RESOURCE_EXHAUSTED
        refusal.end.status.message = "too many connections"
        connection.send(refusal)
        connection.close()

    server = fake(handler)
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            with pytest.raises(lockbox.ResourceExhausted, match="too many connections"):
                client.ping()
    finally:
        server.close()


def test_connecting_backs_off_until_the_server_is_there():
    # A port with nothing listening: the client retries with back-off until the deadline.
    import socket as sockets

    probe = sockets.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    policy = lockbox.RetryPolicy(max_attempts=None, initial_backoff=0.02, max_backoff=0.1)
    with lockbox.Client("127.0.0.1:%d" % port, plaintext=True, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(lockbox.TransientError):
            client.ping(timeout=1.0)
        assert time.monotonic() - started < 5
        assert client.stats.connect_attempts >= 3 and client.stats.retries >= 2


def test_a_stream_is_cancelled_when_dropped_and_iteration_stops_on_close():
    def handler(connection, frame):
        if frame.cancel:
            end = pb.ResponseFrame(call_id=frame.header.call_id)
            end.end.status.code = StatusCode.CANCELLED
            connection.send(end)
            return
        if frame.header.method.endswith("/ExportAudit"):
            for n in range(3):
                connection.send(pb.ResponseFrame(call_id=frame.header.call_id,
                                                 payload=pb.AuditExportChunk(data=b"line %d\n" % n).SerializeToString()))
        else:
            ping_answer(connection, frame)

    server = fake(handler)
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            for chunk in client.export_audit():
                assert chunk.data == b"line 0\n"
                break  # the stream object is dropped here: its cancel frame is sent
            eventually(lambda: len(server.cancels()) == 1, "the cancel frame of a dropped stream")
            stream = client.export_audit()
            assert next(stream).data == b"line 0\n"
            stream.close()
            assert list(stream) == []
            assert stream.wait_status(WAIT).code == StatusCode.CANCELLED
            assert client.ping().version == "fake" and client.stats.connections_opened == 1
    finally:
        server.close()


def test_a_slow_stream_consumer_holds_back_the_connection_not_memory():
    """The server's frames wait in TCP buffers (and the server itself) while the consumer lags."""
    from lockbox._core import STREAM_HIGH_WATER, STREAM_LOW_WATER

    chunk = pb.AuditExportChunk(data=b"x" * (128 * 1024 - 1) + b"\n").SerializeToString()
    count = 240  # 30 MiB
    sent = []

    def handler(connection, frame):
        if frame.header.method.endswith("/ExportAudit"):
            for n in range(count):
                connection.send(pb.ResponseFrame(call_id=frame.header.call_id, payload=chunk))
                sent.append(n)
            connection.answer(frame.header.call_id)

    server = fake(handler)
    try:
        with lockbox.Client(server.address, plaintext=True) as client:
            most = 0
            received = 0
            for piece in client.export_audit():
                received += 1
                if received == 1:
                    # The consumer stalls: the client stops reading once the stream's buffer passed
                    # its high-water mark, and the server's sends block on TCP buffers.
                    transport = client._channel.transport
                    eventually(lambda: not transport.resume.is_set(), "the reader to pause")
                    held = max(c.buffered for c in transport.calls.values())
                    assert STREAM_LOW_WATER <= held <= STREAM_HIGH_WATER + len(chunk), held
                    assert len(sent) < count, "the server could not send everything"
                calls = client._channel.transport.calls if client._channel.transport else {}
                most = max([most] + [c.buffered for c in calls.values()])
            assert received == count and len(sent) == count
            assert most <= STREAM_HIGH_WATER + len(chunk), most
    finally:
        server.close()


def test_an_async_call_whose_task_is_cancelled_sends_the_cancel_frame():
    import asyncio

    server = fake(lambda connection, frame: None)  # never answers

    async def main():
        async with lockbox.AsyncClient(server.address, plaintext=True) as client:
            task = asyncio.get_running_loop().create_task(client.list_grants(timeout=None))
            while not server.frames_of("ListGrants"):
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.stats.cancels_sent == 1

    try:
        asyncio.run(asyncio.wait_for(main(), WAIT))
        (sent,) = server.frames_of("ListGrants")
        assert sent.header.timeout_ms == 0  # no deadline was given
        cancel = eventually(server.cancels, "the cancel frame")[0]
        assert cancel.header.call_id == sent.header.call_id
    finally:
        server.close()


def test_closing_the_client_ends_calls_in_flight():
    server = fake(lambda connection, frame: None)  # never answers
    try:
        client = lockbox.Client(server.address, plaintext=True)
        outcome = {}

        def call():
            try:
                client.get_access_request(request_id="req_1", timeout=None)
            except lockbox.LockboxError as error:
                outcome["error"] = error

        caller = threading.Thread(target=call)
        caller.start()
        eventually(lambda: server.frames_of("GetAccessRequest"), "the call to be sent")
        client.close()
        caller.join(WAIT)
        assert isinstance(outcome.get("error"), lockbox.Cancelled), outcome
        with pytest.raises(lockbox.Cancelled):
            client.ping()
    finally:
        server.close()


def test_a_watch_ends_when_its_client_is_closed():
    def handler(connection, frame):
        if frame.header.method.endswith("/WatchAccessRequests"):
            marker = pb.AccessRequestEvent(live=True, event_id=41)
            connection.send(pb.ResponseFrame(call_id=frame.header.call_id, payload=marker.SerializeToString()))

    server = fake(handler)
    try:
        client = lockbox.Client(server.address, plaintext=True)
        watch = client.watch()
        assert watch.cursor == 41
        outcome = {}

        def follow():
            try:
                outcome["events"] = list(watch)
            except lockbox.LockboxError as error:
                outcome["error"] = error

        follower = threading.Thread(target=follow)
        follower.start()
        client.close()
        follower.join(WAIT)
        assert not follower.is_alive(), "the watch kept trying to resume on a closed client"
        assert outcome.get("events") == [] or isinstance(outcome.get("error"), lockbox.Cancelled), outcome
    finally:
        server.close()
