import LockboxProto
import LockboxRPC
import LockboxServer
import NIOConcurrencyHelpers
import LockboxTestSupport
import Testing

/// WatchAccessRequests: how a tenant's approvers are notified, on any replica.
@Suite struct WatchTests {
    /// Collects a watch stream's events in the background.
    final class Watcher: Sendable {
        let events = NIOLockedValueBox([AccessRequestEvent]())
        let failure = NIOLockedValueBox<RPCError?>(nil)
        let task: Task<Void, Never>

        init(_ api: API, tenant: String = "", token: String) {
            let events = self.events
            let failure = self.failure
            task = Task {
                do {
                    for try await event in api.client.serverStream(
                        LockboxMethods.watchAccessRequests,
                        WatchAccessRequestsRequest(tenantID: tenant),
                        options: CallOptions(timeout: nil, authToken: token)
                    ) {
                        events.withLockedValue { $0.append(event) }
                    }
                } catch let error as RPCError {
                    failure.withLockedValue { $0 = error }
                } catch {}
            }
        }

        func about(_ id: String) -> [AccessRequestEvent] {
            events.withLockedValue { $0.filter { $0.request?.id == id } }
        }

        /// Waits until `condition` holds on the events, for up to 10 seconds.
        func wait(until condition: ([AccessRequestEvent]) -> Bool) async throws -> Bool {
            for _ in 0..<200 {
                if condition(events.withLockedValue { $0 }) { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        /// Makes changes until the watcher hears one: the subscription is then surely in place.
        func warmUp(_ makeChange: () async throws -> String) async throws {
            for _ in 0..<20 {
                let id = try await makeChange()
                for _ in 0..<20 {
                    if !about(id).isEmpty { return }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            Issue.record("the watcher never heard a change")
        }
    }

    @Test func approversHearOfTheirTenantsRequestsOnly() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let contoso = Watcher(h.api, token: w.contosoApprover)
            let fabrikam = Watcher(h.api, token: w.fabrikamApprover)
            defer {
                contoso.task.cancel()
                fabrikam.task.cancel()
            }
            try await contoso.warmUp { try await h.createRequest(w, tenant: "contoso").id }
            try await fabrikam.warmUp { try await h.createRequest(w, tenant: "fabrikam").id }

            let id = try await h.createRequest(w, tenant: "contoso").id
            try await h.approveInternally(w, id)
            #expect(try await contoso.wait { events in events.filter { $0.request?.id == id }.count >= 2 })
            let heard = contoso.about(id)
            #expect(heard.map(\.activity) == ["AccessRequestCreated", "InternalApprove"])
            #expect(heard.last?.request?.status == .pendingCustomer)
            #expect(heard.last?.request?.customerDeadlineMs == Harness.start + 12 * 3600 * 1000)
            // The other tenant's approver heard nothing of it.
            let other = try await h.createRequest(w, tenant: "fabrikam").id
            #expect(try await fabrikam.wait { events in events.contains { $0.request?.id == other } })
            #expect(fabrikam.about(id).isEmpty)
            #expect(fabrikam.events.withLockedValue { $0 }.allSatisfy { $0.request?.tenantID == "fabrikam" })
        }
    }

    @Test func aWatchOnOneReplicaHearsDecisionsOnAnother() async throws {
        let database = try await TestDatabase.create()
        try await Harness.with(database: database) { first in
            let w = try await first.makeWorld()
            try await Harness.with(database: database) { second in
                let watcher = Watcher(first.api, token: w.contosoApprover)
                defer { watcher.task.cancel() }
                try await watcher.warmUp { try await second.createRequest(w).id }
                let id = try await second.createRequest(w).id
                try await second.approveInternally(w, id)
                #expect(
                    try await watcher.wait { events in
                        events.contains { $0.request?.id == id && $0.activity == "InternalApprove" }
                    }
                )
            }
        }
    }

    @Test func anOperatorHearsOnlyOfOwnRequests() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let watcher = Watcher(h.api, token: w.operatorToken)
            defer { watcher.task.cancel() }
            try await watcher.warmUp { try await h.createRequest(w).id }
            let theirs = try await h.createRequest(w, token: w.operator2Token).id
            let mine = try await h.createRequest(w).id
            #expect(try await watcher.wait { events in events.contains { $0.request?.id == mine } })
            #expect(watcher.about(theirs).isEmpty)
        }
    }

    @Test func aRemovedRoleEndsTheWatch() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let watcher = Watcher(h.api, token: w.contosoApprover)
            defer { watcher.task.cancel() }
            try await watcher.warmUp { try await h.createRequest(w).id }
            _ = try await h.call(
                LockboxMethods.removeRole,
                RoleAssignment(principalID: w.contosoApproverID, role: .lockboxApprover, tenantID: "contoso"),
                token: w.contosoAdmin
            )
            _ = try await h.createRequest(w)
            await watcher.task.value
            #expect(watcher.failure.withLockedValue { $0 }?.code == .permissionDenied)
        }
    }
}
