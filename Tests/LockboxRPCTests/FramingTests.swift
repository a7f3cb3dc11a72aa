import LockboxProto
import NIOCore
import NIOEmbedded
import Testing

@testable import LockboxRPC

/// Records what the frame decoder passes on.
final class FrameRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var frames: [[UInt8]] = []
    var events: [FrameDecoderEvent] = []
    var errors: [any Error] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(Array(unwrapInboundIn(data).readableBytesView))
    }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? FrameDecoderEvent { events.append(event) }
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
}

@Suite struct FramingTests {
    let channel = EmbeddedChannel()
    let recorder = FrameRecorder()

    init() throws {
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(FrameDecoder(maxFrameSize: 16)),
            recorder
        )
    }

    func send(_ bytes: [UInt8]) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    }

    func frame(_ payload: [UInt8]) -> [UInt8] {
        Array(Framing.frame(payload, allocator: channel.allocator).readableBytesView)
    }

    @Test func encodesBigEndianLengthPrefix() {
        #expect(frame([1, 2, 3]) == [0, 0, 0, 3, 1, 2, 3])
        #expect(frame([]) == [0, 0, 0, 0])
    }

    @Test func splitFrameArrivesWhole() throws {
        for byte in frame(Array(1...10)) { try send([byte]) }
        #expect(recorder.frames == [Array(1...10)])
        #expect(recorder.events == [.frameStarted, .frameCompleted])
    }

    @Test func coalescedFramesAreSeparated() throws {
        try send(frame([1]) + frame([2, 2]) + frame([]) + frame([3, 3, 3]) + [0, 0])
        #expect(recorder.frames == [[1], [2, 2], [], [3, 3, 3]])
        // The trailing two bytes started a frame that has not finished.
        #expect(recorder.events == [.frameStarted])
        try send([0, 1, 9])
        #expect(recorder.frames.last == [9])
        #expect(recorder.events == [.frameStarted, .frameCompleted])
    }

    @Test func zeroLengthFrame() throws {
        try send([0, 0, 0, 0])
        #expect(recorder.frames == [[]])
        #expect(recorder.events.isEmpty)
    }

    @Test func maxSizeFrameIsAccepted() throws {
        let payload = [UInt8](repeating: 0xAB, count: 16)
        try send(frame(payload))
        #expect(recorder.frames == [payload])
        #expect(recorder.errors.isEmpty)
    }

    @Test func oneByteOverIsRefusedFromTheLengthAlone() throws {
        // Only the 4 length bytes: the body is never waited for.
        try send([0, 0, 0, 17])
        #expect(recorder.frames.isEmpty)
        let error = try #require(recorder.errors.first as? FrameTooLargeError)
        #expect(error == FrameTooLargeError(announcedLength: 17, maxFrameSize: 16))
    }

    @Test func hugeAnnouncedLengthIsRefused() throws {
        try send([0xff, 0xff, 0xff, 0xff])
        #expect(
            recorder.errors.first as? FrameTooLargeError
                == FrameTooLargeError(announcedLength: Int(UInt32.max), maxFrameSize: 16)
        )
    }
}

/// A TLS record read as a frame's length is recognised, and said in words.
@Suite struct TLSRecognitionTests {
    @Test(
        arguments: [
            ([0x16, 0x03, 0x01, 0x02], true),  // a ClientHello
            ([0x15, 0x03, 0x03, 0x00], true),  // an alert
            ([0x17, 0x03, 0x04, 0x00], true),
            ([0x16, 0x02, 0x00, 0x00], false),  // SSL 2: not TLS
            ([0x47, 0x45, 0x54, 0x20], false),  // "GET "
            ([0x00, 0x50, 0x00, 0x01], false),
        ] as [([UInt8], Bool)]
    )
    func recordHeaders(bytes: [UInt8], tls: Bool) {
        let length = bytes.reduce(0) { $0 << 8 | Int($1) }
        let error = FrameTooLargeError(announcedLength: length, maxFrameSize: 4 << 20)
        #expect(error.looksLikeTLS == tls)
        let said = ConnectionFailure.describe(error)
        #expect(said.contains("speaks TLS") == tls, "\(said)")
        #expect(!said.contains("FrameTooLarge"))
    }
}
