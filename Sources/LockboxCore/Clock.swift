import Synchronization

/// The server's notion of now. Injected, so tests can move time; never the client's clock.
public protocol LockboxClock: Sendable {
    /// Unix time in milliseconds.
    func nowMillis() -> Int64
}

/// The system's real-time clock.
public struct SystemClock: LockboxClock {
    public init() {}
    public func nowMillis() -> Int64 {
        return SystemClock.realtimeMillis()
    }
}

/// A clock that tests set and advance by hand.
public final class ManualClock: LockboxClock {
    private let millis: Mutex<Int64>

    public init(millis: Int64) { self.millis = Mutex(millis) }

    public func nowMillis() -> Int64 { millis.withLock { $0 } }
    public func advance(by duration: Duration) {
        let delta = duration.wholeMilliseconds
        millis.withLock { $0 += delta }
    }
    public func set(millis value: Int64) { millis.withLock { $0 = value } }
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
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
