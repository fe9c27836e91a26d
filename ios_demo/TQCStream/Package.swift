// swift-tools-version:5.9
// The tested core of the iOS demo player: everything that needs neither Core ML nor UIKit.
// `swift test` here runs it (the tests read the shared golden vectors in ../../tests/vectors).
import PackageDescription

let package = Package(
    name: "TQCStream",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "TQCStream", targets: ["TQCStream"]),
    ],
    targets: [
        // C11 atomic operations on a 64-bit integer: what the lock-free ring buffer and the
        // cross-thread counters need, without a package dependency (swift-atomics) and without
        // Synchronization.Atomic (iOS 18 / macOS 15 only).
        .target(name: "CTQCAtomics"),
        .target(name: "TQCStream", dependencies: ["CTQCAtomics"]),
        .testTarget(name: "TQCStreamTests", dependencies: ["TQCStream"]),
    ]
)
