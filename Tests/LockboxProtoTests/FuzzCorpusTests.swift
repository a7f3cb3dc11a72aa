import Foundation
import LockboxProto
import LockboxRPC
import NIOCore
import Testing

/// The fuzz target's seed corpus (Fuzz/corpus), built from the round-trip samples: one
/// input per request message type, and one framed request per method. Each input's first
/// byte chooses what the fuzz target feeds it to (see Fuzz/Sources/LockboxFuzz/main.swift).
/// `LOCKBOX_WRITE_FUZZ_CORPUS=1 swift test --filter FuzzCorpusTests` writes it again.
@Suite struct FuzzCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appending(path: "../../Fuzz/corpus").standardizedFileURL

    /// The seeds, by file name.
    static var seeds: [String: [UInt8]] {
        var seeds: [String: [UInt8]] = [:]
        for (index, method) in LockboxMethods.all.enumerated() {
            let sample = Samples.all.first { type(of: $0) == method.requestMessage }
            let payload = sample?.encode() ?? []
            seeds["message-\(method.shortName)"] = [UInt8(index + 1)] + payload
            let frame = RequestFrame(
                header: RequestHeader(
                    callID: UInt64(index + 1),
                    method: method.name,
                    timeoutMs: 5000,
                    authToken: Samples.header.authToken
                ),
                payload: payload
            )
            let framed = Array(Framing.frame(frame.encode(), allocator: ByteBufferAllocator()).readableBytesView)
            seeds["frame-\(method.shortName)"] = [0] + framed
        }
        return seeds
    }

    @Test func theSeedCorpusIsBuiltFromTheSamples() throws {
        let seeds = Self.seeds
        if ProcessInfo.processInfo.environment["LOCKBOX_WRITE_FUZZ_CORPUS"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            for (name, bytes) in seeds { try Data(bytes).write(to: Self.directory.appending(path: name)) }
        }
        #expect(seeds.count == 2 * LockboxMethods.all.count)
        for (name, bytes) in seeds.sorted(by: { $0.key < $1.key }) {
            let stored = try? Data(contentsOf: Self.directory.appending(path: name))
            #expect(stored.map(Array.init) == bytes, "Fuzz/corpus/\(name) is stale or missing")
        }
        // Every request type has a populated sample: seeds that are empty messages teach little.
        let missing = LockboxMethods.all.filter { method in
            !Samples.all.contains { type(of: $0) == method.requestMessage }
        }
        #expect(missing.isEmpty, "no sample for \(missing.map(\.requestType))")
    }
}
