import Foundation
import LockboxRPC
import LockboxTestSupport
import Testing

/// Where code lives: SQL only in LockboxStore (and migrations/), states only from Core's enum,
/// and one method catalog that matches the proto's service.
@Suite struct SourceLayoutTests {
    /// Statements as lockboxd writes them: upper-case keywords.
    static let sql = try! NSRegularExpression(
        pattern:
            #"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|FUNCTION|TRIGGER|DATABASE|ROLE)|ALTER\s+(TABLE|ROLE)|DROP\s+TABLE|TRUNCATE\s|GRANT\s|pg_notify|pg_advisory|LISTEN\s)"#
    )
    /// A request state written as an SQL literal.
    static let stateLiteral = try! NSRegularExpression(
        pattern: #"'(PENDING_INTERNAL|PENDING_CUSTOMER|APPROVED|DENIED|EXPIRED|CANCELED|REVOKED|COMPLETED)'"#
    )

    static func swiftFiles(under folder: String) throws -> [(path: String, text: String)] {
        let root = packageRoot.appending(path: folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var files: [(String, String)] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            let relative = String(url.path.dropFirst(packageRoot.path.count + 1))
            files.append((relative, try String(contentsOf: url, encoding: .utf8)))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    static func matches(_ pattern: NSRegularExpression, in text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { line in
            pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil
        }
    }

    @Test func noSQLOutsideTheStore() throws {
        let sources = try Self.swiftFiles(under: "Sources")
        #expect(sources.count > 50)
        var inStore = 0
        for (path, text) in sources {
            let found = Self.matches(Self.sql, in: text)
            if path.hasPrefix("Sources/LockboxStore/") {
                inStore += found.count
            } else {
                #expect(found.isEmpty, "SQL in \(path): \(found.first ?? "")")
            }
        }
        // The pattern does find the store's statements, so its silence elsewhere means something.
        #expect(inStore > 30)
    }

    @Test func statesAreBoundFromCoresEnumNeverWrittenByHand() throws {
        for (path, text) in try Self.swiftFiles(under: "Sources") {
            let found = Self.matches(Self.stateLiteral, in: text)
            #expect(found.isEmpty, "state literal in \(path): \(found.first ?? "")")
        }
        let migration = try String(
            contentsOf: packageRoot.appending(path: "migrations/0001_initial.sql"),
            encoding: .utf8
        )
        #expect(!Self.matches(Self.stateLiteral, in: migration).isEmpty, "the pattern finds the schema's states")
    }

    @Test func theMethodCatalogIsTheProtosService() throws {
        let proto = try String(contentsOf: packageRoot.appending(path: "proto/lockbox.proto"), encoding: .utf8)
        let rpc = try NSRegularExpression(pattern: #"rpc\s+(\w+)\((\w+)\)\s+returns\s+\((stream\s+)?(\w+)\)"#)
        var declared: Set<String> = []
        for match in rpc.matches(in: proto, range: NSRange(proto.startIndex..., in: proto)) {
            func group(_ index: Int) -> String {
                guard let range = Range(match.range(at: index), in: proto) else { return "" }
                return String(proto[range])
            }
            let stream = group(3).isEmpty ? "" : "stream "
            declared.insert("lockbox.v1.Lockbox/\(group(1))(\(group(2))) returns (\(stream)\(group(4)))")
        }
        #expect(declared.count == 48)
        #expect(Set(LockboxMethods.all.map(\.description)) == declared)
        #expect(LockboxMethods.all.count == Set(LockboxMethods.all.map(\.name)).count, "no method twice")
    }
}
