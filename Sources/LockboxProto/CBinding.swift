import CLockboxProto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bridge between one Swift message type and its protoc-c struct.
///
/// A conforming type says how to read itself out of the C struct (copying
/// every value, so nothing refers to C memory afterwards) and how to fill a C
/// struct for packing (allocating through an ``Arena`` that frees everything
/// once packing is done).
protocol CBinding {
    associatedtype CMessage
    /// The generated `<message>__init` function.
    static func cInit(_ message: UnsafeMutablePointer<CMessage>)
    /// Copies the fields out of an unpacked C message.
    init(c: CMessage) throws(ProtoDecodeError)
    /// Sets the fields of an initialised C message.
    func fill(_ c: inout CMessage, _ arena: Arena)
}

extension CBinding {
    static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        // The generated init stores the address of the real descriptor in
        // `base.descriptor`; that is the one libprotobuf-c compares against.
        // On the stack: this runs for every decode.
        withUnsafeTemporaryAllocation(of: CMessage.self, capacity: 1) { buffer in
            let message = buffer.baseAddress!
            cInit(message)
            return message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { $0.pointee.descriptor }
        }
    }

    static var protoName: String { String(cString: cDescriptor.pointee.name) }

    /// Unpacks with libprotobuf-c, copies into Swift values, then frees the C message.
    init(cDecoding bytes: UnsafeRawBufferPointer) throws(ProtoDecodeError) {
        let descriptor = Self.cDescriptor
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // libprotobuf-c reads `len` bytes from `data`; an empty message needs a valid pointer too.
        var empty: UInt8 = 0
        guard
            let unpacked = withUnsafePointer(
                to: &empty,
                { emptyPointer in
                    protobuf_c_message_unpack(descriptor, nil, bytes.count, base ?? emptyPointer)
                }
            )
        else {
            throw ProtoDecodeError(code: .malformed, messageName: Self.protoName)
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        // C strings end at the first NUL, so a string that holds one would be read cut short
        // ("Get-Mailbox\0Remove-Mailbox" as "Get-Mailbox"): such a message is refused whole.
        if WireScan.stringHoldsNUL(bytes, descriptor) {
            throw ProtoDecodeError(code: .embeddedNUL, messageName: Self.protoName)
        }
        let typed = UnsafeRawPointer(unpacked).assumingMemoryBound(to: CMessage.self)
        self = try Self(c: typed.pointee)
    }

    /// Fills a C message, packs it with libprotobuf-c, and frees every allocation.
    func cEncode() -> [UInt8] {
        let arena = Arena()
        defer { arena.freeAll() }
        let message = arena.message(self)
        let base = UnsafeMutableRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = size == 0 ? 0 : protobuf_c_message_pack(base, buffer.baseAddress!)
        }
    }
}

/// Owns every C allocation made while filling a message for packing.
final class Arena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit { freeAll() }

    func freeAll() {
        for pointer in allocations { free(pointer) }
        allocations.removeAll()
    }

    private func track<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        guard let raw = calloc(max(count, 1), MemoryLayout<T>.stride) else { fatalError("out of memory") }
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A C string copy of `value`, or the shared empty string the generated init uses.
    ///
    /// C strings end at the first NUL, so a string holding U+0000 is cut there;
    /// Lockbox validates input strings so that never happens to real data.
    func string(_ value: String) -> UnsafeMutablePointer<CChar>? {
        if value.isEmpty { return UnsafeMutablePointer(mutating: protobuf_c_empty_string_pointer()) }
        return track(strdup(value)!)
    }

    func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let data = allocate(UInt8.self, count: value.count)
        value.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: value.count) }
        return ProtobufCBinaryData(len: value.count, data: data)
    }

    func message<M: CBinding>(_ value: M) -> UnsafeMutablePointer<M.CMessage> {
        let pointer = allocate(M.CMessage.self, count: 1)
        M.cInit(pointer)
        value.fill(&pointer.pointee, self)
        return pointer
    }

    func optionalMessage<M: CBinding>(_ value: M?) -> UnsafeMutablePointer<M.CMessage>? {
        value.map { message($0) }
    }

    /// A repeated string field: its count and its array of C strings.
    func strings(_ values: [String]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let array = allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for (index, value) in values.enumerated() { array[index] = string(value) }
        return (values.count, array)
    }

    /// A repeated message field: its count and its array of pointers.
    func repeated<M: CBinding>(_ values: [M]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let array = allocate(UnsafeMutablePointer<M.CMessage>?.self, count: values.count)
        for (index, value) in values.enumerated() { array[index] = message(value) }
        return (values.count, array)
    }
}

// MARK: - Scanning the wire

/// Reads the wire format with a message's descriptor, for what libprotobuf-c does not check.
enum WireScan {
    /// Whether a string field of the message, or of a message nested in it, holds U+0000.
    /// Runs only on bytes that libprotobuf-c has unpacked, so they are well-formed.
    static func stringHoldsNUL(
        _ bytes: UnsafeRawBufferPointer,
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> Bool {
        var offset = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count && shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while offset < bytes.count {
            guard let tag = varint() else { return false }
            switch tag & 7 {
            case 0:
                guard varint() != nil else { return false }
            case 1:
                offset += 8
            case 5:
                offset += 4
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - offset) else { return false }
                let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)])
                offset += Int(length)
                guard tag >> 3 <= UInt64(UInt32.max),
                    let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(tag >> 3))
                else { continue }
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if payload.contains(0) { return true }
                case PROTOBUF_C_TYPE_MESSAGE:
                    guard let nested = field.pointee.descriptor else { continue }
                    let nestedDescriptor = nested.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                    if stringHoldsNUL(payload, nestedDescriptor) { return true }
                default:
                    continue
                }
            default:
                return false
            }
        }
        return false
    }
}

// MARK: - Reading C values into Swift values

enum CRead {
    static func string<M: CBinding>(_ pointer: UnsafeMutablePointer<CChar>?, in _: M.Type) throws(ProtoDecodeError)
        -> String
    {
        guard let pointer else { return "" }
        guard let value = String(validatingCString: pointer) else {
            throw ProtoDecodeError(code: .invalidUTF8, messageName: M.protoName)
        }
        return value
    }

    static func strings<M: CBinding>(
        _ count: Int,
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        in type: M.Type
    ) throws(ProtoDecodeError) -> [String] {
        guard count > 0, let array else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count { result.append(try string(array[index], in: type)) }
        return result
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    static func message<M: CBinding>(_ pointer: UnsafeMutablePointer<M.CMessage>?) throws(ProtoDecodeError) -> M? {
        guard let pointer else { return nil }
        return try M(c: pointer.pointee)
    }

    static func repeated<M: CBinding>(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?)
        throws(ProtoDecodeError) -> [M]
    {
        guard count > 0, let array else { return [] }
        var result: [M] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let element = array[index] else { continue }
            result.append(try M(c: element.pointee))
        }
        return result
    }
}

extension Bool {
    init(protobuf value: protobuf_c_boolean) { self = value != 0 }
    var protobuf: protobuf_c_boolean { self ? 1 : 0 }
}
