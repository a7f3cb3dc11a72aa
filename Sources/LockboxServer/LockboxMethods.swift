import LockboxProto
import LockboxRPC
import Logging

/// The method names of `service Lockbox` in proto/lockbox.proto.
public enum LockboxMethod {
    public static let prefix = "lockbox.v1.Lockbox/"
    public static let ping = prefix + "Ping"
}

/// Builds the router that serves the Lockbox API.
public enum LockboxRouter {
    public static func make(clock: @escaping @Sendable () -> Int64 = wallClockMillis) -> RPCRouter {
        var router = RPCRouter()
        router.registerUnary(LockboxMethod.ping, PingRequest.self, PingResponse.self) { _, _ in
            PingResponse(version: LockboxVersion.current, serverTimeMs: clock())
        }
        return router
    }

    /// Unix time in milliseconds from the system's real-time clock.
    @Sendable public static func wallClockMillis() -> Int64 { unixMillis() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func unixMillis() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}
