import LockboxProto
import Metrics

/// The RPC layer's metrics, through swift-metrics (whatever backend the process bootstrapped;
/// lockboxd exports them for Prometheus).
enum RPCMetrics {
    /// Calls finished, by method and status code.
    static func calls(method: String, status: StatusCode) -> Counter {
        Counter(label: "lockbox_rpc_calls_total", dimensions: [("method", method), ("status", "\(status)")])
    }

    /// From the frame's arrival to its answer, by method.
    static func duration(method: String) -> Metrics.Timer {
        Metrics.Timer(
            label: "lockbox_rpc_call_duration_seconds",
            dimensions: [("method", method)],
            preferredDisplayUnit: .seconds
        )
    }

    /// Calls running now, server-wide.
    static let inFlight = Meter(label: "lockbox_rpc_calls_in_flight")

    /// Connections open now.
    static let connections = Meter(label: "lockbox_rpc_connections")

    /// Connections refused because the server's limit was reached.
    static let refusedConnections = Counter(label: "lockbox_rpc_connections_refused_total")
}
