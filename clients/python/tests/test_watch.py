"""The resuming watch: events committed while the connection was down arrive after it comes
back, once each and in order; a cursor the feed does not keep is "list again"."""

from __future__ import annotations

import threading

import pytest

import lockbox
from lockbox import pb

from support import WAIT, TCPProxy, eventually


class Collector:
    """Iterates a watch in a thread of its own, keeping what it yields."""

    def __init__(self, watch):
        self.watch = watch
        self.events = []
        self.error = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for event in self.watch:
                with self._lock:
                    self.events.append(event)
        except Exception as error:  # kept for the test to see
            self.error = error

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def wait_for(self, count, what):
        return eventually(lambda: self.error or len(self.snapshot()) >= count, what) and self.snapshot()


def test_a_watch_resumes_across_a_dropped_connection(server, world, client, new_tenant, file):
    tenant = new_tenant("res")
    proxy = TCPProxy("127.0.0.1", server.port)
    policy = lockbox.RetryPolicy(max_attempts=None, initial_backoff=0.05, max_backoff=0.5)
    try:
        with lockbox.Client(proxy.address, plaintext=True, token=tenant.admin) as through:
            watch = through.watch(tenant_id=tenant.id, retry=policy)
            start = watch.cursor
            assert watch.live_marker.live and start == watch.live_marker.event_id
            collector = Collector(watch)
            first = file(tenant.id)
            (created,) = collector.wait_for(1, "the first event")
            assert created.request.id == first.id and created.event_id > start

            # The connection dies, and the proxy refuses new ones until the test says so.
            proxy.refuse(True)
            assert proxy.cut() == 1
            eventually(lambda: proxy.refused >= 1, "the watch's attempts to reconnect")
            # Changes committed while the watch is disconnected (by another client, directly).
            second = file(tenant.id)
            third = file(tenant.id)
            client.decide_internal(request_id=first.id, approve=True, comment="ok", auth_token=world.manager)
            client.cancel_access_request(request_id=third.id, reason="dup", auth_token=world.operator)
            assert len(collector.snapshot()) == 1 and collector.error is None
            refused_before = proxy.refused
            eventually(lambda: proxy.refused > refused_before, "another refused attempt (back-off goes on)")
            proxy.refuse(False)

            events = collector.wait_for(5, "the events committed while disconnected")
            assert collector.error is None, collector.error
            got = [(e.request.id, e.activity) for e in events]
            assert got == [
                (first.id, "AccessRequestCreated"),
                (second.id, "AccessRequestCreated"),
                (third.id, "AccessRequestCreated"),
                (first.id, "InternalApprove"),
                (third.id, "RequesterCancel"),
            ]
            ids = [e.event_id for e in events]
            assert ids == sorted(set(ids)), "each event once, in feed order"
            assert watch.reconnects == 1 and watch.cursor == ids[-1]
            assert isinstance(watch.last_error, lockbox.Unavailable)
            # And it goes on live after the resume.
            fourth = file(tenant.id)
            events = collector.wait_for(6, "an event after the resume")
            assert events[-1].request.id == fourth.id and len(events) == 6
            watch.close()
            collector.thread.join(WAIT)
            assert not collector.thread.is_alive() and collector.error is None
    finally:
        proxy.close()


def test_a_watch_resumes_from_a_kept_cursor(client, world, new_tenant, file):
    tenant = new_tenant("cur")
    admin = client.with_token(tenant.admin)
    with admin.watch(tenant_id=tenant.id) as watch:
        filed = file(tenant.id)
        event = next(watch)
        assert event.request.id == filed.id
        cursor = watch.cursor
    # Another process, later: everything after the cursor first.
    later = file(tenant.id)
    client.decide_internal(request_id=filed.id, approve=False, comment="no", auth_token=world.manager)
    with admin.watch(tenant_id=tenant.id, since=cursor) as resumed:
        assert resumed.live_marker.event_id == cursor
        assert [(e.request.id, e.activity) for e in (next(resumed), next(resumed))] == [
            (later.id, "AccessRequestCreated"),
            (filed.id, "InternalDeny"),
        ]


def test_a_cursor_the_feed_does_not_keep_means_list_again(client, new_tenant):
    tenant = new_tenant("oor")
    with pytest.raises(lockbox.WatchResyncRequired) as info:
        client.watch(tenant_id=tenant.id, since=10**15, auth_token=tenant.admin)
    assert info.value.code == lockbox.StatusCode.OUT_OF_RANGE
    assert isinstance(info.value, lockbox.OutOfRange) and "list" in info.value.message
    assert info.value.cursor == 10**15


def test_a_watch_that_saw_nothing_on_an_empty_feed_asks_to_list_again():
    # An empty feed: the live marker's event id is 0, and "since 0" would mean "from now".
    def handler(connection, frame):
        if frame.header.method.endswith("/WatchAccessRequests"):
            marker = pb.AccessRequestEvent(live=True, event_id=0)
            connection.send(pb.ResponseFrame(call_id=frame.header.call_id, payload=marker.SerializeToString()))
            connection.close()  # the marker arrives first, then the end of the connection

    from support import FakeServer

    fake = FakeServer(handler)
    try:
        with lockbox.Client(fake.address, plaintext=True) as through:
            watch = through.watch(retry=lockbox.RetryPolicy(initial_backoff=0.01))
            assert watch.cursor == 0
            with pytest.raises(lockbox.WatchResyncRequired):
                next(watch)
    finally:
        fake.close()
