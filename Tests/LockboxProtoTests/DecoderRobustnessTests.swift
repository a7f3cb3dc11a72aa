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

    /// 20,000 random byte strings through five decoders, each checked against the reference
    /// reader: wire-level garbage must be refused as `.malformed`; what decodes must round-trip.
    @Test func randomBytesAreRefusedOrRoundTrip() throws {
        var rng = SplitMix64(state: 0x10C_B0C5)
        var refused = 0
        var decoded = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...96, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let verdict = Wire.scan(bytes)
            for check in checks {
                switch (verdict, check(bytes)) {
                case (.malformed, .failed(let code)):
                    #expect(code == .malformed, "\(bytes)")
                    refused += 1
                case (.malformed, .decoded):
                    Issue.record("decoded wire-level garbage: \(bytes)")
                case (_, .decoded(let roundTrips, _)):
                    #expect(roundTrips, "\(bytes)")
                    decoded += 1
                case (_, .failed):
                    break  // well-formed on the wire, but not this message (a wire type or UTF-8 it refuses)
                }
            }
        }
        // Both branches ran many times, so neither assertion above was vacuous.
        #expect(refused > 10_000)
        #expect(decoded > 1_000)
    }

    /// Fields that no message declares are skipped: any well-formed run of them decodes to the
    /// message's default value, in every decoder.
    @Test func unknownFieldsDecodeToTheDefaultValue() throws {
        var rng = SplitMix64(state: 0xF1E1D)
        for _ in 0..<2_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let field = UInt64.random(in: 1000...100_000, using: &rng)
                let wireType = [0, 1, 2, 5][Int.random(in: 0...3, using: &rng)]
                Wire.appendVarint(field << 3 | UInt64(wireType), to: &bytes)
                switch wireType {
                case 0: Wire.appendVarint(UInt64.random(in: 0...UInt64.max, using: &rng), to: &bytes)
                case 1: bytes += (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
                case 5: bytes += (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
                default:
                    let payload = (0..<Int.random(in: 0...20, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }
                    Wire.appendVarint(UInt64(payload.count), to: &bytes)
                    bytes += payload
                }
            }
            guard case .fields = Wire.scan(bytes) else { Issue.record("generator made bad wire data"); continue }
            for check in checks {
                guard case .decoded(true, let isDefault) = check(bytes) else {
                    Issue.record("unknown fields refused: \(bytes)")
                    continue
                }
                #expect(isDefault)
            }
        }
    }

    /// Every prefix of every sample: a prefix that ends between top-level fields is a valid
    /// message holding exactly those fields, so it decodes and re-encodes to the same bytes;
    /// any other prefix ends inside a field and is `.malformed`.
    @Test("every truncation of a valid encoding", arguments: Samples.all.indices)
    func truncations(index: Int) throws {
        let sample = Samples.all[index]
        let bytes = sample.encode()
        guard case .fields(let boundaries) = Wire.scan(bytes) else {
            Issue.record("the reference reader refuses a sample")
            return
        }
        #expect((boundaries.last ?? 0) == bytes.count)
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            let outcome = reencode(sample, prefix)
            if length == 0 || boundaries.contains(length) {
                #expect(outcome == .bytes(prefix), "\(type(of: sample)) cut at \(length) of \(bytes.count)")
            } else {
                #expect(outcome == .failed(.malformed), "\(type(of: sample)) cut at \(length) of \(bytes.count)")
            }
        }
    }

    @Test func truncatedMidFieldIsAnError() throws {
        let bytes = Samples.accessRequest.encode()
        // The last field is a 10-byte varint: cutting it leaves an unterminated varint.
        #expect(throws: ProtoDecodeError(code: .malformed, messageName: "lockbox.v1.AccessRequest")) {
            try AccessRequest(decoding: Array(bytes.dropLast()))
        }
        // A length-delimited field announcing more bytes than there are.
        #expect(throws: ProtoDecodeError.self) {
            try AccessRequest(decoding: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41])
        }
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

/// What a decoder made of some bytes.
enum Outcome: Equatable {
    /// Decoded; whether encoding and decoding the value again gives it back, and whether it is
    /// the message's default value.
    case decoded(roundTrips: Bool, isDefault: Bool)
    case failed(ProtoDecodeError.Code)
}

private func check<M: ProtoMessage>(_: M.Type) -> @Sendable ([UInt8]) -> Outcome {
    { bytes in
        do throws(ProtoDecodeError) {
            let message = try M(decoding: bytes)
            let again = try? M(decoding: message.encode())
            return .decoded(roundTrips: again == message, isDefault: message == (try M(decoding: [])))
        } catch {
            return .failed(error.code)
        }
    }
}

private let checks: [@Sendable ([UInt8]) -> Outcome] = [
    check(AccessRequest.self),
    check(RequestFrame.self),
    check(ResponseFrame.self),
    check(SearchAuditResponse.self),
    check(CreateTenantResponse.self),
]

/// Decodes `bytes` as the sample's type and encodes the result again.
private func reencode<M: ProtoMessage>(_: M, _ bytes: [UInt8]) -> Reencoded {
    do throws(ProtoDecodeError) {
        return .bytes(try M(decoding: bytes).encode())
    } catch {
        return .failed(error.code)
    }
}

enum Reencoded: Equatable {
    case bytes([UInt8])
    case failed(ProtoDecodeError.Code)
}

/// An independent reader of protobuf's wire format, sharing no code with libprotobuf-c: where
/// each top-level field ends, or why the bytes cannot be protobuf at all.
enum Wire {
    enum Verdict: Equatable {
        /// Well-formed: the offsets at which each top-level field ends.
        case fields([Int])
        /// No conforming decoder accepts these: the input ends inside a field, or a wire type
        /// does not exist.
        case malformed
        /// Legal on the wire but outside what every decoder agrees on (groups, field number 0,
        /// over-long varints).
        case unsure
    }

    static func scan(_ bytes: [UInt8]) -> Verdict {
        var offset = 0
        var ends: [Int] = []
        func varint() -> UInt64?? {
            var value: UInt64 = 0
            for index in 0..<10 {
                guard offset < bytes.count else { return .some(nil) }  // ends inside the varint
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << (7 * UInt64(index))
                if byte & 0x80 == 0 { return .some(value) }
            }
            return nil  // longer than 10 bytes
        }
        while offset < bytes.count {
            guard let tagRead = varint() else { return .unsure }
            guard let tag = tagRead else { return .malformed }
            guard tag >> 3 != 0, tag >> 3 <= 0x1FFF_FFFF else { return .unsure }
            switch tag & 7 {
            case 0:
                guard let valueRead = varint() else { return .unsure }
                guard valueRead != nil else { return .malformed }
            case 1:
                guard bytes.count - offset >= 8 else { return .malformed }
                offset += 8
            case 2:
                guard let lengthRead = varint() else { return .unsure }
                guard let length = lengthRead else { return .malformed }
                guard length <= UInt64(bytes.count - offset) else { return .malformed }
                offset += Int(length)
            case 5:
                guard bytes.count - offset >= 4 else { return .malformed }
                offset += 4
            case 3, 4:
                return .unsure
            default:
                return .malformed
            }
            ends.append(offset)
        }
        return .fields(ends)
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}
