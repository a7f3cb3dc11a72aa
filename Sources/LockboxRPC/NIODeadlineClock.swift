import NIOCore

/// An event loop's time (`NIODeadline`) as a Swift `Clock`, so the connection state machine
/// reads the same time the loop schedules its timers on: the monotonic clock on a real loop,
/// the test's own on a testing loop.
struct NIODeadlineClock: Clock {
    /// Whose time; nil for the monotonic clock.
    var eventLoop: (any EventLoop)?

    struct Instant: InstantProtocol {
        var deadline: NIODeadline

        func advanced(by duration: Duration) -> Instant { Instant(deadline: deadline + duration.timeAmount) }

        func duration(to other: Instant) -> Duration { .nanoseconds((other.deadline - deadline).nanoseconds) }

        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.deadline < rhs.deadline }
    }

    var now: Instant { Instant(deadline: eventLoop?.now ?? .now()) }

    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let nanoseconds = (deadline.deadline - .now()).nanoseconds
        if nanoseconds > 0 { try await Task.sleep(for: .nanoseconds(nanoseconds)) }
    }
}
