import Metrics

/// Every counter lockboxd exports, with every value of its labels: registered at start, so
/// that each is exported at 0 before its first event (an alert on a rate then has a series
/// to watch). README.md's metrics table lists the same.
enum MetricCatalog {
    static let counters: [(label: String, dimensions: [[(String, String)]])] = [
        ("lockbox_rpc_connections_refused_total", [[]]),
        (
            "lockbox_auth_refused_total",
            ["not_ours", "unknown", "address_budget", "enrollment_budget"].map { [("reason", $0)] }
        ),
        ("lockbox_db_pool_refused_total", ["primary", "system", "read"].map { [("pool", $0)] }),
        ("lockbox_sweeper_runs_total", [[]]),
        ("lockbox_sweeper_moved_total", [[]]),
        ("lockbox_sweeper_failures_total", [[]]),
        ("lockbox_audit_sealed_total", [[]]),
        ("lockbox_audit_seal_failures_total", [[]]),
        ("lockbox_audit_forged_checkpoints_total", [[]]),
        ("lockbox_notifications_sent_total", ["email", "webhook"].map { [("channel", $0)] }),
        ("lockbox_notifications_failed_total", ["email", "webhook"].map { [("channel", $0)] }),
        ("lockbox_notification_failures_total", [[]]),
    ]

    /// Creates each counter, at 0.
    static func register() {
        for counter in counters {
            for dimensions in counter.dimensions {
                Counter(label: counter.label, dimensions: dimensions).increment(by: 0)
            }
        }
    }
}
