// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "lockbox",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lockboxd", targets: ["lockboxd"]),
        .executable(name: "lockbox", targets: ["lockbox"]),
        .executable(name: "lockbox-bench", targets: ["lockbox-bench"]),
        .library(name: "LockboxClient", targets: ["LockboxRPC", "LockboxProto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // protoc-c output for proto/lockbox.proto (scripts/gen-proto), linked against libprotobuf-c.
        .target(
            name: "CLockboxProto",
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        // Swift value types bound by hand over CLockboxProto. The only module that touches its pointers.
        .target(
            name: "LockboxProto",
            dependencies: ["CLockboxProto"],
            swiftSettings: swiftSettings
        ),
        // Length-prefixed framing, call multiplexing, status codes, the RPC server and the async client.
        .target(
            name: "LockboxRPC",
            dependencies: [
                "LockboxProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the two executables: duration parsing and LOCKBOX_* environment lookup.
        .target(name: "LockboxCommandSupport", swiftSettings: swiftSettings),
        // libpq, found through pkg-config (Debian libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // PostgreSQL through libpq: connections, the bounded pool, transactions, migrations.
        .target(
            name: "LockboxStore",
            dependencies: [
                "CLibPQ",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pure domain logic: request states and transitions, policy, the injectable clock. No I/O.
        .target(name: "LockboxCore", swiftSettings: swiftSettings),
        // The Lockbox API: authentication, authorization, handlers, sweepers; wired onto the RPC server.
        .target(
            name: "LockboxServer",
            dependencies: [
                "LockboxCore",
                "LockboxProto",
                "LockboxRPC",
                "LockboxStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lockboxd",
            dependencies: [
                "LockboxCommandSupport",
                "LockboxCore",
                "LockboxServer",
                "LockboxStore",
                "LockboxRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lockbox",
            dependencies: [
                "LockboxCommandSupport",
                "LockboxProto",
                "LockboxRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Heap statistics from glibc, for the leak tests.
        .target(name: "CHeapStats", path: "Tests/CHeapStats"),
        // Load generator: drives a running lockboxd over the real protocol (scripts/bench).
        .executableTarget(
            name: "lockbox-bench",
            dependencies: [
                "LockboxCommandSupport",
                "LockboxProto",
                "LockboxRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LockboxProtoTests",
            dependencies: ["LockboxProto", "CHeapStats"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LockboxRPCTests",
            dependencies: [
                "LockboxRPC",
                "LockboxProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LockboxCoreTests",
            dependencies: ["LockboxCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LockboxServerTests",
            dependencies: [
                "LockboxRPC",
                "LockboxProto",
                "LockboxCore",
                "LockboxStore",
                "LockboxServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
