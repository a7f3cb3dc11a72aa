import Testing

@testable import LockboxStore

/// A clock the pool's tests read by hand: instants are whole milliseconds.
struct MillisecondClock: Clock {
    struct Instant: InstantProtocol {
        var ms: Int64
        func advanced(by duration: Duration) -> Instant {
            let (seconds, attoseconds) = duration.components
            return Instant(ms: ms + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
        func duration(to other: Instant) -> Duration { .milliseconds(other.ms - ms) }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.ms < rhs.ms }
    }

    var now: Instant { Instant(ms: 0) }
    var minimumResolution: Duration { .milliseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {}
}

/// The pool's rules, with no database: who is lent a connection, who waits, in what order,
/// who is refused, and when connecting is tried again. Waiters are names.
@Suite struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String, MillisecondClock>

    static func machine(size: Int = 4, reserved: Int = 1, hold: Duration = .milliseconds(10)) -> Machine {
        Machine(configuration: .init(size: size, reserved: reserved, initialHoldEstimate: hold))
    }

    static func at(_ ms: Int64) -> MillisecondClock.Instant { MillisecondClock.Instant(ms: ms) }

    static func ask(
        _ machine: inout Machine,
        _ id: UInt64,
        _ lane: PGLane = .standard,
        key: String = "k",
        deadline: Int64? = nil,
        at ms: Int64 = 0,
        as waiter: String? = nil,
        cancelled: Bool = false
    ) -> Machine.AcquireAction {
        machine.acquire(
            id: id,
            lane: lane,
            key: key,
            deadline: deadline.map(at),
            waiter: waiter ?? "w\(id)",
            cancelled: cancelled,
            now: at(ms)
        )
    }

    /// Leases `count` connections on `lane`, expecting each to be lent at once; returns their slots.
    static func lease(_ machine: inout Machine, _ count: Int, _ lane: PGLane, from id: UInt64 = 100) -> [Int] {
        (0..<count).compactMap { offset in
            guard case .lease(let slot) = ask(&machine, id + UInt64(offset), lane) else {
                Issue.record("expected a lease on \(lane)")
                return nil
            }
            return slot
        }
    }

    static func release(_ machine: inout Machine, _ slot: Int, at ms: Int64 = 0, held: Duration = .milliseconds(10))
        -> String?
    {
        machine.release(slot: slot, held: held, now: at(ms))?.waiter
    }

    @Test func theStandardLaneLeavesTheReservedShareToCheckAccess() {
        var machine = Self.machine(size: 4, reserved: 1)
        let standard = Self.lease(&machine, 3, .standard)
        #expect(Set(standard).count == 3)
        // The fourth connection is idle, yet a standard caller waits: it is CheckAccess's.
        guard case .wait = Self.ask(&machine, 1, as: "list") else {
            Issue.record("a standard caller must not take the reserved connection")
            return
        }
        guard case .lease = Self.ask(&machine, 2, .priority) else {
            Issue.record("CheckAccess takes the reserved connection")
            return
        }
        // A returned standard connection goes to the waiting standard caller.
        #expect(Self.release(&machine, standard[0]) == "list")
    }

    @Test func priorityMayUseEveryConnectionAndIsServedFirst() {
        var machine = Self.machine(size: 3, reserved: 1)
        let slots = Self.lease(&machine, 3, .priority)
        #expect(slots.count == 3)
        _ = Self.ask(&machine, 1, as: "list")
        _ = Self.ask(&machine, 2, .priority, as: "check")
        #expect(Self.release(&machine, slots[0]) == "check", "priority first, though it came later")
        #expect(Self.release(&machine, slots[1]) == "list")
        #expect(Self.release(&machine, slots[2]) == nil)
        #expect(machine.leasedCount == 2)
    }

    /// No count refuses a caller: a thousand wait, each for as long as its deadline allows.
    @Test func callersWaitAsLongAsTheirDeadlineAllowsWhateverTheirNumber() {
        var machine = Self.machine(size: 2, reserved: 0, hold: .milliseconds(2))
        _ = Self.lease(&machine, 2, .standard)
        for id in UInt64(1)...1000 {
            // 1000 ahead at 2 ms each on 2 connections: about a second; the deadline is 60 s.
            guard case .wait = Self.ask(&machine, id, key: "client", deadline: 60_000) else {
                Issue.record("caller \(id) was refused though it has time")
                return
            }
        }
        #expect(machine.waitingCount.standard == 1000)
        // One whose deadline cannot be met is told at once, not at its deadline.
        guard case .overloaded(let expected) = Self.ask(&machine, 2000, key: "client", deadline: 500) else {
            Issue.record("a caller that cannot be served in time is refused now")
            return
        }
        #expect(expected >= .milliseconds(500))
        // Without a deadline, a caller always waits.
        guard case .wait = Self.ask(&machine, 2001, key: "client") else {
            Issue.record("no deadline: it waits")
            return
        }
    }

    /// Each key waits in its own queue and the queues take turns: a flood delays its own sender.
    @Test func theQueuesOfDifferentCallersTakeTurns() {
        var machine = Self.machine(size: 1, reserved: 0)
        let slot = Self.lease(&machine, 1, .standard)[0]
        for id in UInt64(1)...5 { _ = Self.ask(&machine, id, key: "flood", as: "flood\(id)") }
        _ = Self.ask(&machine, 10, key: "quiet", as: "quiet1")
        _ = Self.ask(&machine, 11, key: "other", as: "other1")
        _ = Self.ask(&machine, 12, key: "quiet", as: "quiet2")
        var order: [String] = []
        while let next = Self.release(&machine, slot) { order.append(next) }
        #expect(order == ["flood1", "quiet1", "other1", "flood2", "quiet2", "flood3", "flood4", "flood5"])
    }

    /// A quiet caller's expected wait does not count the flood's whole queue, only its turns.
    @Test func aQuietCallerBehindAFloodExpectsOnlyItsTurn() {
        var machine = Self.machine(size: 1, reserved: 0, hold: .milliseconds(10))
        _ = Self.lease(&machine, 1, .standard)
        for id in UInt64(1)...500 { _ = Self.ask(&machine, id, key: "flood") }
        #expect(machine.expectedWait(lane: .standard, key: "flood") >= .seconds(5))
        #expect(machine.expectedWait(lane: .standard, key: "quiet") <= .milliseconds(20))
        guard case .wait = Self.ask(&machine, 900, key: "quiet", deadline: 100) else {
            Issue.record("a quiet caller with 100 ms to spare is admitted behind a flood")
            return
        }
    }

    /// CoDel: queueing delay above the target for a whole interval turns each queue newest
    /// first; a caller served within the target turns it back.
    @Test func sustainedQueueingDelayServesNewestFirstUntilItPasses() {
        var machine = Self.machine(size: 1, reserved: 0)
        let slot = Self.lease(&machine, 1, .standard)[0]
        for id in UInt64(1)...6 { _ = Self.ask(&machine, id, at: 0, as: "old\(id)") }
        // Each waited 100 ms and more (the target is 50): overload after 500 ms of it.
        #expect(Self.release(&machine, slot, at: 100) == "old1")
        #expect(!machine.isOverloaded)
        #expect(Self.release(&machine, slot, at: 300) == "old2")
        #expect(Self.release(&machine, slot, at: 600) == "old3")
        #expect(machine.isOverloaded)
        _ = Self.ask(&machine, 7, at: 600, as: "new")
        #expect(Self.release(&machine, slot, at: 601) == "new", "newest first under overload")
        // Served within the target: back to oldest first.
        #expect(!machine.isOverloaded)
        #expect(Self.release(&machine, slot, at: 602) == "old4")
    }

    @Test func theHoldEstimateFollowsWhatConnectionsAreHeldFor() {
        var machine = Self.machine(size: 1, reserved: 0, hold: .milliseconds(10))
        let slot = Self.lease(&machine, 1, .standard)[0]
        for _ in 0..<30 {
            _ = Self.release(&machine, slot, held: .milliseconds(100))
            _ = Self.lease(&machine, 1, .standard)
        }
        #expect(machine.holdEstimate > .milliseconds(95) && machine.holdEstimate <= .milliseconds(100))
    }

    @Test func aCancelledWaiterLeavesTheQueueAndIsNeverLent() {
        var machine = Self.machine(size: 2, reserved: 0)
        let slots = Self.lease(&machine, 2, .standard)
        _ = Self.ask(&machine, 1, key: "a", as: "gone")
        _ = Self.ask(&machine, 2, key: "b", as: "stays")
        #expect(machine.cancel(id: 1) == "gone")
        #expect(machine.cancel(id: 1) == nil, "cancelled once")
        #expect(Self.release(&machine, slots[0]) == "stays")
        #expect(Self.release(&machine, slots[1]) == nil)
        #expect(machine.waitingCount.standard == 0)
    }

    @Test func aCallerCancelledBeforeItAsksIsRefusedAndTakesNothing() {
        var machine = Self.machine(size: 2, reserved: 0)
        guard case .cancelled = Self.ask(&machine, 1, cancelled: true) else {
            Issue.record("a cancelled caller is refused")
            return
        }
        #expect(machine.leasedCount == 0)
        #expect(Self.lease(&machine, 2, .standard).count == 2)
    }

    @Test func shutdownRefusesEveryWaiterAndEveryLaterCaller() {
        var machine = Self.machine(size: 1, reserved: 0)
        _ = Self.lease(&machine, 1, .standard)
        _ = Self.ask(&machine, 1, as: "a")
        _ = Self.ask(&machine, 2, .priority, as: "b")
        #expect(Set(machine.shutDown()) == ["a", "b"])
        guard case .shutDown = Self.ask(&machine, 3, .priority) else {
            Issue.record("refused after shutdown")
            return
        }
    }

    /// After a failed connect, one caller tries again per interval; the others fail fast.
    @Test func afterAFailedConnectOthersFailFastUntilTheNextTry() {
        var machine = Self.machine()
        var answers: [Bool] = []
        func ask(_ ms: Int64) { answers.append(machine.mayConnect(now: Self.at(ms), retryAt: Self.at(ms + 1_000))) }
        ask(0)
        ask(1)  // while the database answers, everyone may connect
        machine.connectFailed(retryAt: Self.at(1_000))
        ask(500)  // others fail fast
        ask(1_000)  // one probe once the interval passed
        ask(1_001)  // the others wait while it probes
        machine.connected()
        ask(1_002)
        #expect(answers == [true, true, false, true, false, true])
    }
}
