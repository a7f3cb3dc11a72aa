import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP proxy on loopback that a test controls: it forwards both ways until paused, then
/// forwards nothing, closing nothing, as a database host that went silent would, until resumed.
package final class TCPProxy: Sendable {
    private let server: any Channel
    private let state: NIOLockedValueBox<State>
    package let port: Int

    struct State {
        var paused = false
        var channels: [any Channel] = []
    }

    package init(targetPort: Int) async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        server =
            try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.autoRead, value: false)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { outbound in
                        inbound.eventLoop.makeCompletedFuture {
                            try inbound.pipeline.syncOperations.addHandler(Forwarder(peer: outbound, state: state))
                            try outbound.pipeline.syncOperations.addHandler(Forwarder(peer: inbound, state: state))
                            let paused = state.withLockedValue { state in
                                state.channels += [inbound, outbound]
                                return state.paused
                            }
                            if !paused {
                                inbound.read()
                                outbound.read()
                            }
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        port = server.localAddress!.port!
    }

    /// Stops forwarding: bytes stay where they are, and every connection stays open.
    package func pause() { state.withLockedValue { $0.paused = true } }

    /// Forwards again.
    package func resume() {
        let channels = state.withLockedValue { state in
            state.paused = false
            state.channels = state.channels.filter(\.isActive)
            return state.channels
        }
        for channel in channels { channel.read() }
    }

    package func close() async {
        let channels = state.withLockedValue { $0.channels }
        for channel in channels { try? await channel.close() }
        try? await server.close()
    }

    private final class Forwarder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let state: NIOLockedValueBox<State>

        init(peer: any Channel, state: NIOLockedValueBox<State>) {
            self.peer = peer
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelActive(context: ChannelHandlerContext) {
            if !state.withLockedValue({ $0.paused }) { context.read() }
            context.fireChannelActive()
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            // Reads on only while forwarding: paused, the bytes wait in the kernel.
            if !state.withLockedValue({ $0.paused }) { context.read() }
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// The resident set size of a process, in bytes, from /proc.
package func residentBytes(of pid: Int32) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(cString: line)
        if text.hasPrefix("VmRSS:") {
            let digits = text.split(separator: " ").compactMap { Int($0) }
            return digits.first.map { $0 * 1024 }
        }
    }
    return nil
}
