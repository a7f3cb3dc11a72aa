import LockboxCore
import NIOConcurrencyHelpers

/// What one address, or one tenant, may spend on calls that fail before they are anyone's:
/// bad tokens, enrollment attempts. Past its budget a caller is refused at once, with no
/// work done at all.
package struct BudgetConfiguration: Sendable {
    /// Failed authentications one address may make at once, and how fast it may make more.
    package var unauthenticatedBurst: Double
    package var unauthenticatedPerSecond: Double
    /// Enrollment attempts per address, and per tenant, at once and per minute.
    package var enrollmentBurst: Double
    package var enrollmentPerMinute: Double

    package init(
        unauthenticatedBurst: Double = 20,
        unauthenticatedPerSecond: Double = 1,
        enrollmentBurst: Double = 10,
        enrollmentPerMinute: Double = 6
    ) {
        self.unauthenticatedBurst = unauthenticatedBurst
        self.unauthenticatedPerSecond = unauthenticatedPerSecond
        self.enrollmentBurst = enrollmentBurst
        self.enrollmentPerMinute = enrollmentPerMinute
    }
}

/// Counts of what was left unrecorded, by key (refused enrollments past the hourly limit of
/// records), until the next record takes them. Bounded: past `capacity` keys, new keys are
/// not counted (the records say so).
final class Tally: Sendable {
    private let capacity: Int
    private let counts = NIOLockedValueBox<[String: Int64]>([:])

    init(capacity: Int = 10_000) { self.capacity = capacity }

    func add(_ key: String) {
        counts.withLockedValue { counts in
            guard counts[key] != nil || counts.count < capacity else { return }
            counts[key, default: 0] += 1
        }
    }

    /// The count so far, reset.
    func take(_ key: String) -> Int64 { counts.withLockedValue { $0.removeValue(forKey: key) ?? 0 } }
}

/// Token buckets by key, bounded: when more keys are kept than `capacity`, those that are
/// full again go first (they remember nothing), then the oldest.
final class Budgets: Sendable {
    private let capacity: Int
    private let buckets = NIOLockedValueBox<[String: TokenBucket]>([:])

    init(capacity: Int = 100_000) { self.capacity = capacity }

    /// Whether `key` has budget left at `nowMs`, spending none.
    func allows(_ key: String, nowMs: Int64) -> Bool {
        buckets.withLockedValue { buckets in
            guard var bucket = buckets[key] else { return true }
            let allowed = bucket.hasToken(nowMs: nowMs)
            buckets[key] = bucket
            return allowed
        }
    }

    /// Spends one of `key`'s budget (a new key starts full); false when it had none left.
    @discardableResult
    func spend(_ key: String, capacity: Double, perSecond: Double, nowMs: Int64) -> Bool {
        buckets.withLockedValue { buckets in
            var bucket = buckets[key] ?? TokenBucket(capacity: capacity, perSecond: perSecond, nowMs: nowMs)
            let spent = bucket.take(nowMs: nowMs)
            buckets[key] = bucket
            if buckets.count > self.capacity {
                buckets = buckets.filter { !$0.value.isFull(nowMs: nowMs) }
                if buckets.count > self.capacity {
                    for stale in buckets.sorted(by: { $0.value.updatedMs < $1.value.updatedMs })
                        .prefix(buckets.count - self.capacity)
                    {
                        buckets[stale.key] = nil
                    }
                }
            }
            return spent
        }
    }
}
