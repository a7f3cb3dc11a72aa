import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// How the store reaches PostgreSQL.
public struct PGPoolConfiguration: Sendable {
    /// A libpq connection string or URL, such as `postgresql://lockbox@127.0.0.1:5432/lockbox`.
    public var url: String
    /// Connections, and threads that run their blocking calls. PostgreSQL's
    /// throughput on a 2-core machine levels off at about 8.
    public var size: Int

    public init(url: String, size: Int = 8) {
        self.url = url
        self.size = size
    }
}

/// A bounded pool of libpq connections whose blocking calls run on the pool's own threads,
/// never on an event loop.
///
/// Each checkout runs one closure on one connection on one pool thread, so a
/// whole transaction stays on its connection. A connection that broke is
/// dropped and a new one opened at the next checkout, so the pool heals by
/// itself once the database is back; meanwhile calls fail with `.unavailable`.
public final class PGPool: Sendable {
    public let configuration: PGPoolConfiguration
    private let threads: NIOThreadPool
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    private struct State {
        var connections: [PGConnection?]
        var idle: [Int]
        var waiters: [CheckedContinuation<Int, Never>] = []
    }

    public init(configuration: PGPoolConfiguration, logger: Logger) {
        precondition(configuration.size > 0)
        self.configuration = configuration
        self.logger = logger
        threads = NIOThreadPool(numberOfThreads: configuration.size)
        threads.start()
        state = NIOLockedValueBox(
            State(connections: Array(repeating: nil, count: configuration.size), idle: Array(0..<configuration.size))
        )
    }

    /// Stops the pool's threads and closes its connections.
    public func shutdown() async {
        try? await threads.shutdownGracefully()
        state.withLockedValue { state in
            for index in state.connections.indices { state.connections[index] = nil }
        }
    }

    /// Runs `body` with a connection of its own, on a pool thread.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let slot = await acquire()
        do {
            let value = try await threads.runIfActive { try self.run(slot: slot, body) }
            release(slot)
            return value
        } catch {
            release(slot)
            throw error
        }
    }

    /// Runs `body` inside BEGIN … COMMIT on one connection; any error rolls back.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withConnection { connection in
            try connection.execute(script: "BEGIN")
            do {
                let value = try body(connection)
                try connection.execute(script: "COMMIT")
                return value
            } catch {
                if connection.isHealthy { try? connection.execute(script: "ROLLBACK") }
                throw error
            }
        }
    }

    private func run<T>(slot: Int, _ body: (PGConnection) throws -> T) throws -> T {
        let existing = state.withLockedValue { $0.connections[slot] }
        let connection: PGConnection
        if let existing, existing.isHealthy {
            connection = existing
        } else {
            if existing != nil {
                logger.notice("replacing broken database connection", metadata: ["pool.slot": "\(slot)"])
            }
            state.withLockedValue { $0.connections[slot] = nil }
            connection = try PGConnection(url: configuration.url)
            state.withLockedValue { $0.connections[slot] = connection }
        }
        do {
            return try body(connection)
        } catch {
            if !connection.isHealthy { state.withLockedValue { $0.connections[slot] = nil } }
            throw error
        }
    }

    private func acquire() async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let slot: Int? = state.withLockedValue { state in
                if let slot = state.idle.popLast() { return slot }
                state.waiters.append(continuation)
                return nil
            }
            if let slot { continuation.resume(returning: slot) }
        }
    }

    private func release(_ slot: Int) {
        let waiter: CheckedContinuation<Int, Never>? = state.withLockedValue { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(slot)
            return nil
        }
        waiter?.resume(returning: slot)
    }
}
