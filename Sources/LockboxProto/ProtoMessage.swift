/// A Lockbox protobuf message as a Swift value.
///
/// Every message in `proto/lockbox.proto` has a value type conforming to this
/// protocol. Encoding and decoding go through the protoc-c generated C and
/// libprotobuf-c; no pointer into that C ever leaves this module.
public protocol ProtoMessage: Sendable, Hashable {
    /// Decodes the protobuf wire format.
    init(decoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError)
    /// Encodes to the protobuf wire format.
    func encode() -> [UInt8]
}

extension ProtoMessage {
    /// Decodes the protobuf wire format from an array of bytes.
    public init(decoding bytes: [UInt8]) throws(ProtoDecodeError) {
        let result: Result<Self, ProtoDecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(ProtoDecodeError) -> Self in try Self(decoding: raw) }
        }
        self = try result.get()
    }
}

/// Why bytes could not be decoded as a message.
public struct ProtoDecodeError: Error, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case malformed
            case invalidUTF8
            case embeddedNUL
        }
        let base: Base
        /// libprotobuf-c refused the bytes: truncated, bad wire type, bad varint, and so on.
        public static let malformed = Code(base: .malformed)
        /// A string field held bytes that are not UTF-8.
        public static let invalidUTF8 = Code(base: .invalidUTF8)
        /// A string field held U+0000, which no Lockbox string may contain.
        public static let embeddedNUL = Code(base: .embeddedNUL)

        public var description: String {
            switch base {
            case .malformed: "malformed"
            case .invalidUTF8: "invalidUTF8"
            case .embeddedNUL: "embeddedNUL"
            }
        }
    }

    public let code: Code
    /// The protobuf name of the message that failed to decode, such as `lockbox.v1.AccessRequest`.
    public let messageName: String

    public init(code: Code, messageName: String) {
        self.code = code
        self.messageName = messageName
    }

    public var description: String {
        switch code.base {
        case .malformed: "cannot decode \(messageName): malformed protobuf"
        case .invalidUTF8: "cannot decode \(messageName): a string field is not valid UTF-8"
        case .embeddedNUL: "cannot decode \(messageName): a string field contains U+0000"
        }
    }
}

/// An open protobuf enum: unknown numbers are kept, as proto3 requires.
public protocol ProtoEnum: RawRepresentable, Sendable, Hashable, CustomStringConvertible where RawValue == Int32 {
    init(rawValue: Int32)
    /// Names of the known values, as in the .proto file, by number.
    static var names: [Int32: String] { get }
}

extension ProtoEnum {
    public var description: String { Self.names[rawValue] ?? "\(rawValue)" }
    /// The known value with this .proto name, if any.
    public init?(protoName: String) {
        guard let (number, _) = Self.names.first(where: { $0.value == protoName }) else { return nil }
        self.init(rawValue: number)
    }
}
