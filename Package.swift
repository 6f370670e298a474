// swift-tools-version:6.0
import PackageDescription

// Hot C loops are built for the machine kind the project runs on (x86-64-v3: AVX2 + FMA).
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-march=x86-64-v3", "-fno-math-errno"])]
let swiftMode: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "SwiftNAS",
    products: [
        .executable(name: "swiftnas", targets: ["swiftnas"]),
        .library(name: "NASTensor", targets: ["NASTensor"]),
        .library(name: "NASModels", targets: ["NASModels"]),
        .library(name: "NASText", targets: ["NASText"]),
        .library(name: "NASTrain", targets: ["NASTrain"]),
        .library(name: "NASSearch", targets: ["NASSearch"]),
        .library(name: "NASCompress", targets: ["NASCompress"]),
        .library(name: "NASReport", targets: ["NASReport"]),
        .library(name: "NASDashboard", targets: ["NASDashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // libpq, PostgreSQL's own client (studies shared by workers): synchronous, like the search loop.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        // oneDNN (bf16/int8 GEMMs): Debian ships no pkg-config file, so the module map links it by name.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Open MPI (data-parallel training): only initialised under `mpirun` with more than one rank.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "CKernels", cSettings: kernelFlags),
        .target(name: "NASTensor", dependencies: ["COpenBLAS", "CDNNL", "CKernels", "CMPI"], swiftSettings: swiftMode),
        .target(name: "NASModels", dependencies: ["NASTensor", "CKernels"], swiftSettings: swiftMode),
        .target(name: "NASText", dependencies: ["NASModels"], swiftSettings: swiftMode),
        .target(name: "NASTrain", dependencies: ["NASText", "NASModels", "NASTensor"], swiftSettings: swiftMode),
        .target(name: "NASSearch", dependencies: ["NASTrain", "NASText", "NASModels", "NASTensor", "COpenBLAS", "CSQLite", "CLibPQ"], swiftSettings: swiftMode),
        // Compression of a trained model: quantization (PowerQuant exponents, simulated low-bit weights).
        .target(name: "NASCompress", dependencies: ["NASSearch", "NASTrain", "NASText", "NASModels", "NASTensor"], swiftSettings: swiftMode),
        // The views (HTML, inline SVG, CSS, a little JavaScript) of studies, rankings and training runs;
        // no server, so `swiftnas report` works without one.
        .target(name: "NASReport", dependencies: ["NASSearch", "NASModels"], swiftSettings: swiftMode),
        // The live dashboard: the views and a small read-only JSON API on Hummingbird.
        .target(name: "NASDashboard", dependencies: [
            "NASReport", "NASSearch",
            .product(name: "Hummingbird", package: "hummingbird"),
        ], swiftSettings: swiftMode),
        .executableTarget(name: "swiftnas", dependencies: [
            "NASTensor", "NASModels", "NASText", "NASTrain", "NASSearch", "NASCompress", "NASReport", "NASDashboard", "COpenBLAS", "CDNNL",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftMode),
        .testTarget(name: "NASTensorTests", dependencies: ["NASTensor"], swiftSettings: swiftMode),
        .testTarget(name: "NASModelsTests", dependencies: ["NASModels"], swiftSettings: swiftMode),
        .testTarget(name: "NASTextTests", dependencies: ["NASText"], swiftSettings: swiftMode),
        .testTarget(name: "NASTrainTests", dependencies: ["NASTrain"], swiftSettings: swiftMode),
        .testTarget(name: "NASSearchTests", dependencies: ["NASSearch"], swiftSettings: swiftMode),
        .testTarget(name: "NASCompressTests", dependencies: ["NASCompress", "NASSearch", "NASTrain", "NASText", "NASModels", "NASTensor"], swiftSettings: swiftMode),
        .testTarget(name: "NASReportTests", dependencies: ["NASReport", "NASSearch", "NASModels", "NASTensor"], swiftSettings: swiftMode),
        .testTarget(name: "NASDashboardTests", dependencies: [
            "NASDashboard", "NASReport", "NASSearch", "NASModels", "NASTensor",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], swiftSettings: swiftMode),
        // Runs the built `swiftnas` executable as a user would (depends on it so that it is built first).
        .testTarget(name: "SwiftNASCLITests", dependencies: ["swiftnas", "NASSearch"], swiftSettings: swiftMode),
    ]
)
