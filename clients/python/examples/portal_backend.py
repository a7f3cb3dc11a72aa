#!/usr/bin/env python3
"""A customer portal's backend: the approvals inbox of one tenant.

It lists the access requests waiting for the customer's decision, approves or denies one, and
follows every change as it happens (a watch that resumes by itself after a lost connection),
keeping the inbox current without polling.

    export LOCKBOX_TOKEN=lbx_...            # a global admin's or lockbox approver's token
    export LOCKBOX_KEY_FILE=approver.key    # their own key, certified by the tenant's root to decide
    portal_backend.py --address lockbox.example.com:7443 --ca-file ca.pem --tenant contoso list
    portal_backend.py ... approve req_123 --comment "ticket SR-1001 checked"
    portal_backend.py ... deny req_123 --comment "not during the freeze"
    portal_backend.py ... watch [--max-events N]

A tenant with a root (every tenant enrolled with one) requires each decision signed by the
approver's own key: the server prepares the statement to sign, and ``client.approve`` checks it
says what the approver means, signs it with the key file and sends it (lockbox.trust). A portal
whose approvers hold passkeys instead hands ``lockbox.trust.webauthn_challenge(statement)`` to the
browser and relays its assertion (``SignedBytes.from_browser``) as ``signed_decision``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Optional

import lockbox
from lockbox import pb


class ApprovalsInbox:
    """The requests of one tenant that await its decision, kept current by a watch.

    The client may be shared by many users' inboxes: pass ``client.with_token(user_token)``.
    """

    def __init__(self, client: lockbox.Client, tenant_id: str = "", key: Optional[lockbox.TenantSigner] = None):
        self.client = client
        self.tenant_id = tenant_id  # "" is the caller's own tenant
        self.key = key  # the approver's key; None on a tenant that does not require signed decisions
        self.pending: Dict[str, pb.AccessRequest] = {}

    def refresh(self) -> List[pb.AccessRequest]:
        """Lists every request awaiting the customer (all pages), newest first."""
        self.pending = {
            request.id: request
            for request in self.client.list_access_requests(tenant_id=self.tenant_id, status="pending_customer")
        }
        return list(self.pending.values())

    def approve(self, request_id: str, comment: str = "", duration_seconds: int = 0) -> pb.AccessRequest:
        """Approves, optionally for less time than requested (never more), signed with the
        approver's key when there is one."""
        decided = self.client.decide_customer(
            request_id=request_id, decision="approve", comment=comment, approved_duration_seconds=duration_seconds,
            signer=self.key,
        )
        self.pending.pop(request_id, None)
        return decided

    def deny(self, request_id: str, comment: str) -> pb.AccessRequest:
        decided = self.client.decide_customer(request_id=request_id, decision="deny", comment=comment,
                                              signer=self.key)
        self.pending.pop(request_id, None)
        return decided

    def apply(self, event: pb.AccessRequestEvent) -> None:
        """Updates the inbox with one change."""
        if event.status == pb.REQUEST_STATUS_PENDING_CUSTOMER:
            self.pending[event.request.id] = event.request
        else:
            self.pending.pop(event.request.id, None)

    def follow(
        self,
        on_change: Callable[[pb.AccessRequestEvent], None],
        *,
        on_live: Optional[Callable[[int], None]] = None,
        max_events: Optional[int] = None,
    ) -> int:
        """Keeps the inbox current: subscribe, list, then apply every change after the
        subscription. A watch resumes by itself after a lost connection; when it cannot (its
        cursor is no longer kept), list again and watch anew. Returns the last event id."""
        seen = 0
        while True:
            try:
                with self.client.watch(tenant_id=self.tenant_id) as watch:
                    self.refresh()  # after the live marker: nothing is missed
                    if on_live is not None:
                        on_live(watch.cursor)
                    for event in watch:
                        self.apply(event)
                        on_change(event)
                        seen += 1
                        if max_events is not None and seen >= max_events:
                            return watch.cursor
            except lockbox.WatchResyncRequired:
                continue  # list again, watch anew


def describe(request: pb.AccessRequest) -> str:
    minutes = request.requested_duration_seconds // 60
    return "%s  %-10s %-9s %4d min  %s: %s" % (
        request.id,
        pb.Service.Name(request.service).replace("SERVICE_", "").lower(),
        request.ticket_number,
        minutes,
        request.requester_id,
        request.justification,
    )


def connect(arguments) -> lockbox.Client:
    token = os.environ.get("LOCKBOX_TOKEN", "")
    if not token:
        sys.exit("set LOCKBOX_TOKEN to a global admin's or lockbox approver's token")
    return lockbox.Client(arguments.address, token=token, plaintext=arguments.plaintext, ca_file=arguments.ca_file)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default=os.environ.get("LOCKBOX_ADDRESS", "127.0.0.1:7443"))
    parser.add_argument("--ca-file", default=os.environ.get("LOCKBOX_CA_FILE"))
    parser.add_argument("--plaintext", action="store_true", help="no TLS (a lockboxd on loopback with --plaintext)")
    parser.add_argument("--tenant", default="", help="the tenant (default: the token's own)")
    parser.add_argument("--key-file", default=os.environ.get("LOCKBOX_KEY_FILE"),
                        help="your key file, to sign decisions (env LOCKBOX_KEY_FILE)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the requests awaiting a decision")
    for name in ("approve", "deny"):
        command = commands.add_parser(name)
        command.add_argument("request_id")
        command.add_argument("--comment", default="")
    watch = commands.add_parser("watch", help="follow changes (prints 'live CURSOR' once subscribed)")
    watch.add_argument("--max-events", type=int)
    arguments = parser.parse_args(argv)

    with connect(arguments) as client:
        key = lockbox.TenantSigner.load(arguments.key_file) if arguments.key_file else None
        inbox = ApprovalsInbox(client, arguments.tenant, key)
        try:
            if arguments.command == "list":
                pending = inbox.refresh()
                for request in pending:
                    print(describe(request))
                print("%d awaiting your decision" % len(pending))
            elif arguments.command == "approve":
                decided = inbox.approve(arguments.request_id, arguments.comment)
                ends = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(decided.grant.ends_at_ms / 1000))
                print("approved %s: access until %s" % (decided.id, ends))
            elif arguments.command == "deny":
                decided = inbox.deny(arguments.request_id, arguments.comment)
                print("denied %s" % decided.id)
            else:
                def on_live(cursor):
                    print("live %d (%d awaiting)" % (cursor, len(inbox.pending)), flush=True)

                def on_change(event):
                    print("event %d %s %s %s (%d awaiting)" % (
                        event.event_id, event.activity, event.request.id,
                        pb.RequestStatus.Name(event.status).replace("REQUEST_STATUS_", ""), len(inbox.pending),
                    ), flush=True)

                inbox.follow(on_change, on_live=on_live, max_events=arguments.max_events)
        except lockbox.LockboxError as error:
            print("error: %s" % error, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
