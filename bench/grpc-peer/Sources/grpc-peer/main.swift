// The grpc-swift-2 peer for Ping (scripts/bench): what a user would build instead of Lockbox's
// RPC layer, measured the same way. One unary method on HTTP/2 over NIO, plaintext on loopback,
// raw bytes in and out (no protobuf runtime, so that the stack alone is measured).
//
//   grpc-peer serve PORT
//   grpc-peer load PORT CONNECTIONS SECONDS [WARMUP_SECONDS]
//
// `load` runs CONNECTIONS clients, each its own HTTP/2 connection with one call in flight, and
// prints a summary line and a `json:` line as lockbox-bench does.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

let ping = MethodDescriptor(fullyQualifiedService: "lockbox.bench.Peer", method: "Ping")
/// About what Lockbox's PingResponse carries: a version string.
let pong = Array("lockbox-peer 0.1.0".utf8)

struct PeerService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: ping, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            _ = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: pong))
        }
    }
}

func serve(port: Int) async throws {
    try await withGRPCServer(
        transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
        services: [PeerService()]
    ) { server in
        FileHandle.standardOutput.write(Data("listening on \(port)\n".utf8))
        try await Task.sleep(for: .seconds(86_400))
    }
}

final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var errors = 0

    func add(_ latencies: [Double], errors: Int) {
        lock.lock()
        self.latencies += latencies
        self.errors += errors
        lock.unlock()
    }

    var result: (latencies: [Double], errors: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (latencies, errors)
    }
}

func load(port: Int, connections: Int, seconds: Double, warmup: Double) async throws {
    let tally = Tally()
    let clock = ContinuousClock()
    let start = clock.now
    let measureFrom = start.advanced(by: .milliseconds(Int(warmup * 1000)))
    let end = measureFrom.advanced(by: .milliseconds(Int(seconds * 1000)))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<connections {
            group.addTask {
                try await withGRPCClient(
                    transport: .http2NIOPosix(
                        target: .ipv4(address: "127.0.0.1", port: port),
                        transportSecurity: .plaintext
                    )
                ) { client in
                    var latencies: [Double] = []
                    var errors = 0
                    while clock.now < end {
                        let sent = clock.now
                        do {
                            let answer = try await client.unary(
                                request: ClientRequest(message: []),
                                descriptor: ping,
                                serializer: RawBytes(),
                                deserializer: RawBytes(),
                                options: .defaults
                            ) { try $0.message }
                            precondition(answer == pong)
                            if sent >= measureFrom {
                                let elapsed = clock.now - sent
                                latencies.append(
                                    Double(elapsed.components.seconds) * 1000
                                        + Double(elapsed.components.attoseconds) / 1e15
                                )
                            }
                        } catch {
                            if sent >= measureFrom { errors += 1 }
                        }
                    }
                    tally.add(latencies, errors: errors)
                }
            }
        }
        try await group.waitForAll()
    }
    let (latencies, errors) = tally.result
    let sorted = latencies.sorted()
    func percentile(_ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    let throughput = Double(sorted.count) / seconds
    print(
        String(
            format:
                "grpc-swift-2 ping: %d connections × 1 in flight: %.0f ops/s, p50 %.3f ms, p99 %.3f ms, %d ok, %d errors",
            connections,
            throughput,
            percentile(0.5),
            percentile(0.99),
            sorted.count,
            errors
        )
    )
    print(
        String(
            format:
                "json: {\"reference\":\"grpc-ping\",\"connections\":%d,\"throughput\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%d}",
            connections,
            throughput,
            percentile(0.5),
            percentile(0.99),
            errors
        )
    )
}

let arguments = CommandLine.arguments.dropFirst()
switch (arguments.first, arguments.count) {
case ("serve", 2):
    guard let port = Int(arguments[2]) else { fatalError("usage: grpc-peer serve PORT") }
    try await serve(port: port)
case ("load", 4), ("load", 5):
    let values = arguments.dropFirst().map { Double($0) }
    guard values.allSatisfy({ $0 != nil }) else {
        fatalError("usage: grpc-peer load PORT CONNECTIONS SECONDS [WARMUP]")
    }
    try await load(
        port: Int(values[0]!),
        connections: Int(values[1]!),
        seconds: values[2]!,
        warmup: values.count > 3 ? values[3]! : 1
    )
default:
    FileHandle.standardError.write(
        Data("usage: grpc-peer serve PORT | grpc-peer load PORT CONNECTIONS SECONDS [WARMUP]\n".utf8)
    )
    exit(2)
}
