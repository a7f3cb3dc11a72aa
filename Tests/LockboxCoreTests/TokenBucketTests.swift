import LockboxCore
import Testing

/// The budget rule: a burst, then one more per 1/rate seconds, never more than the burst.
@Suite struct TokenBucketTests {
    /// Takes a token at each of `times`; returns which takes succeeded.
    static func take(_ bucket: inout TokenBucket, at times: [Int64]) -> [Bool] {
        times.map { bucket.take(nowMs: $0) }
    }

    @Test func aBurstThenTheRate() {
        var bucket = TokenBucket(capacity: 3, perSecond: 2, nowMs: 0)
        #expect(Self.take(&bucket, at: [0, 0, 0, 0]) == [true, true, true, false])
        // 2 per second: one after 500 ms, not before.
        #expect(Self.take(&bucket, at: [499, 500, 500]) == [false, true, false])
        // Never more than the burst, however long it rests.
        #expect(bucket.isFull(nowMs: 100_000))
        #expect(Self.take(&bucket, at: [100_000, 100_000, 100_000, 100_000]) == [true, true, true, false])
    }

    @Test func lookingSpendsNothing() {
        var bucket = TokenBucket(capacity: 1, perSecond: 1, nowMs: 0)
        let looks = [bucket.hasToken(nowMs: 0), bucket.hasToken(nowMs: 0)]
        #expect(looks == [true, true])
        #expect(Self.take(&bucket, at: [0]) == [true])
        let after = bucket.hasToken(nowMs: 10)
        #expect(!after && !bucket.isFull(nowMs: 10))
        // Time that goes backwards gives nothing back.
        #expect(Self.take(&bucket, at: [-5_000]) == [false])
    }
}
