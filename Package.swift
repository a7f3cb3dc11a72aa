// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "lockbox",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lockboxd", targets: ["lockboxd"]),
        .executable(name: "lockbox", targets: ["lockbox"]),
        .executable(name: "lockbox-bench", targets: ["lockbox-bench"]),
        .library(name: "LockboxClient", targets: ["LockboxRPC", "LockboxProto", "LockboxIntegrity", "LockboxTrust"]),
        // For data planes: checks a grant's evidence against the tenant roots they pin. No server
        // dependencies: swift-crypto and Foundation.
        .library(name: "LockboxTrust", targets: ["LockboxTrust", "LockboxIntegrity"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
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
        // Framing, the connection state machine, typed method descriptors, the router, the server and the client.
        .target(
            name: "LockboxRPC",
            dependencies: [
                "LockboxProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The audit log's hash chains, signed checkpoints and signed approvals: canonical bytes,
        // Ed25519 signing and offline verification. Pure: no I/O, shared by server and CLI.
        .target(
            name: "LockboxIntegrity",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Customer-signed trust: tenant roots, key certificates, revocations, policies and
        // decisions (Ed25519 and passkeys), the evidence behind a grant and its verifier. Pure.
        .target(
            name: "LockboxTrust",
            dependencies: ["LockboxIntegrity", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // What operators watch: Prometheus metrics, /healthz and /readyz on their own HTTP port,
        // and JSON log lines.
        .target(
            name: "LockboxObservability",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Option values (durations, host:port) and LOCKBOX_* environment lookup, for the executables.
        .target(name: "LockboxOptionParsing", swiftSettings: swiftSettings),
        // libpq, found through pkg-config (Debian libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // libcurl, for SMTP and HTTPS delivery (Debian libcurl4-openssl-dev).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Email and webhook delivery: the SMTP relay and HTTPS endpoints over libcurl, the
        // words of the emails, webhook signatures. No database.
        .target(
            name: "LockboxDelivery",
            dependencies: [
                "CCurl", "LockboxCore", "LockboxIntegrity", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The one rulebook: states and transitions, the access decision, the authorization policy,
        // input limits, the injectable clock. Pure: no I/O.
        .target(name: "LockboxCore", swiftSettings: swiftSettings),
        // The data layer: all SQL, one store per aggregate, typed binds and rows, over libpq's
        // connection pool; migrations.
        .target(
            name: "LockboxStore",
            dependencies: [
                "CLibPQ",
                "LockboxCore",
                "LockboxIntegrity",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Lockbox API: the gatekeeper every call passes, one thin API per area, sweepers, notifications.
        .target(
            name: "LockboxServer",
            dependencies: [
                "LockboxCore",
                "LockboxDelivery",
                "LockboxIntegrity",
                "LockboxObservability",
                "LockboxProto",
                "LockboxRPC",
                "LockboxStore",
                "LockboxTrust",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lockboxd",
            dependencies: [
                "LockboxObservability",
                "LockboxOptionParsing",
                "LockboxCore",
                "LockboxDelivery",
                "LockboxIntegrity",
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
                "LockboxIntegrity",
                "LockboxTrust",
                "LockboxOptionParsing",
                "LockboxProto",
                "LockboxRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load generator: drives a running lockboxd over the real protocol (scripts/bench).
        .executableTarget(
            name: "lockbox-bench",
            dependencies: [
                "LockboxOptionParsing",
                "LockboxTrust",
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

        // MARK: Tests, one target per layer.

        // Heap statistics from glibc, for the leak tests.
        .target(name: "CHeapStats", path: "Tests/CHeapStats"),
        // Shared by the PostgreSQL, integration and binary tests: test databases, an in-process
        // server harness, and the built executables.
        .target(
            name: "LockboxTestSupport",
            dependencies: [
                "LockboxIntegrity",
                "LockboxCore",
                "LockboxProto",
                "LockboxRPC",
                "LockboxServer",
                "LockboxStore",
                "LockboxTrust",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/LockboxTestSupport",
            swiftSettings: swiftSettings
        ),
        // Pure: round trips, wire compatibility with protoc, decoder robustness, leaks.
        .testTarget(
            name: "LockboxProtoTests",
            dependencies: [
                "LockboxProto", "LockboxRPC", "CHeapStats", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The state machine without sockets, framing on EmbeddedChannel, the server and client on loopback.
        .testTarget(
            name: "LockboxRPCTests",
            dependencies: [
                "LockboxTestSupport",
                "LockboxRPC",
                "LockboxProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pure tables: canonical bytes, the chain verifier's findings, signatures, the export format.
        .testTarget(
            name: "LockboxIntegrityTests",
            dependencies: ["LockboxIntegrity"],
            swiftSettings: swiftSettings
        ),
        // Pure tables: customer-signed statements, chains of trust, passkey assertions, evidence.
        .testTarget(
            name: "LockboxTrustTests",
            dependencies: [
                "LockboxTrust", "LockboxIntegrity", "LockboxTestSupport", "LockboxRPC", "LockboxProto",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pure tables: email text and encoding, webhook signatures, which addresses webhooks may reach.
        .testTarget(
            name: "LockboxDeliveryTests",
            dependencies: ["LockboxDelivery", "LockboxCore"],
            swiftSettings: swiftSettings
        ),
        // Pure tables: lifecycle, access decision, authorization matrix, input limits.
        .testTarget(
            name: "LockboxCoreTests",
            dependencies: ["LockboxCore"],
            swiftSettings: swiftSettings
        ),
        // Against the PostgreSQL that scripts/test starts: typed binds and rows, each store.
        .testTarget(
            name: "LockboxStoreTests",
            dependencies: ["LockboxStore", "LockboxCore", "LockboxTestSupport"],
            swiftSettings: swiftSettings
        ),
        // Pure: the server's method table and error mapping.
        .testTarget(
            name: "LockboxServerTests",
            dependencies: [
                "LockboxServer",
                "LockboxCore",
                "LockboxRPC",
                "LockboxStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The whole server in process, over real sockets and a real PostgreSQL.
        .testTarget(
            name: "LockboxIntegrationTests",
            dependencies: [
                "LockboxIntegrity",
                "LockboxTestSupport",
                "LockboxRPC",
                "LockboxProto",
                "LockboxCore",
                "LockboxStore",
                "LockboxServer",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The built lockboxd and lockbox executables: the README walkthrough, replicas, a lost database.
        .testTarget(
            name: "LockboxBinaryTests",
            dependencies: [
                "LockboxIntegrity",
                "LockboxTestSupport",
                "LockboxRPC",
                "LockboxProto",
                "LockboxStore",
                "LockboxServer",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The repository itself: docs against code, the compose file, generated code, where SQL lives.
        .testTarget(
            name: "LockboxPackagingTests",
            dependencies: [
                "LockboxTestSupport",
                "LockboxRPC",
                "LockboxProto",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
