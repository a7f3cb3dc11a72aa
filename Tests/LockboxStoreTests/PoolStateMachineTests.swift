import Testing

@testable import LockboxStore

/// The pool's rules, with no database: who is lent a connection, who waits, who is refused,
/// and when connecting is tried again. Waiters are names; instants are milliseconds.
@Suite struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String, Int>

    static func machine(size: Int = 4, reserved: Int = 1, maxWaiting: Int = 2) -> Machine {
        Machine(configuration: .init(size: size, reserved: reserved, maxWaiting: maxWaiting))
    }

    /// Leases `count` connections on `lane`, expecting each to be lent at once; returns their slots.
    static func lease(_ machine: inout Machine, _ count: Int, _ lane: PGLane, from id: UInt64 = 100) -> [Int] {
        (0..<count).compactMap { offset in
            guard
                case .lease(let slot) = machine.acquire(
                    id: id + UInt64(offset),
                    lane: lane,
                    waiter: "lease",
                    cancelled: false
                )
            else {
                Issue.record("expected a lease on \(lane)")
                return nil
            }
            return slot
        }
    }

    @Test func theStandardLaneLeavesTheReservedShareToCheckAccess() {
        var machine = Self.machine(size: 4, reserved: 1)
        let standard = Self.lease(&machine, 3, .standard)
        #expect(Set(standard).count == 3)
        // The fourth connection is idle, yet a standard caller waits: it is CheckAccess's.
        guard case .wait = machine.acquire(id: 1, lane: .standard, waiter: "list", cancelled: false) else {
            Issue.record("a standard caller must not take the reserved connection")
            return
        }
        guard case .lease = machine.acquire(id: 2, lane: .priority, waiter: "check", cancelled: false) else {
            Issue.record("CheckAccess takes the reserved connection")
            return
        }
        // A returned standard connection goes to the waiting standard caller.
        let next = machine.release(slot: standard[0])
        #expect(next?.waiter == "list")
        #expect(next?.slot == standard[0])
    }

    @Test func priorityMayUseEveryConnectionAndIsServedFirst() {
        var machine = Self.machine(size: 3, reserved: 1)
        let slots = Self.lease(&machine, 3, .priority)
        #expect(slots.count == 3)
        _ = machine.acquire(id: 1, lane: .standard, waiter: "list", cancelled: false)
        _ = machine.acquire(id: 2, lane: .priority, waiter: "check", cancelled: false)
        let first = machine.release(slot: slots[0])
        #expect(first?.waiter == "check", "priority first, though it came later")
        let second = machine.release(slot: slots[1])
        #expect(second?.waiter == "list")
        let third = machine.release(slot: slots[2])
        #expect(third == nil)
        #expect(machine.leasedCount == 2)
    }

    @Test func aFullQueueRefusesAtOnceAndEachLaneHasItsOwn() {
        var machine = Self.machine(size: 2, reserved: 1, maxWaiting: 2)
        _ = Self.lease(&machine, 1, .standard)
        for id: UInt64 in 1...2 {
            guard case .wait = machine.acquire(id: id, lane: .standard, waiter: "w\(id)", cancelled: false) else {
                Issue.record("\(id) waits")
                return
            }
        }
        guard case .overloaded = machine.acquire(id: 3, lane: .standard, waiter: "w3", cancelled: false) else {
            Issue.record("the third standard waiter is one too many")
            return
        }
        // The standard lane's flood does not fill the priority lane's queue.
        guard case .lease = machine.acquire(id: 4, lane: .priority, waiter: "check", cancelled: false) else {
            Issue.record("CheckAccess still gets the reserved connection")
            return
        }
        #expect(machine.waitingCount.standard == 2)
        #expect(machine.waitingCount.priority == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndIsNeverLent() {
        var machine = Self.machine(size: 2, reserved: 0)
        let slots = Self.lease(&machine, 2, .standard)
        _ = machine.acquire(id: 1, lane: .standard, waiter: "gone", cancelled: false)
        _ = machine.acquire(id: 2, lane: .standard, waiter: "stays", cancelled: false)
        let cancelled = machine.cancel(id: 1)
        #expect(cancelled == "gone")
        let again = machine.cancel(id: 1)
        #expect(again == nil, "cancelled once")
        let first = machine.release(slot: slots[0])
        #expect(first?.waiter == "stays")
        let second = machine.release(slot: slots[1])
        #expect(second == nil)
        #expect(machine.waitingCount.standard == 0)
    }

    @Test func aCallerCancelledBeforeItAsksIsRefusedAndTakesNothing() {
        var machine = Self.machine(size: 2, reserved: 0)
        guard case .cancelled = machine.acquire(id: 1, lane: .standard, waiter: "late", cancelled: true) else {
            Issue.record("a cancelled caller is refused")
            return
        }
        #expect(machine.leasedCount == 0)
        #expect(Self.lease(&machine, 2, .standard).count == 2)
    }

    @Test func shutdownRefusesEveryWaiterAndEveryLaterCaller() {
        var machine = Self.machine(size: 1, reserved: 0)
        _ = Self.lease(&machine, 1, .standard)
        _ = machine.acquire(id: 1, lane: .standard, waiter: "a", cancelled: false)
        _ = machine.acquire(id: 2, lane: .priority, waiter: "b", cancelled: false)
        let refused = machine.shutDown()
        #expect(Set(refused) == ["a", "b"])
        guard case .shutDown = machine.acquire(id: 3, lane: .priority, waiter: "c", cancelled: false) else {
            Issue.record("refused after shutdown")
            return
        }
    }

    /// After a failed connect, one caller tries again per interval; the others fail fast.
    @Test func afterAFailedConnectOthersFailFastUntilTheNextTry() {
        var machine = Self.machine()
        // (time, may connect)
        var answers: [(Int, Bool)] = []
        func ask(_ now: Int) { answers.append((now, machine.mayConnect(now: now, retryAt: now + 1_000))) }
        ask(0)
        ask(1)  // while the database answers, everyone may connect
        machine.connectFailed(retryAt: 1_000)
        ask(500)  // others fail fast
        ask(1_000)  // one probe once the interval passed
        ask(1_001)  // the others wait while it probes
        machine.connected()
        ask(1_002)
        #expect(answers.map(\.1) == [true, true, false, true, false, true])
    }
}
