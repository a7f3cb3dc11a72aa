import CLockboxProto
import Testing

@testable import LockboxProto

/// A string field that holds U+0000 would be read cut short through C's strings
/// ("Get-Mailbox\0Remove-Mailbox" as "Get-Mailbox"): every such message is refused whole, at
/// decode, for every string field of every message, nested ones included.
@Suite struct EmbeddedNULTests {
    /// Every message a client sends, with its decoder.
    static var requests:
        [(
            name: String, descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
            decode: @Sendable ([UInt8]) throws(ProtoDecodeError) -> Void
        )]
    {
        [
            entry(RequestFrame.self), entry(RequestHeader.self), entry(CreateAccessRequestRequest.self),
            entry(GetAccessRequestRequest.self), entry(ListAccessRequestsRequest.self),
            entry(CancelAccessRequestRequest.self),
            entry(RevokeAccessRequest.self), entry(WatchAccessRequestsRequest.self), entry(InternalDecision.self),
            entry(CustomerDecision.self), entry(CheckAccessRequest.self), entry(ListGrantsRequest.self),
            entry(CreateTenantRequest.self), entry(IssueEnrollmentCodeRequest.self),
            entry(EnrollTenantAdminRequest.self),
            entry(GetTenantSettingsRequest.self), entry(SetTenantSettingsRequest.self),
            entry(SetLockboxEnabledRequest.self),
            entry(CreatePrincipalRequest.self), entry(SuspendPrincipalRequest.self),
            entry(ReactivatePrincipalRequest.self),
            entry(ListPrincipalsRequest.self), entry(IssueTokenRequest.self), entry(RevokeTokenRequest.self),
            entry(RoleAssignment.self), entry(ListRoleAssignmentsRequest.self), entry(SearchAuditRequest.self),
            entry(ExportAuditRequest.self), entry(ListPreapprovedOperationsRequest.self),
            entry(PreapprovedOperation.self),
            entry(RemovePreapprovedOperationRequest.self), entry(PingRequest.self),
        ]
    }

    static func entry<M: ProtoMessage & CBinding>(_: M.Type) -> (
        String, UnsafePointer<ProtobufCMessageDescriptor>, @Sendable ([UInt8]) throws(ProtoDecodeError) -> Void
    ) {
        (M.protoName, M.cDescriptor, { bytes throws(ProtoDecodeError) in _ = try M(decoding: bytes) })
    }

    static func field(_ number: UInt32, wireType: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        var tag = UInt64(number) << 3 | UInt64(wireType)
        while tag >= 0x80 {
            bytes.append(UInt8(tag & 0x7f) | 0x80)
            tag >>= 7
        }
        bytes.append(UInt8(tag))
        bytes.append(UInt8(payload.count))
        return bytes + payload
    }

    /// Wire bytes for one string field of a message, holding `text`; nested through message
    /// fields to reach strings inside them.
    static func stringFields(
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        holding text: [UInt8],
        depth: Int = 0
    )
        -> [(path: String, bytes: [UInt8])]
    {
        var out: [(String, [UInt8])] = []
        for index in 0..<Int(descriptor.pointee.n_fields) {
            let field = descriptor.pointee.fields[index]
            let name = String(cString: field.name)
            if field.type == PROTOBUF_C_TYPE_STRING {
                out.append((name, Self.field(field.id, wireType: 2, text)))
            } else if field.type == PROTOBUF_C_TYPE_MESSAGE, depth < 2, let nested = field.descriptor {
                let inner = nested.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                for (path, bytes) in stringFields(inner, holding: text, depth: depth + 1) {
                    out.append((name + "." + path, Self.field(field.id, wireType: 2, bytes)))
                }
            }
        }
        return out
    }

    @Test func everyStringFieldOfEveryRequestRefusesNUL() throws {
        var checked = 0
        for (name, descriptor, decode) in Self.requests {
            for (path, bytes) in Self.stringFields(descriptor, holding: Array("Get-Mailbox\0Remove-Mailbox".utf8)) {
                #expect(throws: ProtoDecodeError(code: .embeddedNUL, messageName: name), "\(name).\(path)") {
                    try decode(bytes)
                }
                // The same field without the NUL decodes.
                let clean = Self.stringFields(descriptor, holding: Array("Get-Mailbox".utf8)).first { $0.path == path }!
                #expect(throws: Never.self, "\(name).\(path)") { try decode(clean.bytes) }
                checked += 1
            }
        }
        #expect(checked > 60)
    }

    @Test func bytesFieldsMayHoldNUL() throws {
        let frame = try RequestFrame(
            decoding: RequestFrame(header: RequestHeader(callID: 1), payload: [0, 0, 0]).encode()
        )
        #expect(frame.payload == [0, 0, 0])
    }
}
