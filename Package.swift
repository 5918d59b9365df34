// swift-tools-version:6.0
import PackageDescription

// The GPU machine has no Swift runtime and none of our C libraries: `LOOKOUT_STATIC_LIBS=1 swift build
// -c release --static-swift-stdlib` links OpenBLAS, libjpeg, libpng and zlib statically so that the binary
// needs only libc, libm and libstdc++ there (see docs/gpu-machine.md).
let staticLibs = Context.environment["LOOKOUT_STATIC_LIBS"] == "1"

func systemLibraries(_ names: [String]) -> [LinkerSetting] {
    if staticLibs {
        return [.unsafeFlags(names.flatMap { ["-Xlinker", "-l:lib\($0).a"] })]
    }
    return names.map { .linkedLibrary($0) }
}

// Per-pixel Swift loops (letterbox, resize, NMS, drawing) are optimised in debug builds too: the test suite runs
// them on hundreds of images, and at -Onone they are ~50x slower.
let hotLoops: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

// FFmpeg for the streaming targets: the system's shared libraries, or with LOOKOUT_STATIC_LIBS=1 the static build
// that scripts/build-ffmpeg-static.sh installs into .ffmpeg-static/ (the GPU machine has no FFmpeg).
let ffmpegStaticPrefix = Context.packageDirectory + "/.ffmpeg-static"
let ffmpegCSettings: [CSetting] = staticLibs ? [.unsafeFlags(["-I", ffmpegStaticPrefix + "/include"])] : []
let ffmpegLinkerSettings: [LinkerSetting] =
    staticLibs
    ? [.unsafeFlags(["-L", ffmpegStaticPrefix + "/lib"])]
        + systemLibraries(["avformat", "avcodec", "swscale", "avutil", "z"]) + [.linkedLibrary("pthread"), .linkedLibrary("m")]
    : systemLibraries(["avformat", "avcodec", "swscale", "avutil"])

let package = Package(
    name: "Lookout",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lookout", targets: ["lookout"]),
        .library(name: "Lookout", targets: ["Lookout"]),
        .library(name: "LookoutModel", targets: ["LookoutModel"]),
        .library(name: "LookoutCPU", targets: ["LookoutCPU"]),
        .library(name: "LookoutYOLO", targets: ["LookoutYOLO"]),
        .library(name: "LookoutMedia", targets: ["LookoutMedia"]),
        .library(name: "LookoutCUDA", targets: ["LookoutCUDA"]),
        .library(name: "LookoutCUDABackend", targets: ["LookoutCUDABackend"]),
        .library(name: "LookoutPipeline", targets: ["LookoutPipeline"]),
        // Streaming (issue 5).
        .library(name: "LookoutVideo", targets: ["LookoutVideo"]),
        .library(name: "LookoutStream", targets: ["LookoutStream"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Streaming (issue 5): metrics, their Prometheus text form, and the HTTP server of `--metrics-port`.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C declarations of the BLAS entry points we call; OpenBLAS is linked (module map, no vendored code).
        .target(
            name: "CLookoutBLAS",
            // Static OpenBLAS needs libgfortran only for the LAPACK routines, which we never call, and Debian ships
            // no libgfortran.a: link pthread alone.
            linkerSettings: systemLibraries(["openblas"]) + (staticLibs ? [.linkedLibrary("pthread")] : [])
        ),
        // libjpeg-turbo and libpng behind a small C door (their error handling needs setjmp).
        .target(
            name: "CLookoutImage",
            linkerSettings: systemLibraries(["jpeg", "png16", "z"])
        ),
        // CPU micro-kernels around BLAS, with run-time dispatch across x86 levels; always optimised (tests run
        // in debug builds and would otherwise spend minutes in -O0 loops).
        .target(name: "CLookoutKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // Our own declarations of the CUDA driver API and NVRTC; the libraries are dlopen'ed at run time.
        .target(name: "CLookoutCUDA"),
        // Counting replacements of malloc and friends (forwarding to glibc), for "allocations per frame".
        .target(name: "CLookoutAllocCounter"),
        // Cache-line write-back for host buffers the copy engine reads.
        .target(name: "CLookoutHostMemory"),

        // Shared small pieces: benchmark reports, latency statistics, half-precision helpers.
        .target(name: "LookoutCore"),
        // ONNX reading, the graph IR, shape inference, optimisation passes and the memory plan.
        .target(name: "LookoutModel", dependencies: ["LookoutCore"]),
        // Executes the optimised graph on the CPU in fp32 with OpenBLAS.
        .target(name: "LookoutCPU", dependencies: ["LookoutModel", "LookoutCore", "CLookoutBLAS", "CLookoutKernels"]),
        // Image decoding/encoding (libjpeg-turbo, libpng), EXIF orientation, drawing.
        .target(name: "LookoutMedia", dependencies: ["LookoutCore", "CLookoutImage"], swiftSettings: hotLoops),
        // Ultralytics-exact letterbox, NMS, box scaling and the val metrics.
        .target(name: "LookoutYOLO", dependencies: ["LookoutCore", "LookoutMedia"], swiftSettings: hotLoops),
        // The CUDA driver API and NVRTC, loaded at run time: contexts, streams, buffers, kernels, graphs.
        .target(name: "LookoutCUDA", dependencies: ["LookoutCore", "CLookoutCUDA"]),
        // The CUDA backend: the GPU letterbox, the inference engine over an ExecutionPlan (NVRTC kernels, CUDA graphs)
        // and GPU postprocessing (NMS).
        .target(
            name: "LookoutCUDABackend",
            dependencies: ["LookoutCore", "LookoutCUDA", "CLookoutCUDA", "LookoutModel", "LookoutYOLO"]),
        // Frame pools, transfer modes, stages and the batcher.
        .target(
            name: "LookoutPipeline",
            dependencies: [
                "LookoutCore", "LookoutCUDA", "LookoutCUDABackend", "LookoutYOLO", "LookoutMedia", "CLookoutAllocCounter",
                "CLookoutHostMemory",
            ]),
        // The façade: detectors on a device, benchmarks.
        .target(
            name: "Lookout",
            dependencies: [
                "LookoutCore", "LookoutModel", "LookoutCPU", "LookoutYOLO", "LookoutMedia", "LookoutCUDA",
                "LookoutCUDABackend", "LookoutPipeline",
            ]
        ),
        .executableTarget(
            name: "lookout",
            dependencies: [
                "Lookout", "LookoutCUDA", "LookoutCUDABackend", "LookoutPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "LookoutStream", "LookoutVideo",
            ]
        ),

        // Streaming (issue 5). FFmpeg's libavformat/libavcodec/libswscale (Debian's 5.1, or the static build of
        // scripts/build-ffmpeg-static.sh under .ffmpeg-static/ when LOOKOUT_STATIC_LIBS=1) behind a small C door.
        .target(name: "CLookoutFFmpeg", cSettings: ffmpegCSettings, linkerSettings: ffmpegLinkerSettings),
        // Video decoding into caller-owned BGR buffers and annotated-video encoding.
        .target(name: "LookoutVideo", dependencies: ["LookoutCore", "LookoutMedia", "CLookoutFFmpeg"]),
        // Sources, frame pools per stream, the dynamic batcher, stages, results, metrics, `bench pipeline`.
        .target(
            name: "LookoutStream",
            dependencies: [
                "Lookout", "LookoutCore", "LookoutMedia", "LookoutYOLO", "LookoutPipeline", "LookoutCUDA", "LookoutVideo",
                "LookoutCUDABackend", "CLookoutHostMemory",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),

        .testTarget(name: "LookoutCoreTests", dependencies: ["LookoutCore"]),
        // The fixture paths and the export matrix's manifest, shared by the test targets.
        .target(name: "LookoutTestFixtures", path: "Tests/LookoutTestFixtures"),
        .testTarget(name: "LookoutModelTests", dependencies: ["LookoutModel", "LookoutTestFixtures"]),
        .testTarget(name: "LookoutCPUTests", dependencies: ["LookoutCPU", "LookoutModel", "LookoutTestFixtures"]),
        .testTarget(name: "LookoutMediaTests", dependencies: ["LookoutMedia"]),
        .testTarget(name: "LookoutYOLOTests", dependencies: ["LookoutYOLO", "LookoutMedia"]),
        .testTarget(name: "LookoutCUDATests", dependencies: ["LookoutCUDA"]),
        .testTarget(
            name: "LookoutCUDABackendTests",
            dependencies: [
                "LookoutCUDABackend", "LookoutCUDA", "LookoutModel", "LookoutYOLO", "LookoutMedia", "LookoutCPU",
                "LookoutTestFixtures",
            ]),
        .testTarget(
            name: "LookoutPipelineTests", dependencies: ["LookoutPipeline", "LookoutMedia", "LookoutYOLO", "CLookoutHostMemory"]),
        .testTarget(name: "LookoutTests", dependencies: ["Lookout", "LookoutTestFixtures"]),
        .testTarget(
            name: "LookoutStreamTests",
            dependencies: ["LookoutStream", "LookoutVideo", "Lookout", "LookoutCUDABackend", "LookoutTestFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
