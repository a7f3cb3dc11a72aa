/// A token bucket: up to `capacity` at once, refilled at `perSecond`. A budget that a client
/// spends and time gives back; pure, with the time coming in.
package struct TokenBucket: Sendable, Hashable {
    package let capacity: Double
    package let perSecond: Double
    package private(set) var tokens: Double
    package private(set) var updatedMs: Int64

    package init(capacity: Double, perSecond: Double, nowMs: Int64) {
        precondition(capacity >= 1 && perSecond > 0)
        self.capacity = capacity
        self.perSecond = perSecond
        tokens = capacity
        updatedMs = nowMs
    }

    private mutating func refill(nowMs: Int64) {
        guard nowMs > updatedMs else { return }
        tokens = min(capacity, tokens + Double(nowMs - updatedMs) / 1000 * perSecond)
        updatedMs = nowMs
    }

    /// Whether one token is left at `nowMs` (spending none).
    package mutating func hasToken(nowMs: Int64) -> Bool {
        refill(nowMs: nowMs)
        return tokens >= 1
    }

    /// Spends one token; false when there was none.
    @discardableResult
    package mutating func take(nowMs: Int64) -> Bool {
        refill(nowMs: nowMs)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether it is full again at `nowMs`: nothing spent that time has not given back.
    package func isFull(nowMs: Int64) -> Bool {
        tokens + Double(max(0, nowMs - updatedMs)) / 1000 * perSecond >= capacity
    }
}
