import Foundation
import LockboxProto
import Testing

@Suite struct RoundTripTests {
    @Test("every message type in proto/lockbox.proto has a sample")
    func everyMessageHasASample() throws {
        let proto = try String(contentsOf: packageRoot.appending(path: "proto/lockbox.proto"), encoding: .utf8)
        let declared = Set(
            proto.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("message ") else { return nil }
                return line.split(separator: " ")[1].trimmingCharacters(in: CharacterSet(charactersIn: "{"))
            }
        )
        let sampled = Set(Samples.all.map { String(describing: type(of: $0)) })
        #expect(declared.count >= 40)
        #expect(declared == sampled)
    }

    @Test("populated messages round-trip", arguments: Samples.all.indices)
    func populated(index: Int) throws {
        let ok = try roundTrips(Samples.all[index])
        #expect(ok)
    }

    @Test("default messages encode to zero bytes and round-trip", arguments: Samples.all.indices)
    func defaults(index: Int) throws {
        let empty = try emptyValue(like: Samples.all[index])
        let ok = try roundTrips(empty)
        #expect(ok)
    }

    @Test func nestedAbsentAndPresent() throws {
        var request = Samples.accessRequest
        request.grant = nil
        request.customerDecision = nil
        let decoded = try AccessRequest(decoding: request.encode())
        #expect(decoded.grant == nil)
        #expect(decoded.customerDecision == nil)
        #expect(decoded.internalDecision == Samples.internalDecision)

        // Present but empty is still present: a NULL pointer is "absent", an empty message is not.
        request.grant = Grant()
        #expect(try AccessRequest(decoding: request.encode()).grant == Grant())
    }

    @Test func largeRepeatedFields() throws {
        let records = (0..<10_000).map {
            AuditRecord(id: Int64($0), activity: "op-\($0)", detailsJSON: Samples.unicode)
        }
        let response = SearchAuditResponse(records: records, nextPageToken: "x")
        let decoded = try SearchAuditResponse(decoding: response.encode())
        #expect(decoded.records.count == 10_000)
        #expect(decoded == response)

        let big = AuditExportChunk(data: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        #expect(try AuditExportChunk(decoding: big.encode()) == big)
    }

    @Test func unknownEnumNumbersSurvive() throws {
        let grant = Grant(service: Service(rawValue: 99))
        #expect(try Grant(decoding: grant.encode()).service.rawValue == 99)
        #expect(Service(rawValue: 99).description == "99")
        #expect(Service.exchange.description == "SERVICE_EXCHANGE")
        #expect(Service(protoName: "SERVICE_TEAMS") == .teams)
    }

    @Test func decodesFromByteArrayAndRawBuffer() throws {
        let bytes = Samples.grant.encode()
        let viaRaw = try bytes.withUnsafeBytes { try Grant(decoding: $0) }
        #expect(viaRaw == Samples.grant)
        #expect(try Grant(decoding: []) == Grant())
    }
}

func roundTrips<M: ProtoMessage>(_ message: M) throws -> Bool {
    let bytes = message.encode()
    let decoded = try M(decoding: bytes)
    return decoded == message && decoded.encode() == bytes
}

func emptyValue<M: ProtoMessage>(like _: M) throws -> M {
    let empty = try M(decoding: [])
    #expect(empty.encode().isEmpty, "\(M.self) with defaults should encode to nothing")
    return empty
}

let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appending(path: "Package.swift").path) { return url }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()
