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

        /// Waits until `condition` holds on the events, with a generous deadline.
        func wait(until condition: @escaping ([AccessRequestEvent]) -> Bool) async throws -> Bool {
            try await eventually { condition(self.events.withLockedValue { $0 }) }
        }

        /// Whether the watch said it is live, or failed: it is settled either way.
        var settled: Bool {
            events.withLockedValue { $0.contains(where: \.live) } || failure.withLockedValue { $0 } != nil
        }

        /// Waits for the live marker, then makes a change and waits to hear it.
        func warmUp(_ makeChange: () async throws -> String) async throws {
            guard try await wait(until: { $0.contains(where: \.live) }) else {
                Issue.record("the watch never said it is live: \(String(describing: failure.withLockedValue { $0 }))")
                return
            }
            let id = try await makeChange()
            #expect(try await wait { events in events.contains { $0.request?.id == id } }, "the watcher heard a change")
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
            // Watches are streams: at most 16 per connection, so four connections. All forty
            // open at once: their admissions wait for the pool's connections, none is refused.
            let apis = (0..<4).map { _ in API(client: RPCClient(configuration: RPCClientConfiguration(port: h.port))) }
            let watchers = (0..<40).map { index in Watcher(apis[index % 4], token: w.contosoApprover) }
            defer { for watcher in watchers { watcher.task.cancel() } }
            #expect(try await eventually { watchers.allSatisfy(\.settled) })
            for watcher in watchers {
                #expect(watcher.failure.withLockedValue { $0 } == nil, "every watch opened")
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

    /// Sixty watches on three principals, and changes committed by eight writers at once: each
    /// watch receives every change of its scope exactly once, in feed order, whether it read
    /// it from the shared window or (having fallen behind a window of 16) from the database.
    @Test func manyWatchersReceiveEveryConcurrentChangeOnceInOrder() async throws {
        let watches = WatchConfiguration(maxWatchesPerPrincipal: 100, recentEvents: 16, pageSize: 5)
        try await Harness.with(watches: watches) { h in
            let w = try await h.makeWorld()
            // One change before the watches open, so that their cursor (where the feed ends) is
            // a place a watch can resume from (0 would mean "from the end").
            _ = try await h.createRequest(w, tenant: "fabrikam")
            #expect(
                try await eventually {
                    try await h.pool.withConnection { db in try EventStore().positions(db).sequenced } >= 1
                }
            )
            let apis = (0..<4).map { _ in API(client: RPCClient(configuration: RPCClientConfiguration(port: h.port))) }
            // Contoso's approver and admin see Contoso's requests; the auditor sees every tenant's.
            let tokens = [w.contosoApprover, w.contosoAdmin, w.auditorToken]
            let watchers = (0..<60).map { index in Watcher(apis[index % 4], token: tokens[index % 3]) }
            defer { for watcher in watchers { watcher.task.cancel() } }
            #expect(try await eventually { watchers.allSatisfy(\.settled) })
            #expect(watchers.allSatisfy { $0.failure.withLockedValue { $0 } == nil }, "every watch opened")
            // Eight writers at once: each files eight requests (every third for Fabrikam) and
            // approves every other one internally.
            let changes = try await withThrowingTaskGroup(of: [(id: String, tenant: String, activity: String)].self) {
                group in
                for writer in 0..<8 {
                    group.addTask {
                        var made: [(id: String, tenant: String, activity: String)] = []
                        for index in 0..<8 {
                            let tenant = (writer + index) % 3 == 0 ? "fabrikam" : "contoso"
                            let id = try await h.createRequest(w, tenant: tenant).id
                            made.append((id, tenant, "AccessRequestCreated"))
                            if index % 2 == 0 {
                                try await h.approveInternally(w, id)
                                made.append((id, tenant, "InternalApprove"))
                            }
                        }
                        return made
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(changes.count == 8 * 12)
            // Three more resume from where the first watch started, after every change: the
            // window (16) no longer reaches back, so they read the database, a page at a time.
            let start = try #require(watchers[0].events.withLockedValue { $0.first(where: \.live) }?.eventID)
            #expect(start >= 1)
            let resumed = tokens.map { Watcher(h.api, since: start, token: $0) }
            defer { for watcher in resumed { watcher.task.cancel() } }
            for (index, watcher) in (watchers + resumed).enumerated() {
                let everyTenant = index % 3 == 2
                let expected = Set(
                    changes.filter { everyTenant || $0.tenant == "contoso" }.map { "\($0.id) \($0.activity)" }
                )
                func heard(_ events: [AccessRequestEvent]) -> [String] {
                    events.filter { !$0.live }.compactMap { event in event.request.map { "\($0.id) \(event.activity)" }
                    }
                    .filter { expected.contains($0) }
                }
                #expect(
                    try await watcher.wait { Set(heard($0)) == expected },
                    "watch \(index) heard every change; \(String(describing: watcher.failure.withLockedValue { $0 }))"
                )
                let events = watcher.events.withLockedValue { $0 }.filter { !$0.live }
                #expect(heard(events).count == expected.count, "watch \(index) heard each change once")
                let ids = events.map(\.eventID)
                #expect(ids == ids.sorted() && Set(ids).count == ids.count, "watch \(index) in feed order")
                if !everyTenant {
                    #expect(events.allSatisfy { $0.request?.tenantID == "contoso" }, "watch \(index) saw only Contoso")
                }
            }
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
            // The server ends the closed watch as it sees the connection go: until then, one more is refused.
            var reopened: Watcher?
            try await eventually {
                let attempt = Watcher(h.api, token: w.contosoApprover)
                _ = try await eventually { attempt.settled }
                guard attempt.failure.withLockedValue({ $0 }) == nil else { return false }
                reopened = attempt
                return true
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
            try await eventually {
                sequenced = try await h.pool.withConnection { db in try events.positions(db).sequenced }
                return sequenced >= 3
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
