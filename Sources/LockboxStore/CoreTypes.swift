import LockboxCore

// Core's enums bind and decode as their stored text (or number).

extension RequestState: PGTextEnum, PGNonNullDecodable {}
extension Role: PGTextEnum, PGNonNullDecodable {}
extension ContentService: PGTextEnum, PGNonNullDecodable {}
extension JustificationCategory: PGTextEnum, PGNonNullDecodable {}
extension AuditKind: PGTextEnum, PGNonNullDecodable {}

extension AuditDecision: PGEncodable, PGNonNullDecodable {
    package static var pgType: PGType { .int2 }
    package var pgText: String { String(rawValue) }
    package init?(pgText text: String) {
        guard let number = Int16(text) else { return nil }
        self.init(rawValue: number)
    }
}
extension NotificationChannel: PGTextEnum, PGNonNullDecodable {}
extension NotificationKind: PGTextEnum, PGNonNullDecodable {}
extension NotificationState: PGTextEnum, PGNonNullDecodable {}
extension OperatorStatus: PGTextEnum, PGNonNullDecodable {}
extension Activity: PGTextEnum, PGNonNullDecodable {}
