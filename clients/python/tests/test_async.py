"""The asyncio client against a real lockboxd: the same surface as the blocking one."""

from __future__ import annotations

import asyncio
import json

import pytest

import lockbox
from lockbox import StatusCode, pb

from support import WAIT, TCPProxy


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, WAIT * 2))


async def wait_until(condition, what, timeout=WAIT):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.02)


def test_async_calls_pages_and_errors(server, world, new_tenant, file):
    tenant = new_tenant("aio")
    filed = [file(tenant.id) for _ in range(3)]

    async def main():
        async with lockbox.AsyncClient(server.address, plaintext=True, token=tenant.admin) as client:
            assert (await client.ping()).version
            # Many calls at once, on one connection.
            settings = await asyncio.gather(*[client.get_tenant_settings(tenant_id=tenant.id) for _ in range(100)])
            assert {s.tenant_id for s in settings} == {tenant.id}
            assert client.stats.connections_opened == 1
            pager = await client.list_access_requests(tenant_id=tenant.id, page_size=2)
            assert len(pager.requests) == 2 and pager.next_page_token
            assert sorted([r.id async for r in pager]) == sorted(r.id for r in filed)
            assert len([p async for p in pager.pages()]) == 2
            with pytest.raises(lockbox.NotFound) as info:
                await client.get_access_request(request_id="req_missing")
            assert info.value.code == StatusCode.NOT_FOUND
            operator = client.with_token(world.operator)
            with pytest.raises(lockbox.PermissionDenied):
                await operator.decide_customer(request_id=filed[0].id, decision="approve")
            created = await operator.create_access_request(tenant_id=tenant.id, service=pb.SERVICE_TEAMS,
                                                           ticket_number="SR-9", justification="calls drop",
                                                           requested_duration_seconds=600)
            assert created.service == pb.SERVICE_TEAMS

    run(main())


def test_async_stream_cancel_and_export(server, world, database, new_tenant, tmp_path):
    tenant = new_tenant("aex")
    from test_connection import fill_audit

    fill_audit(database, tenant.id, 5_000)

    async def main():
        async with lockbox.AsyncClient(server.address, plaintext=True, token=tenant.admin) as client:
            async with client.export_audit(tenant_id=tenant.id) as stream:
                async for chunk in stream:
                    assert chunk.data
                    break
            assert (await stream.wait_status(WAIT)).code == StatusCode.CANCELLED
            assert client.stats.cancels_sent == 1
            progress = []
            result = await client.export_audit_to_file(tmp_path / "a.ndjson", tenant_id=tenant.id,
                                                       progress=progress.append)
            assert result.lines >= 5_000 and progress[-1].lines == result.lines
            with pytest.raises(lockbox.DeadlineExceeded):
                async for _ in client.watch_access_requests(tenant_id=tenant.id, timeout=0.5):
                    pass
            assert client.stats.connections_opened == 1

    run(main())
    lines = (tmp_path / "a.ndjson").read_text().splitlines()
    assert sum(json.loads(line)["activity"] == "Get-Mailbox" for line in lines) == 5_000


def test_async_watch_resumes_across_a_dropped_connection(server, world, client, new_tenant, file):
    tenant = new_tenant("awr")
    proxy = TCPProxy("127.0.0.1", server.port)

    async def main():
        policy = lockbox.RetryPolicy(max_attempts=None, initial_backoff=0.05, max_backoff=0.5)
        async with lockbox.AsyncClient(proxy.address, plaintext=True, token=tenant.admin) as through:
            async with await through.watch(tenant_id=tenant.id, retry=policy) as watch:
                events = []

                async def collect():
                    async for event in watch:
                        events.append(event)

                task = asyncio.get_running_loop().create_task(collect())
                first = await asyncio.to_thread(file, tenant.id)
                await wait_until(lambda: len(events) == 1, "the first event")
                proxy.refuse(True)
                assert proxy.cut() == 1
                await wait_until(lambda: proxy.refused >= 1, "an attempt to reconnect")
                second = await asyncio.to_thread(file, tenant.id)
                await asyncio.to_thread(client.decide_internal, request_id=second.id, approve=True,
                                        auth_token=world.manager)
                proxy.refuse(False)
                await wait_until(lambda: len(events) == 3, "the events committed while disconnected")
                assert [(e.request.id, e.activity) for e in events] == [
                    (first.id, "AccessRequestCreated"),
                    (second.id, "AccessRequestCreated"),
                    (second.id, "InternalApprove"),
                ]
                assert [e.event_id for e in events] == sorted({e.event_id for e in events})
                assert watch.reconnects == 1
                watch.close()
                await asyncio.wait_for(task, WAIT)

    try:
        run(main())
    finally:
        proxy.close()
