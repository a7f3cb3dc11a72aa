import NIOCore
import NIOPosix

@main
enum Entry {
    static func main() async {
        // Run Swift Concurrency's tasks on NIO's event loops, so a call does not hop between
        // the concurrency pool and the event loop that owns its connection.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Lockboxd.main()
    }
}
