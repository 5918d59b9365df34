// swift-tools-version:6.1
import PackageDescription

// Lookout: YOLO detection around zero-copy GPU pipelines. One library product (`Lookout`, the user surface) and
// one executable (`lookout`). The targets follow the data path of DESIGN.md:
//
//   C doors         CLookoutBLAS, CLookoutImage, CLookoutFFmpeg, CLookoutKernels, CLookoutCUDA, CLookoutHostMemory
//   model           LookoutModel        ONNX, graph IR, passes, memory plan
//   backends        LookoutCPU, LookoutCUDA (driver layer), LookoutCUDABackend (GPU engine, letterbox, NMS)
//   media, YOLO     LookoutMedia (images and video), LookoutYOLO (letterbox, NMS, metrics)
//   inference       LookoutInference    a model on a device: Detector, batched detection, validation
//   pipeline        LookoutPipeline     sources → pool → upload → batching → stages → results, metrics; a Service
//   server          LookoutServer       HTTP (Hummingbird): `lookout serve`, the KServe v2 server (and gRPC), metrics
//   façade          Lookout             re-exports the user-facing API, DocC catalog
//   bench, selftest LookoutBench, LookoutSelftest: benchmark commands and GPU self-tests, linked only by the CLI
//   CLI             LookoutCLI          the `lookout` executable
//
// Build switches (environment, read when the manifest is evaluated; none is needed to use Lookout as a dependency):
// * LOOKOUT_DEV_FLAGS=1 (set by scripts/test and the static build): optimise the per-pixel Swift loops, the model
//   loader, the CPU executor, the GPU-op emulator of the CUDA backend's tests and the C kernels in debug builds too
//   (at -Onone the test suite's letterbox, resize and NMS loops run ~50x slower, the emulated GPU plans ~20x) and
//   compile the C kernels with -O3 -fno-math-errno in release.
// * LOOKOUT_STATIC_LIBS=1: link OpenBLAS, libjpeg, libpng, zlib and FFmpeg statically (the static FFmpeg of
//   scripts/build-ffmpeg-static.sh in .ffmpeg-static/), for the GPU machine's binary (docs/gpu-machine.md).
let devFlags = Context.environment["LOOKOUT_DEV_FLAGS"] == "1"
let staticLibs = Context.environment["LOOKOUT_STATIC_LIBS"] == "1"

func systemLibraries(_ names: [String]) -> [LinkerSetting] {
    if staticLibs {
        return [.unsafeFlags(names.flatMap { ["-Xlinker", "-l:lib\($0).a"] })]
    }
    return names.map { .linkedLibrary($0) }
}

let hotLoops: [SwiftSetting] = devFlags ? [.unsafeFlags(["-O"], .when(configuration: .debug))] : []
let kernelFlags: [CSetting] = devFlags ? [.unsafeFlags(["-O3", "-fno-math-errno"])] : []

let ffmpegStaticPrefix = Context.packageDirectory + "/.ffmpeg-static"
let ffmpegCSettings: [CSetting] = staticLibs ? [.unsafeFlags(["-I", ffmpegStaticPrefix + "/include"])] : []
let ffmpegLinkerSettings: [LinkerSetting] =
    staticLibs
    ? [.unsafeFlags(["-L", ffmpegStaticPrefix + "/lib"])]
        + systemLibraries(["avformat", "avcodec", "swscale", "avutil", "z"])
        + [.linkedLibrary("pthread"), .linkedLibrary("m")]
    : systemLibraries(["avformat", "avcodec", "swscale", "avutil"])

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioHTTPTypes = Target.Dependency.product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let basicContainers = Target.Dependency.product(name: "BasicContainers", package: "swift-collections")
let hdrHistogram = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")
let grpcCore = Target.Dependency.product(name: "GRPCCore", package: "grpc-swift-2")
let grpcHTTP2 = Target.Dependency.product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")
let grpcProtobuf = Target.Dependency.product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")

let package = Package(
    name: "Lookout",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lookout", targets: ["LookoutCLI"]),
        .library(name: "Lookout", targets: ["Lookout"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // Without its default traits: FullFoundation would link Foundation (and ICU's data, 34 MB) into the binary,
        // and ConfigurationSupport swift-configuration, neither of which Lookout uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.16.0", traits: []),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // The inference server's gRPC side (LookoutServer only). The code generated from Protos/inference.proto is
        // committed (scripts/generate-grpc.sh): no build plugin. swift-protobuf without its default traits, which
        // would link Foundation.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0", traits: []),
    ],
    targets: [
        // MARK: C doors (our own declarations; libraries linked, or loaded at run time for NVIDIA's)

        // The BLAS entry points we call; OpenBLAS is linked. Static OpenBLAS needs libgfortran only for LAPACK,
        // which we never call, and Debian ships no libgfortran.a: link pthread alone.
        .target(
            name: "CLookoutBLAS",
            linkerSettings: systemLibraries(["openblas"]) + (staticLibs ? [.linkedLibrary("pthread")] : [])),
        // libjpeg-turbo and libpng (their error handling needs setjmp).
        .target(name: "CLookoutImage", linkerSettings: systemLibraries(["jpeg", "png16", "z"])),
        // FFmpeg's libavformat/libavcodec/libswscale (Debian's 5.1, or the static build under .ffmpeg-static/).
        .target(name: "CLookoutFFmpeg", cSettings: ffmpegCSettings, linkerSettings: ffmpegLinkerSettings),
        // CPU micro-kernels around BLAS, with run-time dispatch across x86 levels.
        .target(name: "CLookoutKernels", cSettings: kernelFlags),
        // The CUDA driver API, NVRTC and cuDNN as function-pointer types; the libraries are dlopen'ed at run time.
        .target(name: "CLookoutCUDA"),
        // Non-temporal stores, cache-line write-back and release stores for host buffers the copy engine reads.
        .target(name: "CLookoutHostMemory"),
        // A fork-join pool of threads (the CPU backend's loops, the CPU letterbox's bands).
        .target(name: "CLookoutThreads"),
        // Counting replacements of malloc and friends, for the benchmarks' "allocations per frame".
        .target(name: "CLookoutAllocCounter"),
        // SQLite (the event store) and libyaml (rule files), the system's libraries. GRDB and Yams wrap the same two
        // libraries but import Foundation, which links ICU's data into the binary (docs/events.md has the figures).
        .target(
            name: "CLookoutSQLite",
            linkerSettings: systemLibraries(["sqlite3"])
                + (staticLibs ? [.linkedLibrary("dl"), .linkedLibrary("m")] : [])),
        .target(name: "CLookoutYAML", linkerSettings: systemLibraries(["yaml"])),

        // MARK: The libraries the product runs

        // Errors, ordered JSON, threads and locks, text formatting: the small things every module shares.
        .target(name: "LookoutCore", dependencies: ["CLookoutThreads", hdrHistogram]),
        .target(name: "LookoutModel", dependencies: ["LookoutCore"], swiftSettings: hotLoops),
        .target(
            name: "LookoutCPU", dependencies: ["LookoutModel", "LookoutCore", "CLookoutBLAS", "CLookoutKernels"],
            swiftSettings: hotLoops),
        .target(name: "LookoutCUDA", dependencies: ["LookoutCore", "CLookoutCUDA"]),
        .target(
            name: "LookoutMedia", dependencies: ["LookoutCore", "CLookoutImage", "CLookoutFFmpeg"],
            swiftSettings: hotLoops),
        .target(
            name: "LookoutYOLO", dependencies: ["LookoutCore", "LookoutMedia", "CLookoutHostMemory"],
            swiftSettings: hotLoops),
        .target(
            name: "LookoutCUDABackend",
            dependencies: ["LookoutCore", "LookoutCUDA", "CLookoutCUDA", "LookoutModel", "LookoutYOLO"],
            // The CUDA C++ that NVRTC compiles at run time, compiled into the binary as bytes (`PackageResources`):
            // no bundle to find, no Foundation.
            resources: [
                .embedInCode("Kernels/common.cuh"), .embedInCode("Kernels/tensor_core.cuh"),
                .embedInCode("Kernels/conv_epilogue.cuh"), .embedInCode("Kernels/conv_gather.cuh"),
                .embedInCode("Kernels/conv_mma.cuh"), .embedInCode("Kernels/conv_small.cuh"),
                .embedInCode("Kernels/conv_direct.cuh"), .embedInCode("Kernels/halo.cuh"),
                .embedInCode("Kernels/first_layer.cuh"), .embedInCode("Kernels/pointwise.cuh"),
                .embedInCode("Kernels/cudnn_epilogue.cuh"), .embedInCode("Kernels/elementwise.cuh"),
                .embedInCode("Kernels/spatial.cuh"), .embedInCode("Kernels/softmax.cuh"),
                .embedInCode("Kernels/kernel_trials.cuh"), .embedInCode("Kernels/wgmma.cuh"),
                .embedInCode("Kernels/conv_wgmma.cuh"), .embedInCode("Kernels/letterbox.cuh"),
                .embedInCode("Kernels/nms.cu"), .embedInCode("Kernels/attention.cuh"),
                .embedInCode("Kernels/selection.cuh"),
            ]),
        .target(
            name: "LookoutInference",
            dependencies: [
                "LookoutCore", "LookoutModel", "LookoutCPU", "LookoutYOLO", "LookoutMedia", "LookoutCUDA",
                "LookoutCUDABackend",
            ]),
        .target(
            name: "LookoutPipeline",
            dependencies: [
                "LookoutCore", "LookoutInference", "LookoutModel", "LookoutMedia", "LookoutYOLO", "LookoutCUDA",
                "LookoutCUDABackend", "CLookoutHostMemory", coreMetrics, prometheus, serviceLifecycle, basicContainers,
                hdrHistogram,
            ],
            // Optimised in debug builds too: the tests that count its allocations per frame see what a release build
            // does (unspecialised generic code allocates where specialised code does not).
            swiftSettings: hotLoops),
        // Tracking, zones and rules, events, the SQLite store and the sinks, beside the pipeline.
        .target(
            name: "LookoutEvents",
            dependencies: [
                "LookoutCore", "LookoutYOLO", "LookoutMedia", "LookoutPipeline", "CLookoutSQLite", "CLookoutYAML",
                nioCore, nioPosix, nioHTTP1, serviceLifecycle,
            ],
            swiftSettings: hotLoops),
        .target(
            name: "LookoutServer",
            dependencies: [
                "LookoutCore", "LookoutMedia", "LookoutPipeline", "LookoutEvents", "LookoutInference", "LookoutModel",
                "LookoutYOLO", hummingbird, logging, nioCore, nioPosix, nioHTTPTypes, serviceLifecycle, grpcCore,
                grpcHTTP2, grpcProtobuf, swiftProtobuf, prometheus,
            ]),
        .target(
            name: "Lookout",
            dependencies: [
                "LookoutCore", "LookoutModel", "LookoutMedia", "LookoutYOLO", "LookoutInference", "LookoutPipeline",
                "LookoutServer", "LookoutEvents",
            ]),

        // MARK: Benchmarks, self-tests and the CLI

        .target(
            name: "LookoutBench",
            dependencies: [
                "LookoutCore", "LookoutModel", "LookoutCPU", "LookoutMedia", "LookoutYOLO", "LookoutCUDA",
                "LookoutCUDABackend", "LookoutInference", "LookoutPipeline", "LookoutEvents", "CLookoutAllocCounter",
                "CLookoutHostMemory", hdrHistogram, basicContainers,
            ]),
        .target(
            name: "LookoutSelftest",
            dependencies: [
                "LookoutCore", "LookoutModel", "LookoutCPU", "LookoutMedia", "LookoutYOLO", "LookoutCUDA",
                "LookoutCUDABackend", "LookoutInference", "LookoutPipeline", "LookoutBench", "LookoutTestSupport",
                "CLookoutHostMemory",
            ]),
        .executableTarget(
            name: "LookoutCLI",
            dependencies: [
                "Lookout", "LookoutCore", "LookoutModel", "LookoutMedia", "LookoutYOLO", "LookoutCPU", "LookoutCUDA",
                "LookoutCUDABackend", "LookoutInference", "LookoutPipeline", "LookoutServer", "LookoutEvents",
                "LookoutBench", "LookoutSelftest", argumentParser, serviceLifecycle, unixSignals, logging,
            ]),

        // MARK: Test support and tests

        // Oracles the tests and the GPU self-tests compare against (no test framework: the self-tests ship).
        .target(
            name: "LookoutTestSupport", dependencies: ["LookoutCUDABackend", "LookoutYOLO"],
            path: "Tests/LookoutTestSupport"),
        // The fixture paths and the export matrix's manifest, shared by the test targets.
        .target(name: "LookoutTestFixtures", path: "Tests/LookoutTestFixtures"),
        .testTarget(name: "LookoutCoreTests", dependencies: ["LookoutCore"]),
        .testTarget(name: "LookoutModelTests", dependencies: ["LookoutModel", "LookoutCore", "LookoutTestFixtures"]),
        .testTarget(name: "LookoutCPUTests", dependencies: ["LookoutCPU", "LookoutModel", "LookoutTestFixtures"]),
        .testTarget(
            name: "LookoutMediaTests",
            dependencies: [
                "LookoutMedia", "LookoutCore", "LookoutTestFixtures", "CLookoutFFmpeg", "CLookoutAllocCounter",
            ]),
        .testTarget(
            name: "LookoutYOLOTests",
            dependencies: [
                "LookoutYOLO", "LookoutMedia", "LookoutCore", "LookoutTestFixtures", "CLookoutHostMemory",
                "CLookoutAllocCounter",
            ]),
        .testTarget(name: "LookoutCUDATests", dependencies: ["LookoutCUDA", "LookoutCore", "CLookoutCUDA"]),
        .testTarget(
            name: "LookoutCUDABackendTests",
            dependencies: [
                "LookoutCUDABackend", "LookoutCUDA", "LookoutModel", "LookoutYOLO", "LookoutMedia", "LookoutCPU",
                "LookoutTestFixtures", "LookoutTestSupport", "CLookoutCUDA",
            ],
            // GPUOpEmulator runs whole models' GPU ops element by element on the CPU.
            swiftSettings: hotLoops),
        .testTarget(
            name: "LookoutInferenceTests",
            dependencies: [
                "LookoutInference", "LookoutModel", "LookoutMedia", "LookoutYOLO", "LookoutCore", "LookoutTestFixtures",
            ]),
        .testTarget(
            name: "LookoutPipelineTests",
            dependencies: [
                "LookoutPipeline", "LookoutInference", "LookoutModel", "LookoutMedia", "LookoutYOLO", "LookoutCUDA",
                "LookoutCore",
                "LookoutServer", "LookoutSelftest", "LookoutTestFixtures", "LookoutTestSupport", "LookoutCUDABackend",
                "CLookoutHostMemory", "CLookoutAllocCounter", basicContainers,
            ]),
        .testTarget(
            name: "LookoutBenchTests",
            dependencies: [
                "LookoutBench", "LookoutPipeline", "LookoutYOLO", "LookoutMedia", "LookoutCore", "LookoutCUDA",
                "CLookoutAllocCounter",
            ]),
        .testTarget(
            name: "LookoutEventsTests",
            dependencies: [
                "LookoutEvents", "LookoutPipeline", "LookoutInference", "LookoutModel", "LookoutMedia", "LookoutYOLO",
                "LookoutCore", "LookoutCUDA", "LookoutTestFixtures",
            ]),
        .testTarget(
            name: "LookoutServerTests",
            dependencies: [
                "LookoutServer", "LookoutInference", "LookoutModel", "LookoutMedia", "LookoutCUDA", "LookoutCore",
                "LookoutTestFixtures", grpcCore,
            ]),
        .testTarget(
            name: "LookoutCLITests",
            dependencies: ["LookoutInference", "LookoutMedia", "LookoutModel", "LookoutTestFixtures"]),
        .testTarget(
            name: "LookoutTests", dependencies: ["Lookout", "LookoutTestFixtures", serviceLifecycle, logging]),
    ],
    swiftLanguageModes: [.v6]
)
