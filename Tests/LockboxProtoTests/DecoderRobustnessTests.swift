import LockboxProto
import Testing

import CHeapStats

@Suite struct DecoderRobustnessTests {
    /// A small deterministic generator, so a failure can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomBytesNeverCrash() throws {
        var rng = SplitMix64(state: 0x10C_B0C5)
        var failures = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...96, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for decode in decoders {
                if !decode(bytes) { failures += 1 }
            }
        }
        // Most random strings are not valid protobuf; all of them returned instead of crashing.
        #expect(failures > 20_000)
    }

    @Test("every truncation of a valid encoding decodes or fails cleanly", arguments: Samples.all.indices)
    func truncations(index: Int) throws {
        let bytes = Samples.all[index].encode()
        for length in 0..<bytes.count {
            _ = decodeAny(Samples.all[index], Array(bytes.prefix(length)))
        }
    }

    @Test func truncatedMidFieldIsAnError() throws {
        let bytes = Samples.accessRequest.encode()
        // The last field is a 10-byte varint: cutting it leaves an unterminated varint.
        #expect(throws: ProtoDecodeError(code: .malformed, messageName: "lockbox.v1.AccessRequest")) {
            try AccessRequest(decoding: Array(bytes.dropLast()))
        }
        // A length-delimited field announcing more bytes than there are.
        #expect(throws: ProtoDecodeError.self) { try AccessRequest(decoding: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]) }
        // A wire type that does not match the field (id is a string, sent as a varint).
        #expect(throws: ProtoDecodeError.self) { try AccessRequest(decoding: [0x08, 0x01]) }
    }

    @Test func invalidUTF8IsTyped() throws {
        // Field 1 (id), length 2, bytes C3 28: an invalid two-byte sequence.
        #expect(throws: ProtoDecodeError(code: .invalidUTF8, messageName: "lockbox.v1.AccessRequest")) {
            try AccessRequest(decoding: [0x0a, 0x02, 0xc3, 0x28])
        }
        // Nested: RequestFrame.header.method.
        #expect(throws: ProtoDecodeError(code: .invalidUTF8, messageName: "lockbox.v1.RequestHeader")) {
            try RequestFrame(decoding: [0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe])
        }
    }

    @Test func noMemoryGrowthOverManyRoundTrips() throws {
        func churn(_ rounds: Int) throws {
            for round in 0..<rounds {
                let bytes = Samples.accessRequest.encode()
                _ = try AccessRequest(decoding: bytes)
                _ = try? AccessRequest(decoding: Array(bytes.prefix(round % bytes.count)))
                _ = try? AccessRequest(decoding: [0x0a, 0x02, 0xc3, 0x28])
                _ = try SearchAuditResponse(decoding: SearchAuditResponse(records: [Samples.auditRecord]).encode())
            }
        }
        try churn(2_000)  // warm up caches and allocator arenas
        try #require(heap_bytes_in_use() > 0, "the heap statistics work on this platform")
        // The heap figure is process-wide: scripts/test runs this test on its own, and the
        // smallest growth over several rounds is taken, since a leak grows the heap in every round.
        var growth: [Int] = []
        for _ in 0..<4 {
            let before = heap_bytes_in_use()
            try churn(20_000)
            growth.append(Int(heap_bytes_in_use()) - Int(before))
        }
        // A leak of even one 16-byte string per round would be 320 KiB per round.
        #expect(growth.min()! < 64 * 1024, "heap grew in every round: \(growth) bytes")
    }
}

private let decoders: [@Sendable ([UInt8]) -> Bool] = [
    { (try? AccessRequest(decoding: $0)) != nil },
    { (try? RequestFrame(decoding: $0)) != nil },
    { (try? ResponseFrame(decoding: $0)) != nil },
    { (try? SearchAuditResponse(decoding: $0)) != nil },
    { (try? CreateTenantResponse(decoding: $0)) != nil },
]

private func decodeAny<M: ProtoMessage>(_: M, _ bytes: [UInt8]) -> Bool {
    (try? M(decoding: bytes)) != nil
}
