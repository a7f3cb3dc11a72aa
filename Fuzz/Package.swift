// swift-tools-version:6.0
// The libFuzzer target: decodes frames and every request message from arbitrary bytes.
// Built and run by scripts/fuzz, with the fuzzer and AddressSanitizer; not part of the
// main package's build.
import PackageDescription

let package = Package(
    name: "LockboxFuzz",
    dependencies: [
        .package(name: "lockbox", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "LockboxFuzz",
            dependencies: [
                .product(name: "LockboxClient", package: "lockbox"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        )
    ]
)
