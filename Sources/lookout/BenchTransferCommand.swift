import ArgumentParser
import Foundation
import LookoutCUDA
import LookoutCore
import LookoutCUDABackend
import LookoutPipeline

struct BenchTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "CPU→GPU transfer modes on a ring of distinct frames: fps, latency, bytes, CPU time, allocations.")

    @Option(name: .customLong("resolution"), help: "720p, 1080p, 4k or WxH; repeat for several.")
    var resolutions: [String] = ["1080p"]

    @Option(help: "Comma-separated modes: pageable, pinned, pinned-raw, mapped, managed, or all.")
    var modes = "all"

    @Option(help: "Measured frames per mode.") var frames = 600
    @Option(help: "Warm-up frames per mode.") var warmup = 60
    @Option(help: "Distinct source frames in the ring.") var ring = 8
    @Option(help: "Frames in flight at most.") var depth = 2
    @Option(help: "Threads of the CPU letterbox (pageable, pinned).") var cpuThreads = 8
    @Option(help: "--device: cuda or cuda:N (this benchmark needs a GPU).") var device = "cuda"
    @Option(help: "The pinned mode's staging memory: cached, write-combined or huge-pages.") var staging = "write-combined"
    @Flag(inversion: .prefixedNo, help: "Time the pinned mode's copy alone under different CPU loads, and copies by size.")
    var copyProbe = true
    @Flag(inversion: .prefixedNo, help: "Also run the pinned mode with one choice changed each: copies queued after the letterbox, cache write-back instead of non-temporal stores, neither, deferred copies, each copy split over 2 copy streams, huge-page staging, copies replayed from a CUDA graph.")
    var pinnedVariants = true
    @Option(help: "A PyTorch baseline script to run after Lookout's modes; its rows join the report.")
    var baseline: String?
    @Option(help: "Python interpreter for the baseline.") var python = "python3"
    @Option(help: "Where to write the JSON report ('-' for stdout).")
    var output = "bench/results/transfer.json"

    func run() throws {

        let request = try DeviceRequest(parsing: device)
        guard case .cuda(let ordinal) = request else {
            throw ValidationError("bench transfer measures a GPU: use --device cuda[:N]")
        }
        let driver: CUDADriver
        switch request.resolve() {
        case .failure(let error):
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        case .success(let resolved):
            guard case .cuda(let loaded, _) = resolved else { throw ExitCode.failure }
            driver = loaded
        }
        let modeList = try TransferMode.parseList(modes)
        let sizes = try resolutions.map { text throws(ResolutionError) in try Resolution(parsing: text) }
        let context = try CUDAContext(driver: driver, ordinal: ordinal)
        let nvrtc = try NVRTC.load().get()
        let letterbox = try GPULetterbox(compiler: KernelCompiler(context: context, nvrtc: nvrtc))
        print("device: \(context.device), driver \(driver.versionString), nvrtc \(nvrtc.version.major).\(nvrtc.version.minor) (letterbox kernel from \(letterbox.origin.rawValue))")

        var options = TransferBenchOptions()
        options.frames = frames
        options.warmup = warmup
        options.ring = ring
        options.depth = depth
        options.cpuThreads = cpuThreads
        guard let stagingKind = PinnedStaging(rawValue: staging) else {
            throw ValidationError("--staging: '\(staging)' is not one of cached, write-combined, huge-pages")
        }
        options.staging = stagingKind
        options.modes = modeList
        let peak = try TransferBench(context: context, letterbox: letterbox, options: options).peakBandwidth()
        print(String(format: "H2D peak: pinned %.1f GB/s, pageable %.1f GB/s (64 MiB copies, best of 10)", peak.pinned, peak.pageable))
        print(String(format: "H2D peak from registered huge pages: %.1f GB/s (%@ of 64 MiB granted as 2 MiB pages)", peak.hugePages,
                     peak.hugePageBytes.map { String($0 >> 20) + " MiB" } ?? "unknown"))

        var rows: [[(String, JSONValue)]] = []
        var probes: [JSONValue] = []
        var sweep: [JSONValue] = []
        var loadedSweep: [JSONValue] = []
        var gatedSweep: [JSONValue] = []
        var gatedLoadedSweep: [JSONValue] = []
        var costs: [(String, JSONValue)] = []
        for size in sizes {
            options.resolution = size
            let bench = try TransferBench(context: context, letterbox: letterbox, options: options)
            // The copy engine's rate at each size with the CPU idle: a frame's copy is compared with the rate a copy of
            // its own size reaches, as well as with the 64 MiB peak.
            var sameSize: [Int: Double] = [:]
            if copyProbe {
                for (letterboxing, gated) in [(false, false), (true, false), (false, true), (true, true)] {
                    let results = try bench.copySizeSweep(cpuLetterboxing: letterboxing, gated: gated)
                    let cpu = (letterboxing ? "cpu letterboxing" : "cpu idle") + (gated ? ", queued behind a gate" : "")
                    for (bytes, gbps) in results {
                        print(String(format: "copy size %9d B, %@: %.2f GB/s (%.0f%% of the 64 MiB peak)", bytes, cpu, gbps, 100 * gbps / peak.pinned))
                        let entry = JSONValue.object([("bytes", .int(bytes)), ("copy_gbps", JSONValue.rounded(gbps, digits: 2))])
                        switch (letterboxing, gated) {
                        case (false, false):
                            sweep.append(entry)
                            sameSize[bytes] = gbps
                        case (true, false): loadedSweep.append(entry)
                        case (false, true): gatedSweep.append(entry)
                        case (true, true): gatedLoadedSweep.append(entry)
                        }
                    }
                    if let fit = TransferBench.copyCost(results) {
                        print(String(format: "copy cost, %@: %.1f µs a copy + bytes at %.2f GB/s", cpu, fit.setupMicroseconds, fit.gbps))
                        costs.append(((letterboxing ? "cpu_letterboxing" : "cpu_idle") + (gated ? "_gated" : ""), .object([
                            ("setup_us", JSONValue.rounded(fit.setupMicroseconds, digits: 2)), ("gbps", JSONValue.rounded(fit.gbps, digits: 2)),
                        ])))
                    }
                }
            }
            func addRatio(_ row: inout [(String, JSONValue)], _ result: TransferResult) {
                if let rate = result.copyGBps, let reference = sameSize[result.bytesPerFrame] {
                    row.insert(("copy_vs_same_size_idle", JSONValue.rounded(rate / reference, digits: 3)), at: row.count - 1)
                }
            }
            for mode in modeList {
                let result = try bench.run(mode)
                var row = Self.row(result, peak: peak.pinned)
                addRatio(&row, result)
                rows.append(row)
                print(Self.line(result, peak: peak.pinned))
                fflush(nil)
                guard mode == .pinned && pinnedVariants else { continue }
                // The pinned mode with one of its choices changed (`TransferBenchOptions.pinnedVariants`).
                for (name, variant) in options.pinnedVariants {
                    var result = try TransferBench(context: context, letterbox: letterbox, options: variant).run(.pinned)
                    result.mode = name
                    var row = Self.row(result, peak: peak.pinned)
                    addRatio(&row, result)
                    rows.append(row)
                    print(Self.line(result, peak: peak.pinned))
                    fflush(nil)
                }
            }
            if copyProbe && modeList.contains(.pinned) {
                for p in try bench.copyProbe() {
                    print(String(format: "copy probe %@: %@ staging, %.2f GB/s (p10 %.2f, p90 %.2f) = %.0f%% of peak",
                                 p.condition, p.staging.rawValue, p.gbps, p.p10, p.p90, 100 * p.gbps / peak.pinned))
                    probes.append(.object([
                        ("resolution", .string(size.description)), ("cpu", .string(p.condition)),
                        ("staging", .string(p.staging.rawValue)), ("copy_gbps", JSONValue.rounded(p.gbps, digits: 2)),
                        ("copy_gbps_p10", JSONValue.rounded(p.p10, digits: 2)), ("copy_gbps_p90", JSONValue.rounded(p.p90, digits: 2)),
                        ("vs_pinned_peak", JSONValue.rounded(p.gbps / peak.pinned, digits: 3)),
                    ]))
                }
            }
            if let baseline {
                for row in try runBaseline(script: baseline, size: size) {
                    rows.append(row)
                    print(Self.line(row))
                }
            }
        }
        Self.printTable(rows)
        let settings: [(String, JSONValue)] = [
            ("frames", .int(frames)), ("warmup", .int(warmup)), ("ring", .int(ring)), ("depth", .int(depth)),
            ("cpu_threads", .int(cpuThreads)), ("staging", .string(staging)), ("tensor", .string("1x3x640x640 float32 NCHW RGB")),
            ("host", .string(BuildInfo.cpuDescription)), ("nvrtc", .string("\(nvrtc.version.major).\(nvrtc.version.minor)")),
            ("driver_path", .string(driver.path)),
        ]
        let report = BenchReport(
            benchmark: "transfer", device: context.device.description, driver: driver.versionString, settings: settings,
            rows: rows,
            extra: [
                ("h2d_peak_pinned_gbps", JSONValue.rounded(peak.pinned, digits: 2)),
                ("h2d_peak_pageable_gbps", JSONValue.rounded(peak.pageable, digits: 2)),
                ("pinned_copy_probe", .array(probes)),
                ("copy_size_sweep_cpu_idle", .array(sweep)),
                ("copy_size_sweep_cpu_letterboxing", .array(loadedSweep)),
                ("copy_size_sweep_cpu_idle_gated", .array(gatedSweep)),
                ("copy_size_sweep_cpu_letterboxing_gated", .array(gatedLoadedSweep)),
                ("copy_cost_fit", .object(costs)),
                ("h2d_peak_registered_huge_pages_gbps", JSONValue.rounded(peak.hugePages, digits: 2)),
                ("huge_page_bytes_granted", peak.hugePageBytes.map { .int($0) } ?? .null),
            ])
        try report.write(to: output)
        if output != "-" { print("wrote \(output)") }
    }

    static func row(_ r: TransferResult, peak: Double) -> [(String, JSONValue)] {
        var row: [(String, JSONValue)] = [
            ("mode", .string(r.mode)), ("resolution", .string(r.resolution.description)),
            ("fps", JSONValue.rounded(r.fps, digits: 1)), ("p50_ms", JSONValue.rounded(r.p50, digits: 4)),
            ("p99_ms", JSONValue.rounded(r.p99, digits: 4)), ("bytes_per_frame", .int(r.bytesPerFrame)),
            ("cpu_ms_per_frame", JSONValue.rounded(r.cpuMsPerFrame, digits: 4)),
            // Lookout's own allocations (host + CUDA) per measured frame: what "0 per frame" is about.
            ("allocations_per_frame", r.ourAllocationsPerFrame.map { .double($0) } ?? .null),
            ("cuda_allocations_per_frame", .double(r.cudaAllocationsPerFrame)),
            ("frames", .int(r.frames)),
        ]
        if let a = r.allocations {
            row.append(
                (
                    "host_allocations",
                    .object([
                        ("ours", .int(Int(a.ours))),
                        ("inside_driver_calls", .int(Int(a.inDriverCalls))),
                        (
                            "inside_driver_calls_by_call",
                            .object(a.driverCalls.map { ($0.0, .object([("allocations", .int(Int($0.1))), ("calls", .int($0.2))])) })
                        ),
                        ("driver_threads", .int(Int(a.otherThreads))),
                        ("process", .int(Int(a.process))),
                        ("driver_per_frame", JSONValue.rounded(a.perFrame(a.inDriverCalls + a.otherThreads), digits: 4)),
                    ])
                ))
        }
        if let rate = r.copyGBps {
            row.append(("copy_gbps", JSONValue.rounded(rate, digits: 2)))
            row.append(("copy_vs_pinned_peak", JSONValue.rounded(rate / peak, digits: 3)))
            if let range = r.copyGBpsRange {
                row.append(("copy_gbps_p10", JSONValue.rounded(range.0, digits: 2)))
                row.append(("copy_gbps_p90", JSONValue.rounded(range.1, digits: 2)))
            }
        }
        row.append(("wall_gbps", JSONValue.rounded(r.wallGBps, digits: 2)))
        row.append(("notes", .string(r.notes)))
        return row
    }

    static func line(_ r: TransferResult, peak: Double) -> String { line(row(r, peak: peak)) }

    static func line(_ row: [(String, JSONValue)]) -> String {
        let fields = Dictionary(row, uniquingKeysWith: { a, _ in a })
        func text(_ key: String) -> String {
            guard let value = fields[key] else { return "-" }
            switch value {
            case .string(let s): return s
            default: return value.render(pretty: false)
            }
        }
        return [
            text("mode").padding(toLength: 18, withPad: " ", startingAt: 0), text("resolution").padding(toLength: 10, withPad: " ", startingAt: 0),
            "fps " + text("fps"), "p50 " + text("p50_ms") + " ms", "p99 " + text("p99_ms") + " ms",
            "bytes " + text("bytes_per_frame"), "cpu " + text("cpu_ms_per_frame") + " ms", "allocs/frame " + text("allocations_per_frame"),
            "copy " + text("copy_gbps") + " GB/s", "wall " + text("wall_gbps") + " GB/s",
        ].joined(separator: "  ")
    }

    static func printTable(_ rows: [[(String, JSONValue)]]) {
        print("\n| mode | resolution | fps | p50 ms | p99 ms | bytes/frame | CPU ms/frame | our allocs/frame | copy GB/s (events) | wall GB/s |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in rows {
            let fields = Dictionary(row, uniquingKeysWith: { a, _ in a })
            func text(_ key: String) -> String {
                guard let value = fields[key] else { return "-" }
                if case .string(let s) = value { return s }
                return value.render(pretty: false)
            }
            print("| \(text("mode")) | \(text("resolution")) | \(text("fps")) | \(text("p50_ms")) | \(text("p99_ms")) | \(text("bytes_per_frame")) | \(text("cpu_ms_per_frame")) | \(text("allocations_per_frame")) | \(text("copy_gbps")) | \(text("wall_gbps")) |")
        }
    }

    /// Runs the baseline script; it prints one JSON object per line, each a row.
    func runBaseline(script: String, size: Resolution) throws -> [[(String, JSONValue)]] {
        try BaselineScript.rows(
            python: python, script: script,
            arguments: [
                "--resolution", size.description, "--frames", String(frames), "--warmup", String(warmup), "--ring", String(ring),
            ],
            order: [
                "mode", "resolution", "fps", "p50_ms", "p99_ms", "bytes_per_frame", "cpu_ms_per_frame", "allocations_per_frame",
                "copy_gbps", "frames", "notes",
            ])
    }
}
