import Foundation
import LockboxCore
import LockboxProto
import LockboxRPC
import LockboxStore

extension LockboxService {
    func registerAuditMethods(_ router: inout RPCRouter) {
        unary(&router, LockboxMethod.searchAudit, .readAudit) { (request: SearchAuditRequest, env) in
            try Self.search(request, env)
        }
        router.registerServerStreaming(LockboxMethod.exportAudit, ExportAuditRequest.self, AuditExportChunk.self) {
            [self] request, context, writer in
            do {
                try await export(request, context: context, writer: writer)
            } catch {
                throw rpcError(error, method: LockboxMethod.exportAudit)
            }
        }
    }

    static let auditColumns = """
        SELECT audit_id, recorded_at_ms, tenant_id, actor_id, actor_display, actor_ip, activity, item, decision,
               details::text AS details
        FROM audit_records
        """

    static func record(_ row: PGRow) -> AuditRecord {
        AuditRecord(
            id: row.int64("audit_id"),
            timeMs: row.int64("recorded_at_ms"),
            tenantID: row.string("tenant_id"),
            actorID: row.string("actor_id"),
            actorDisplay: row.string("actor_display"),
            actorIP: row.string("actor_ip"),
            activity: row.string("activity"),
            item: row.string("item"),
            decision: Decision(rawValue: Int32(row.int64("decision"))),
            detailsJSON: row.string("details")
        )
    }

    /// The tenant a caller's audit query covers: its own for tenant principals, any (or all, "") for auditors.
    static func auditScope(_ caller: Caller, requested: String) throws -> String {
        try InputLimits.check(requested, field: "tenant_id", max: InputLimits.idLength, required: false)
        if caller.holds(.auditor) { return requested }
        guard let own = try Authorizer.ownTenant(caller, requested: requested) else {
            if requested.isEmpty { throw RPCError.invalidArgument("tenant_id is required") }
            throw RPCError.notFound("no such tenant")
        }
        return own
    }

    static func search(_ request: SearchAuditRequest, _ env: CallEnvironment) throws -> SearchAuditResponse {
        let tenant = try auditScope(env.caller, requested: request.tenantID)
        try InputLimits.check(request.activity, field: "activity", max: InputLimits.operationLength, required: false)
        try InputLimits.check(request.actorID, field: "actor_id", max: InputLimits.idLength, required: false)
        try InputLimits.check(request.item, field: "item", max: InputLimits.idLength, required: false)
        var before = Int64.max
        if !request.pageToken.isEmpty {
            guard let cursor = Int64(request.pageToken), cursor > 0 else {
                throw RPCError.invalidArgument("invalid page_token")
            }
            before = cursor
        }
        let pageSize = InputLimits.pageSize(request.pageSize)
        // Newest first, keyed by id: records that arrive while paging land before the first page, never inside a later one.
        let rows = try env.db.query(
            auditColumns + """
                 WHERE ($1 = '' OR tenant_id = $1)
                   AND recorded_at_ms >= $2::bigint AND recorded_at_ms < $3::bigint
                   AND ($4 = '' OR activity = $4)
                   AND ($5 = '' OR actor_id = $5)
                   AND ($6 = '' OR item = $6)
                   AND audit_id < $7::bigint
                 ORDER BY audit_id DESC
                 LIMIT $8::int
                """,
            [
                tenant, String(request.fromMs), String(request.toMs == 0 ? Int64.max : request.toMs), request.activity,
                request.actorID, request.item, String(before), String(pageSize + 1),
            ]
        )
        let records = rows.rows.prefix(pageSize).map(record)
        var response = SearchAuditResponse(records: records)
        if rows.count > pageSize, let last = records.last { response.nextPageToken = String(last.id) }
        return response
    }

    /// Streams the records of a time range, oldest first, one page per short transaction,
    /// so memory stays constant however long the range is.
    func export(
        _ request: ExportAuditRequest,
        context: RPCCallContext,
        writer: RPCStreamWriter<AuditExportChunk>
    ) async throws {
        let caller = try await authenticated(context, .readAudit)
        let tenant = try Self.auditScope(caller, requested: request.tenantID)
        let csv = request.format == .csv
        guard request.format == .csv || request.format == .jsonLines || request.format == .unspecified else {
            throw RPCError.invalidArgument("format must be JSON_LINES or CSV")
        }
        let to = request.toMs == 0 ? Int64.max : request.toMs
        if csv {
            try await writer.send(AuditExportChunk(data: Array(AuditFormat.csvHeader.utf8)))
        }
        let format = AuditFormat()
        var after: Int64 = 0
        while true {
            let cursor = after
            let rows = try await pool.withConnection { connection in
                try connection.query(
                    Self.auditColumns + """
                         WHERE ($1 = '' OR tenant_id = $1)
                           AND recorded_at_ms >= $2::bigint AND recorded_at_ms < $3::bigint
                           AND audit_id > $4::bigint
                         ORDER BY audit_id
                         LIMIT 500
                        """,
                    [tenant, String(request.fromMs), String(to), String(cursor)]
                )
            }
            if rows.isEmpty { break }
            var text = ""
            for row in rows.rows {
                let record = Self.record(row)
                text += csv ? format.csvLine(record) : format.jsonLine(record)
                after = record.id
            }
            try await writer.send(AuditExportChunk(data: Array(text.utf8)))
            if rows.count < 500 { break }
        }
    }
}

/// The export formats of the audit log. One is made per export, so its date formatter and
/// JSON coders serve every line of it rather than being built again for each record.
struct AuditFormat {
    static let csvHeader = "id,time,tenant_id,actor_id,actor_display,actor_ip,activity,item,decision,details\n"

    private let timeFormatter: ISO8601DateFormatter
    private let encoder: JSONEncoder
    private let decoder = JSONDecoder()

    init() {
        timeFormatter = ISO8601DateFormatter()
        timeFormatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    func isoTime(_ millis: Int64) -> String {
        timeFormatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func decisionName(_ decision: Decision) -> String {
        switch decision {
        case .approve: "Approve"
        case .deny: "Deny"
        case .cancel: "Cancel"
        default: ""
        }
    }

    static func csvField(_ value: String) -> String {
        var value = value
        // Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe.
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || value.hasPrefix("'")
        else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func csvLine(_ record: AuditRecord) -> String {
        [
            String(record.id), isoTime(record.timeMs), record.tenantID, record.actorID, record.actorDisplay,
            record.actorIP, record.activity, record.item, Self.decisionName(record.decision), record.detailsJSON,
        ].map(Self.csvField).joined(separator: ",") + "\n"
    }

    func jsonLine(_ record: AuditRecord) -> String {
        struct Line: Encodable {
            var id: Int64
            var time: String
            var tenant_id: String
            var actor_id: String
            var actor_display: String
            var actor_ip: String
            var activity: String
            var item: String
            var decision: String
            var details: RawJSON
        }
        struct RawJSON: Encodable {
            var object: [String: JSONAny]
            func encode(to encoder: any Encoder) throws { try object.encode(to: encoder) }
        }
        let details = (try? decoder.decode([String: JSONAny].self, from: Data(record.detailsJSON.utf8))) ?? [:]
        let line = Line(
            id: record.id,
            time: isoTime(record.timeMs),
            tenant_id: record.tenantID,
            actor_id: record.actorID,
            actor_display: record.actorDisplay,
            actor_ip: record.actorIP,
            activity: record.activity,
            item: record.item,
            decision: Self.decisionName(record.decision),
            details: RawJSON(object: details)
        )
        return String(decoding: (try? encoder.encode(line)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }
}

/// Any JSON value, for passing stored details through to an export.
enum JSONAny: Codable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case object([String: JSONAny])
    case array([JSONAny])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONAny].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONAny].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}
