import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Logging

/// Writes each log record as one JSON object on one line of standard error:
/// `{"time":…,"level":…,"label":…,"message":…,` and the metadata's keys, such as
/// `"call.id"` and `"call.method"` on every line a call logs.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    package var metadataProvider: Logger.MetadataProvider?
    let label: String

    package init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var object: [String: Any] = [:]
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let metadata { merged.merge(metadata) { _, new in new } }
        for (key, value) in merged { object[key] = Self.plain(value) }
        object["time"] = Self.timestamp()
        object["level"] = level.rawValue
        object["label"] = label
        object["message"] = message.description
        object["source"] = source
        guard
            var data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
        else { return }
        data.append(UInt8(ascii: "\n"))
        // write(2), not FileHandle.write: a full disk or a closed stderr must not stop the server.
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    static func plain(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(plain)
        case .dictionary(let values): values.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
    }
}
