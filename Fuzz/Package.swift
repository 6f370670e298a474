// swift-tools-version:6.0
import PackageDescription

// Coverage-guided fuzz targets (libFuzzer) for SwiftNAS's file parsers, one executable per parser.
// Built only by `make fuzz` (never by `swift build` / `swift test` of the main package):
//
//   swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address
//
// (no -parse-as-library: each target's main.swift is its entry point, which SwiftPM renames and aliases
// to `main`; it hands `LLVMFuzzerTestOneInput` to libFuzzer's driver). Seeds: Fuzz/corpus/<target>/.
let swiftMode: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let targets = ["safetensors", "config", "architecture", "space", "vocab", "glue", "study"]

let package = Package(
    name: "SwiftNASFuzz",
    products: targets.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) },
    dependencies: [.package(name: "SwiftNAS", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: [
            .product(name: "NASTensor", package: "SwiftNAS"),
            .product(name: "NASModels", package: "SwiftNAS"),
            .product(name: "NASText", package: "SwiftNAS"),
            .product(name: "NASSearch", package: "SwiftNAS"),
        ], swiftSettings: swiftMode),
    ] + targets.map {
        .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzSupport", "CFuzzDriver"], path: "Sources/fuzz-\($0)",
                          swiftSettings: swiftMode)
    }
)
