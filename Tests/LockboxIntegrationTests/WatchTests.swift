import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore
import LockboxTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import LockboxServer

/// WatchAccessRequests: how a tenant's approvers are notified, on any replica.
@Suite struct WatchTests {
    /// Collects a watch stream's events in the background.
    final class Watcher: Sendable {
        let events = NIOLockedValueBox([AccessRequestEvent]())
        let failure = NIOLockedValueBox<RPCError?>(nil)
        let task: Task<Void, Never>

        init(_ api: API, tenant: String = "", since: Int64 = 0, token: String) {
            let events = self.events
            let failure = self.failure
            task = Task {
                do {
                    for try await event in api.client.serverStream(
                        LockboxMethods.watchAccessRequests,
                        WatchAccessRequestsRequest(tenantID: tenant, since: since),
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

    /// The first message of a watch says it is live: from then on nothing committed is missed.
    @Test func aWatchSaysWhenItIsLive() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            let watcher = Watcher(h.api, token: w.contosoApprover)
            defer { watcher.task.cancel() }
            #expect(try await watcher.wait { !$0.isEmpty })
            let first = try #require(watcher.events.withLockedValue { $0.first })
            #expect(first.live && first.request == nil)
            // A change committed after the marker arrives, with no warm-up.
            let id = try await h.createRequest(w).id
            #expect(try await watcher.wait { events in events.contains { $0.request?.id == id } })
            #expect(watcher.events.withLockedValue { $0.filter(\.live).count } == 1)
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
            #expect(
                fabrikam.events.withLockedValue { $0 }.filter { !$0.live }.allSatisfy {
                    $0.request?.tenantID == "fabrikam"
                }
            )
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

    /// Counts the statements whose text contains `fragment`, on every connection of the server.
    final class StatementCounter: Sendable {
        let count = NIOLockedValueBox(0)
        let observer: PGStatementObserver

        init(_ fragment: String) {
            let count = self.count
            observer = PGStatementObserver { sql in if sql.contains(fragment) { count.withLockedValue { $0 += 1 } } }
        }

        var value: Int { count.withLockedValue { $0 } }
    }

    /// Forty watches and five changes: every watch hears every change, and the changes are
    /// read at most once each, not once per watch.
    @Test func eachChangeIsReadOnceForEveryWatch() async throws {
        // The batch read of a page's requests.
        let batchReads = StatementCounter("r.request_id = ANY(")
        try await Harness.with(
            watches: WatchConfiguration(maxWatchesPerPrincipal: 100),
            statements: batchReads.observer
        ) { h in
            let w = try await h.makeWorld()
            // Watches are streams: at most 16 per connection, so four connections.
            let apis = (0..<4).map { _ in API(client: RPCClient(configuration: RPCClientConfiguration(port: h.port))) }
            // Opened one after another: forty admissions at once would overflow this small
            // pool's queue, and some would be refused as overloaded.
            var watchers: [Watcher] = []
            defer { for watcher in watchers { watcher.task.cancel() } }
            for index in 0..<40 {
                let watcher = Watcher(apis[index % 4], token: w.contosoApprover)
                watchers.append(watcher)
                try await watcher.warmUp { try await h.createRequest(w).id }
            }
            let before = batchReads.value
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await h.createRequest(w).id) }
            for watcher in watchers {
                #expect(
                    try await watcher.wait { events in ids.allSatisfy { id in events.contains { $0.request?.id == id } }
                    }
                )
            }
            let reads = batchReads.value - before
            #expect(reads >= 1 && reads <= 5, "\(reads) reads for 5 changes and 40 watches")
            for api in apis { await api.client.close() }
        }
    }

    /// A principal may hold only so many watches; closing one makes room.
    @Test func aPrincipalHoldsAtMostItsLimitOfWatches() async throws {
        try await Harness.with(watches: WatchConfiguration(maxWatchesPerPrincipal: 2)) { h in
            let w = try await h.makeWorld()
            // The first on a connection of its own: closing it ends the watch on the server (a
            // client that only stops iterating leaves the server's side open until then).
            let own = API(client: RPCClient(configuration: RPCClientConfiguration(port: h.port)))
            let first = Watcher(own, token: w.contosoApprover)
            let second = Watcher(h.api, token: w.contosoApprover)
            try await first.warmUp { try await h.createRequest(w).id }
            try await second.warmUp { try await h.createRequest(w).id }
            let third = Watcher(h.api, token: w.contosoApprover)
            await third.task.value
            #expect(third.failure.withLockedValue { $0 }?.code == .resourceExhausted)
            // Another principal is not held back by this one's watches.
            let admin = Watcher(h.api, token: w.contosoAdmin)
            try await admin.warmUp { try await h.createRequest(w).id }
            first.task.cancel()
            await own.client.close()
            await first.task.value
            var reopened: Watcher?
            for _ in 0..<100 where reopened == nil {
                let attempt = Watcher(h.api, token: w.contosoApprover)
                try await Task.sleep(for: .milliseconds(50))
                if attempt.failure.withLockedValue({ $0 }) == nil {
                    reopened = attempt
                } else {
                    await attempt.task.value
                }
            }
            #expect(reopened != nil, "a closed watch makes room")
            for watcher in [second, admin] + (reopened.map { [$0] } ?? []) { watcher.task.cancel() }
        }
    }

    /// A portal's connection is cut while requests change; it resumes from the last event it
    /// saw and receives every event after it once, in order, then live ones. With a small
    /// window of recent events the missed ones come from the database instead.
    @Test(arguments: [4096, 4])
    func aWatchResumesFromItsCursorAndMissesNothing(recentEvents: Int) async throws {
        try await Harness.with(watches: WatchConfiguration(recentEvents: recentEvents, pageSize: 3)) { h in
            let w = try await h.makeWorld()
            let portal = API(client: RPCClient(configuration: RPCClientConfiguration(port: h.port)))
            let first = Watcher(portal, token: w.contosoApprover)
            try await first.warmUp { try await h.createRequest(w).id }
            let seen = first.events.withLockedValue { $0 }.filter { !$0.live }
            let cursor = try #require(seen.last?.eventID)
            #expect(seen.map(\.eventID) == seen.map(\.eventID).sorted())
            // The connection is cut.
            first.task.cancel()
            await portal.client.close()
            // Changes happen meanwhile: some of this tenant, some of another.
            var missed: [String] = []
            for index in 0..<8 {
                let id = try await h.createRequest(w, tenant: index % 3 == 2 ? "fabrikam" : "contoso").id
                if index % 3 != 2 { missed.append(id) }
                if index == 4 { try await h.approveInternally(w, missed[0]) }
            }
            let resumed = Watcher(h.api, since: cursor, token: w.contosoApprover)
            defer { resumed.task.cancel() }
            let live = try await h.createRequest(w).id
            #expect(try await resumed.wait { events in events.contains { $0.request?.id == live } })
            let events = resumed.events.withLockedValue { $0 }
            #expect(events.first?.live == true && events.first?.eventID == cursor)
            let delivered = events.filter { !$0.live }
            // In order, each once, none from before the cursor, none of the other tenant.
            #expect(delivered.map(\.eventID) == delivered.map(\.eventID).sorted())
            #expect(Set(delivered.map(\.eventID)).count == delivered.count)
            #expect(delivered.allSatisfy { $0.eventID > cursor && $0.request?.tenantID == "contoso" })
            let created = delivered.filter { $0.activity == "AccessRequestCreated" }.compactMap(\.request?.id)
            #expect(created == missed + [live])
            #expect(
                delivered.contains {
                    $0.request?.id == missed[0] && $0.activity == "InternalApprove" && $0.status == .pendingCustomer
                }
            )
        }
    }

    /// A cursor from before what the feed keeps is refused with a clear error; so is one from
    /// its future.
    @Test func aCursorTheFeedNoLongerKeepsIsRefused() async throws {
        try await Harness.with { h in
            let w = try await h.makeWorld()
            for _ in 0..<3 { _ = try await h.createRequest(w) }
            let events = EventStore()
            // The feed sequenced, dispatched, and pruned up to its end.
            var sequenced: Int64 = 0
            for _ in 0..<100 {
                sequenced = try await h.pool.withConnection { db in try events.positions(db).sequenced }
                if sequenced >= 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(sequenced >= 3)
            let removed = try await h.pool.transaction { [sequenced] db in
                try events.setDispatched(sequenced, db)
                return try events.prune(beforeMs: Harness.start + 1, limit: 1000, db)
            }
            #expect(removed >= 3)
            let stale = Watcher(h.api, since: 1, token: w.contosoApprover)
            await stale.task.value
            let failure = try #require(stale.failure.withLockedValue { $0 })
            #expect(failure.code == .outOfRange)
            #expect(failure.message.contains("list the requests again"))
            let future = Watcher(h.api, since: sequenced + 1000, token: w.contosoApprover)
            await future.task.value
            #expect(future.failure.withLockedValue { $0 }?.code == .outOfRange)
            // From the pruned position itself, the watch resumes.
            let current = Watcher(h.api, since: sequenced, token: w.contosoApprover)
            defer { current.task.cancel() }
            let id = try await h.createRequest(w).id
            #expect(try await current.wait { $0.contains { $0.request?.id == id } })
        }
    }
}
