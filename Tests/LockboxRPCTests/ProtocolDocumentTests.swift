import Foundation
import LockboxProto
import NIOCore
import LockboxTestSupport
import Testing

@testable import LockboxRPC

/// Keeps the worked example of docs/protocol.md true.
@Suite struct ProtocolDocumentTests {
    static func documentedHex() throws -> [String] {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appending(path: "Package.swift").path) {
            url.deleteLastPathComponent()
        }
        let text = try String(contentsOf: url.appending(path: "docs/protocol.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.indices.compactMap { index in
            guard lines[index] == "As one hex string:", index + 1 < lines.count else { return nil }
            return lines[index + 1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test func pingExampleMatchesTheImplementation() throws {
        let documented = try Self.documentedHex()
        try #require(documented.count == 2)
        let request = RequestFrame(
            header: RequestHeader(callID: 1, method: "lockbox.v1.Lockbox/Ping", timeoutMs: 5000),
            payload: PingRequest().encode()
        )
        #expect(
            Self.hex(Framing.frame(request.encode(), allocator: ByteBufferAllocator()).readableBytesView)
                == documented[0]
        )

        let response = ResponseFrame(
            callID: 1,
            payload: PingResponse(version: "0.1.0", serverTimeMs: 1_795_910_400_000).encode(),
            end: StreamEnd(status: Status(code: .ok, message: ""))
        )
        #expect(
            Self.hex(Framing.frame(response.encode(), allocator: ByteBufferAllocator()).readableBytesView)
                == documented[1]
        )
    }

    @Test func serverAnswersTheDocumentedBytes() async throws {
        let documented = try Self.documentedHex()[0]
        let bytes = stride(from: 0, to: documented.count, by: 2).map { offset -> UInt8 in
            let start = documented.index(documented.startIndex, offsetBy: offset)
            return UInt8(documented[start..<documented.index(start, offsetBy: 2)], radix: 16)!
        }
        try await withTestServer { port, _ in
            let raw = try await RawConnection(port: port)
            try await raw.send(bytes)
            let frame = try #require(try await raw.next())
            #expect(frame.callID == 1)
            #expect(frame.end?.status == Status(code: .ok, message: ""))
            #expect(try PingResponse(decoding: frame.payload).version == "test")
        }
    }
}
