import NIOCore

/// Length-prefixed framing: a 4-byte big-endian unsigned length, then that many bytes of protobuf.
public enum Framing {
    /// The default cap on a frame's announced length: 4 MiB.
    public static let defaultMaxFrameSize = 4 * 1024 * 1024
    public static let headerSize = 4

    /// One frame: the length prefix followed by `payload`.
    public static func frame(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerSize + payload.count)
        buffer.writeInteger(UInt32(payload.count), endianness: .big)
        buffer.writeBytes(payload)
        return buffer
    }
}

/// A frame announced a length above the configured maximum.
public struct FrameTooLargeError: Error, Hashable, Sendable {
    public let announcedLength: Int
    public let maxFrameSize: Int
}

/// Told downstream by ``FrameDecoder`` so that a handler can time out slow senders.
public enum FrameDecoderEvent: Hashable, Sendable {
    /// The first bytes of a frame arrived, and the rest has not yet.
    case frameStarted
    /// The frame that had started is now complete.
    case frameCompleted
}

/// Splits a byte stream into frames, refusing an oversized length before buffering its body.
///
/// Emits each frame's payload as a `ByteBuffer` slice, and ``FrameDecoderEvent``s
/// as user events. A length above `maxFrameSize` throws ``FrameTooLargeError``
/// as soon as the 4 length bytes are read, so the body is never waited for or
/// allocated; `ByteToMessageHandler` then drops the rest of the stream.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameSize: Int
    private var partial = false

    public init(maxFrameSize: Int = Framing.defaultMaxFrameSize) {
        precondition(maxFrameSize >= 0 && maxFrameSize <= Int(UInt32.max))
        self.maxFrameSize = maxFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        if let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) {
            let announced = Int(length)
            guard announced <= maxFrameSize else {
                throw FrameTooLargeError(announcedLength: announced, maxFrameSize: maxFrameSize)
            }
            if buffer.readableBytes >= Framing.headerSize + announced {
                buffer.moveReaderIndex(forwardBy: Framing.headerSize)
                let payload = buffer.readSlice(length: announced)!
                if partial {
                    partial = false
                    context.fireUserInboundEventTriggered(FrameDecoderEvent.frameCompleted)
                }
                context.fireChannelRead(NIOAny(payload))
                return .continue
            }
        }
        if !partial {
            partial = true
            context.fireUserInboundEventTriggered(FrameDecoderEvent.frameStarted)
        }
        return .needMoreData
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // A half frame at EOF is dropped: the peer is gone.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
