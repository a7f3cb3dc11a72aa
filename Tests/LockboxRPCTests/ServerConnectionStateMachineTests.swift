import Testing

@testable import LockboxRPC

/// A clock the tests read by hand: instants are whole milliseconds since an arbitrary start.
struct TestClock: Clock {
    struct Instant: InstantProtocol {
        var ms: Int64
        func advanced(by duration: Duration) -> Instant {
            Instant(
                ms: ms + duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            )
        }
        func duration(to other: Instant) -> Duration { .milliseconds(other.ms - ms) }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.ms < rhs.ms }
    }

    var now: Instant { Instant(ms: 0) }
    var minimumResolution: Duration { .milliseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {}
}

/// The connection state machine's rules, row by row, with no sockets and no NIO: calls and
/// their slots, deadlines, the idle, frame-read and grace timers, and shutdown.
@Suite struct ServerConnectionStateMachineTests {
    typealias Machine = ServerConnectionStateMachine<String, String, TestClock>

    static func machine(
        maxConcurrentCalls: Int = 2,
        maxStreamingCalls: Int = 16,
        idle: Duration = .seconds(300),
        frameRead: Duration = .seconds(10),
        grace: Duration = .seconds(10)
    ) -> Machine {
        Machine(
            configuration: .init(
                maxConcurrentCalls: maxConcurrentCalls,
                maxStreamingCalls: maxStreamingCalls,
                idleTimeout: idle,
                frameReadTimeout: frameRead,
                gracePeriod: grace
            )
        )
    }

    static func at(_ ms: Int64) -> TestClock.Instant { TestClock.Instant(ms: ms) }

    func receive(
        _ machine: inout Machine,
        _ id: UInt64,
        timeout: Duration? = nil,
        streaming: Bool = false,
        at ms: Int64 = 0
    ) -> Machine.ReceiveAction {
        machine.received(
            id: id,
            method: "m\(id)",
            call: "c\(id)",
            timeout: timeout,
            streaming: streaming,
            now: Self.at(ms)
        )
    }

    @Test func streamingCallsOverTheCapAreRefusedAndTheirSlotsReturn() {
        var machine = Self.machine(maxConcurrentCalls: 10, maxStreamingCalls: 2)
        guard case .start = receive(&machine, 1, streaming: true) else { Issue.record("1 starts"); return }
        guard case .start = receive(&machine, 2, streaming: true) else { Issue.record("2 starts"); return }
        guard case .rejectTooManyStreams = receive(&machine, 3, streaming: true) else {
            Issue.record("3 is one stream too many")
            return
        }
        // Unary calls are not streams, and a finished stream frees its place.
        guard case .start = receive(&machine, 4) else { Issue.record("a unary call starts"); return }
        _ = machine.finished(id: 1, now: Self.at(1))
        guard case .start = receive(&machine, 5, streaming: true) else { Issue.record("5 takes 1's place"); return }
    }

    @Test func aClientThatDoesNotReadStopsTheServerReading() {
        var machine = Self.machine()
        #expect(machine.mayRead)
        machine.writabilityChanged(writable: false, now: Self.at(0))
        #expect(!machine.mayRead)
        machine.writabilityChanged(writable: true, now: Self.at(5))
        #expect(machine.mayRead)
    }

    /// The frame timer counts only time the server waits for the client: not while calls
    /// wait for a slot, nor while the client does not read its responses.
    @Test(arguments: ["calls wait", "writes blocked"])
    func theFrameTimerPausesWhileTheServerItselfDoesNotRead(cause: String) {
        var machine = Self.machine(maxConcurrentCalls: 1, frameRead: .seconds(10))
        func pause(at ms: Int64) {
            if cause == "calls wait" {
                _ = receive(&machine, 1, at: ms)
                _ = receive(&machine, 2, at: ms)
            } else {
                machine.writabilityChanged(writable: false, now: Self.at(ms))
            }
        }
        func resume(at ms: Int64) {
            if cause == "calls wait" {
                let first = machine.finished(id: 1, now: Self.at(ms))
                #expect(first.start.map(\.id) == [2])
                _ = machine.finished(id: 2, now: Self.at(ms))
            } else {
                machine.writabilityChanged(writable: true, now: Self.at(ms))
            }
        }
        machine.frameStarted(now: Self.at(0))
        #expect(machine.nextWakeup == Self.at(10_000))
        // 4 s of the client's time, then the server stops reading for a minute.
        pause(at: 4_000)
        #expect(machine.timerFired(now: Self.at(30_000)).close == nil)
        resume(at: 64_000)
        // 6 s of the budget are left, from when reading resumed.
        #expect(machine.nextWakeup == Self.at(70_000))
        #expect(machine.timerFired(now: Self.at(69_999)).close == nil)
        #expect(machine.timerFired(now: Self.at(70_000)).close == .frameReadTimeout)
    }

    @Test func aFrameThatStartsWhileReadingIsPausedGetsItsWholeBudgetOnResume() {
        var machine = Self.machine(frameRead: .seconds(10))
        machine.writabilityChanged(writable: false, now: Self.at(0))
        machine.frameStarted(now: Self.at(1_000))
        #expect(machine.nextWakeup != Self.at(11_000))
        machine.writabilityChanged(writable: true, now: Self.at(50_000))
        #expect(machine.nextWakeup == Self.at(60_000))
    }

    @Test func startsUpToTheLimitThenQueuesAndStopsReading() {
        var machine = Self.machine()
        guard case .start("c1") = receive(&machine, 1) else { Issue.record("1 should start"); return }
        guard case .start("c2") = receive(&machine, 2) else { Issue.record("2 should start"); return }
        guard case .enqueued = receive(&machine, 3) else { Issue.record("3 should wait"); return }
        #expect(!machine.mayRead)
        let finished = machine.finished(id: 1, now: Self.at(10))
        #expect(finished.respond)
        #expect(finished.method == "m1")
        #expect(finished.start.map(\.call) == ["c3"])
        #expect(finished.start.map(\.id) == [3])
        #expect(!finished.close)
        #expect(machine.mayRead)
    }

    @Test func duplicateCallIDsAreRejectedWhetherRunningOrWaiting() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        _ = receive(&machine, 1)
        guard case .rejectDuplicate = receive(&machine, 1) else { Issue.record("running duplicate"); return }
        _ = receive(&machine, 2)
        guard case .rejectDuplicate = receive(&machine, 2) else { Issue.record("waiting duplicate"); return }
    }

    @Test func aRunningCallPastItsDeadlineIsAnsweredOnceAndKeepsItsSlotUntilItsWorkReturns() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        _ = receive(&machine, 1, timeout: .milliseconds(100))
        machine.attach("task1", to: 1)
        guard case .enqueued = receive(&machine, 2, at: 50) else { Issue.record("2 waits"); return }
        #expect(machine.nextWakeup == Self.at(100))

        #expect(machine.timerFired(now: Self.at(99)).expired.isEmpty, "not yet")
        let fired = machine.timerFired(now: Self.at(100))
        #expect(fired.expired.map(\.id) == [1])
        #expect(fired.expired.first?.handle == "task1", "its task is cancelled")
        #expect(fired.close == nil)
        #expect(!machine.isRunning(1), "no more stream messages")
        #expect(machine.timerFired(now: Self.at(200)).expired.isEmpty, "answered once")

        // The cancelled work returns later: no second answer, and the waiting call starts only now.
        let finished = machine.finished(id: 1, now: Self.at(250))
        #expect(!finished.respond)
        #expect(finished.start.map(\.id) == [2])
    }

    @Test func aWaitingCallPastItsDeadlineIsAnsweredAndNeverStarts() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        _ = receive(&machine, 1)
        _ = receive(&machine, 2, timeout: .milliseconds(100))
        _ = receive(&machine, 3)
        let fired = machine.timerFired(now: Self.at(100))
        #expect(fired.expired.map(\.id) == [2])
        #expect(fired.expired.first?.handle == nil)
        let finished = machine.finished(id: 1, now: Self.at(150))
        #expect(finished.start.map(\.id) == [3], "the expired call is skipped")
        #expect(machine.mayRead)
    }

    @Test func theIdleTimerRunsOnlyWhileNoCallIs() {
        var machine = Self.machine(idle: .seconds(5))
        machine.activated(now: Self.at(0))
        #expect(machine.nextWakeup == Self.at(5000))
        _ = receive(&machine, 1, at: 1000)
        #expect(machine.nextWakeup == nil, "a call is running")
        #expect(machine.timerFired(now: Self.at(5000)).close == nil)
        _ = machine.finished(id: 1, now: Self.at(2000))
        #expect(machine.nextWakeup == Self.at(7000), "idle again from the end of the call")
        #expect(machine.timerFired(now: Self.at(6999)).close == nil)
        #expect(machine.timerFired(now: Self.at(7000)).close == .idle)
    }

    @Test func aFrameThatStartedMustFinishInTime() {
        var machine = Self.machine(frameRead: .milliseconds(300))
        machine.activated(now: Self.at(0))
        machine.frameStarted(now: Self.at(10))
        #expect(machine.nextWakeup == Self.at(310))
        #expect(machine.timerFired(now: Self.at(309)).close == nil)
        #expect(machine.timerFired(now: Self.at(310)).close == .frameReadTimeout)

        var finishing = Self.machine(frameRead: .milliseconds(300))
        finishing.frameStarted(now: Self.at(10))
        finishing.frameCompleted()
        #expect(finishing.timerFired(now: Self.at(400)).close == nil)
    }

    @Test func quiesceWhenIdleClosesNow() {
        var machine = Self.machine()
        #expect(machine.quiesce(now: Self.at(0)) == .goAway(closeNow: true))
        #expect(machine.state == .closed)
        #expect(machine.quiesce(now: Self.at(1)) == .none)
        guard case .rejectClosed = receive(&machine, 1) else { Issue.record("closed"); return }
    }

    @Test func quiesceDrainsRunningAndWaitingCallsThenCloses() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        _ = receive(&machine, 1)
        _ = receive(&machine, 2)
        #expect(machine.quiesce(now: Self.at(0)) == .goAway(closeNow: false))
        guard case .rejectDraining = receive(&machine, 3) else { Issue.record("late call"); return }
        let first = machine.finished(id: 1, now: Self.at(10))
        #expect(first.start.map(\.id) == [2])
        #expect(!first.close)
        let second = machine.finished(id: 2, now: Self.at(20))
        #expect(second.close)
        #expect(machine.state == .closed)
    }

    @Test func callsStillRunningWhenTheGracePeriodEndsAreCutOff() {
        var machine = Self.machine(grace: .milliseconds(200))
        _ = receive(&machine, 1)
        machine.attach("task1", to: 1)
        #expect(machine.quiesce(now: Self.at(0)) == .goAway(closeNow: false))
        #expect(machine.nextWakeup == Self.at(200))
        #expect(machine.timerFired(now: Self.at(200)).close == .gracePeriodOver)
        #expect(machine.closed() == ["task1"], "their tasks are cancelled")
        #expect(machine.isIdle)
    }

    @Test func finishingAnUnknownCallDoesNothing() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        let action = machine.finished(id: 42, now: Self.at(0))
        #expect(!action.respond && action.start.isEmpty && !action.close)
        #expect(machine.isIdle)
    }

    @Test func aReadAskedForWhileCallsWaitIsHeldUntilTheyStart() {
        var machine = Self.machine(maxConcurrentCalls: 1)
        let idle = machine.readRequested()
        #expect(idle, "nothing waits: read")
        _ = receive(&machine, 1)
        guard case .enqueued = receive(&machine, 2) else {
            Issue.record("2 waits")
            return
        }
        let held = machine.readRequested()
        let early = machine.releaseHeldRead()
        #expect(!held && !early, "a call waits: the read is held")
        _ = machine.finished(id: 1, now: Self.at(1))
        let released = machine.releaseHeldRead()
        let again = machine.releaseHeldRead()
        #expect(released && !again, "the slot freed: the held read goes, once")
    }

    @Test func responsesDuringAReadAreFlushedOnceAtItsEnd() {
        var machine = Self.machine()
        let outside = machine.responseWritten()
        machine.readBegan()
        let first = machine.responseWritten()
        let second = machine.responseWritten()
        let atEnd = machine.readEnded()
        #expect(outside && !first && !second && atEnd, "outside a read at once; inside it, once at its end")
        machine.readBegan()
        let nothing = machine.readEnded()
        #expect(!nothing, "nothing written: nothing to flush")
    }

    @Test func aBacklogPastTheCapCutsTheConnectionOffOnce() {
        var machine = Machine(
            configuration: .init(
                maxConcurrentCalls: 2,
                idleTimeout: .seconds(300),
                frameReadTimeout: .seconds(10),
                gracePeriod: .seconds(10),
                maxOutboundBytes: 1000
            )
        )
        let atCap = machine.outboundBacklog(1000)
        let over = machine.outboundBacklog(1001)
        let again = machine.outboundBacklog(5000)
        #expect(!atCap && over && !again && machine.isCutOff)
    }
}
