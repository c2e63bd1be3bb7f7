// swift-tools-version:6.0
import PackageDescription

// ModelPull has no package dependencies on purpose: it must build anywhere the Swift toolchain
// does, with Foundation (FoundationNetworking on Linux), Dispatch and the C library only.
let package = Package(
    name: "ModelPull",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "modelpull", targets: ["modelpull"]),
        .library(name: "ModelPullCore", targets: ["ModelPullCore"]),
        .library(name: "ModelPullRPC", targets: ["ModelPullRPC"]),
    ],
    targets: [
        // The engine: jobs, transfers, integrity, providers, storage. Knows nothing of JSON-RPC.
        .target(name: "ModelPullCore", dependencies: ["CModelPullSHA", "CModelPullCurl"]),
        // SHA-256 block functions on the CPU's SHA instructions (x86-64 SHA-NI, ARMv8 SHA2) with
        // runtime detection: Swift cannot emit them, and hashing must keep up with the network.
        // Per-function target attributes, so no special flags; compiles to a no-op elsewhere.
        .target(name: "CModelPullSHA"),
        // File bodies over libcurl's multi interface (see TransferEngine.swift): libcurl is what
        // FoundationNetworking is built on, loaded with dlopen at run time, so building needs no
        // libcurl headers and a system without it falls back to URLSession.
        .target(name: "CModelPullCurl",
                linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // JSON-RPC 2.0 over stdio: JSON values, framing, the ordered writer, dispatch, methods.
        .target(name: "ModelPullRPC", dependencies: ["ModelPullCore"]),
        // The executable: argument parsing, stdio wiring, signals, `serve` and `pull`.
        .executableTarget(name: "modelpull", dependencies: ["ModelPullRPC", "ModelPullCore"]),
        // Measurements for Benchmarks/run.sh (SHA-256 throughput, spawn → hello latency), kept
        // out of the product CLI. Not a product: `swift build --product modelpull-bench`.
        .executableTarget(name: "modelpull-bench", dependencies: ["ModelPullCore"]),

        // Loopback HTTP/1.1 servers (fake Hub, fake Ollama, fault injection) and process helpers.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The loopback servers tested on their own, so a fault in the harness is not read as one in the product.
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        .testTarget(name: "ModelPullCoreTests", dependencies: ["ModelPullCore", "TestSupport"]),
        .testTarget(name: "ModelPullRPCTests", dependencies: ["ModelPullRPC", "ModelPullCore"]),
        // Spawns the built `modelpull` binary over real pipes.
        .testTarget(name: "EndToEndTests", dependencies: ["modelpull", "TestSupport"]),
    ]
)
