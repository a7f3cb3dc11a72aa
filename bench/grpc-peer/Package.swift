// swift-tools-version:6.0
// The grpc-swift-2 peer that scripts/bench measures Ping against: a unary server and a load
// generator on grpc-swift-2 with its HTTP/2 NIO transport, the stack a user would pick instead
// of Lockbox's own RPC layer. A package of its own, so that the server's build and tests do
// not carry it.
import PackageDescription

let package = Package(
    name: "grpc-peer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "grpc-peer",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        )
    ]
)
