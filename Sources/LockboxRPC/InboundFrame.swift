import LockboxProto
import NIOCore

/// What one request frame asks of the connection, decoded and checked: a call to start, a
/// call to cancel, or a refusal answered on call id 0 (the connection goes on).
enum InboundFrame: Sendable {
    case call(RequestHeader, payload: [UInt8])
    case cancel(callID: UInt64)
    case refused(Status)

    /// The longest method name a call may carry. Every method Lockbox serves is far shorter;
    /// a longer one is answered UNIMPLEMENTED like any unknown method, and never logged whole.
    static let maxMethodLength = 200

    init(_ buffer: ByteBuffer) {
        let decoded = buffer.withUnsafeReadableBytes { raw in Result { try RequestFrame(decoding: raw) } }
        guard case .success(let frame) = decoded else {
            self = .refused(Status(code: .invalidArgument, message: "cannot decode request frame"))
            return
        }
        guard let header = frame.header, header.callID != 0 else {
            self = .refused(
                Status(code: .invalidArgument, message: "request header with a non-zero call_id is required")
            )
            return
        }
        self = frame.cancel ? .cancel(callID: header.callID) : .call(header, payload: frame.payload)
    }

    /// A method name as it may appear in a log line or a message.
    static func printable(_ method: String) -> String { LockboxRPC.printable(method, limit: maxMethodLength) }
}

/// Text a client sent, as it may appear in a log line, a message or a terminal: bounded, with
/// control and escape characters (`\n`, ESC, the C1 controls, line and paragraph separators,
/// bidirectional controls) written as escapes, so that no client can forge a log line, break a
/// table's row, reorder what a reader sees, or move a terminal's cursor.
package func printable(_ text: String, limit: Int = 200) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        if scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value)
            || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{200E}" || scalar == "\u{200F}"
            || scalar == "\u{061C}" || (0x202A...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value)
        {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    if text.unicodeScalars.count > limit { out += "…" }
    return out
}

/// What the connection itself answers, in one place.
extension Status {
    static let cancelledByClient = Status(code: .cancelled, message: "call cancelled by the client")
    static let deadlineExceeded = Status(code: .deadlineExceeded, message: "deadline exceeded")
    static let shuttingDown = Status(code: .unavailable, message: "server is shutting down")
    static let cutOff = Status(
        code: .resourceExhausted,
        message: "too many unread responses; read them or open fewer calls"
    )

    static func tooManyStreams(_ configuration: RPCServerConfiguration) -> Status {
        let limit = configuration.maxStreamingCallsPerConnection
        return Status(code: .resourceExhausted, message: "at most \(limit) streaming calls per connection")
    }

    static func duplicate(_ callID: UInt64) -> Status {
        Status(code: .invalidArgument, message: "call_id \(callID) is already in flight")
    }

    static func tooLarge(_ error: FrameTooLargeError) -> Status {
        Status(
            code: .resourceExhausted,
            message: "frame of \(error.announcedLength) bytes exceeds the maximum of \(error.maxFrameSize)"
        )
    }
}

extension RPCError {
    /// A method the server does not serve, named as it may be shown.
    static func unimplemented(_ method: String) -> RPCError {
        RPCError(.unimplemented, "unknown method \"\(InboundFrame.printable(method))\"")
    }
}
