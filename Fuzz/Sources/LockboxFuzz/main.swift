import LockboxProto
import LockboxRPC
import NIOCore
import NIOEmbedded

/// Every request message type the server decodes, by the method that takes it.
let methods = LockboxMethods.all

/// One fuzz input: its first byte chooses what the rest is fed to.
///   - 0: a byte stream into the server's frame decoder, in chunks of varying size; each
///     whole frame is decoded as a request frame, and its payload as its method's request.
///   - 1…n: the request message of method n − 1 of ``LockboxMethods/all``.
/// Decoding may fail, as it must for most inputs; it must never crash, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let target = Int(selector) % (methods.count + 1)
    if target == 0 {
        decodeStream(rest)
    } else {
        _ = try? methods[target - 1].requestMessage.init(decoding: rest)
    }
    return 0
}

func decodeStream(_ bytes: UnsafeRawBufferPointer) {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameSize: 1 << 16)))
    var offset = 0
    var chunk = 1
    while offset < bytes.count {
        let length = min(chunk, bytes.count - offset)
        let piece = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
        do {
            try channel.writeInbound(piece)
        } catch {
            break
        }
        offset += length
        chunk = chunk * 7 % 23 + 1
    }
    while let frame = try? channel.readInbound(as: ByteBuffer.self) {
        frame.withUnsafeReadableBytes { raw in
            guard let request = try? RequestFrame(decoding: raw), let method = request.header?.method,
                let known = methods.first(where: { $0.name == method })
            else { return }
            request.payload.withUnsafeBytes { payload in _ = try? known.requestMessage.init(decoding: payload) }
        }
    }
    _ = try? channel.finish()
}

// SwiftPM links an executable with `main` aliased to `LockboxFuzz_main`; this one hands the
// command line to libFuzzer's driver, which then calls ``fuzzOneInput(_:_:)`` for each input.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt

@_cdecl("LockboxFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
