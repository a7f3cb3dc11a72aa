import Foundation
import LockboxTestSupport
import Testing

/// scripts/gen-proto --check: passes on the committed C, fails once it differs from protoc-c's output.
@Suite struct GeneratedCodeTests {
    func runCheck(in root: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appending(path: "scripts/gen-proto").path, "--check"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func staleGeneratedCodeFailsTheCheck() throws {
        let copy = FileManager.default.temporaryDirectory.appending(path: "gen-proto-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        for path in ["scripts", "proto", "Sources/CLockboxProto"] {
            try FileManager.default.createDirectory(
                at: copy.appending(path: path).deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try FileManager.default.copyItem(at: packageRoot.appending(path: path), to: copy.appending(path: path))
        }
        #expect(try runCheck(in: copy) == 0, "the committed C is current")

        let header = copy.appending(path: "Sources/CLockboxProto/include/lockbox.pb-c.h")
        try (try String(contentsOf: header, encoding: .utf8) + "\n/* edited by hand */\n").write(
            to: header,
            atomically: true,
            encoding: .utf8
        )
        #expect(try runCheck(in: copy) == 1, "a hand edit is caught")

        try FileManager.default.removeItem(at: copy.appending(path: "Sources/CLockboxProto"))
        try FileManager.default.copyItem(
            at: packageRoot.appending(path: "Sources/CLockboxProto"),
            to: copy.appending(path: "Sources/CLockboxProto")
        )
        let proto = copy.appending(path: "proto/lockbox.proto")
        try (try String(contentsOf: proto, encoding: .utf8) + "\nmessage Added { string x = 1; }\n").write(
            to: proto,
            atomically: true,
            encoding: .utf8
        )
        #expect(try runCheck(in: copy) == 1, "a proto change without regenerating is caught")
    }
}
