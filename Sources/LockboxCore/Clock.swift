import Synchronization

/// The server's notion of now. Injected, so tests can move time; never the client's clock.
package protocol LockboxClock: Sendable {
    /// Unix time in milliseconds.
    func nowMillis() -> Int64
}

/// The system's real-time clock.
package struct SystemClock: LockboxClock {
    package init() {}
    package func nowMillis() -> Int64 {
        return SystemClock.realtimeMillis()
    }
}

/// A clock that tests set and advance by hand.
package final class ManualClock: LockboxClock {
    private let millis: Mutex<Int64>

    package init(millis: Int64) { self.millis = Mutex(millis) }

    package func nowMillis() -> Int64 { millis.withLock { $0 } }
    package func advance(by duration: Duration) {
        let delta = duration.wholeMilliseconds
        millis.withLock { $0 += delta }
    }
    package func set(millis value: Int64) { millis.withLock { $0 = value } }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension SystemClock {
    static func realtimeMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded toward zero.
    package var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
