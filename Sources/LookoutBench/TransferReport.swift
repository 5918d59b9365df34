import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutPipeline

/// `lookout bench transfer` end to end: the pinned peak, per resolution the copy-size sweeps, every mode (and the
/// `pinned` variants), the copy probe and the PyTorch baseline, as one shared bench report.
package struct TransferBenchRun {
    package var options = TransferBenchOptions()
    package var resolutions = [Resolution(width: 1920, height: 1080)]
    /// Also run the `pinned` mode with one choice changed each (`TransferBenchOptions.pinnedVariants`).
    package var pinnedVariants = true
    /// Time the `pinned` mode's copy alone under different CPU loads, and copies by size.
    package var copyProbe = true
    /// A PyTorch baseline script and the Python to run it with.
    package var baseline: String?
    package var python = "python3"

    package init() {}

    /// Runs everything on `context`'s GPU; `log` gets each result line as it comes.
    package func run(context: CUDAContext, driver: CUDADriver, nvrtc: NVRTC, log: (String) -> Void) throws
        -> BenchReport
    {
        let letterbox = try GPULetterbox(compiler: KernelCompiler(context: context, nvrtc: nvrtc))
        log(
            "device: \(context.device), driver \(driver.versionString), nvrtc \(nvrtc.version.major).\(nvrtc.version.minor) "
                + "(letterbox kernel from \(letterbox.origin.rawValue))")
        var options = self.options
        let peak = try TransferBench(context: context, letterbox: letterbox, options: options).peakBandwidth()
        log(
            TextFormat.format(
                "H2D peak: pinned %.1f GB/s, pageable %.1f GB/s (64 MiB copies, best of 10)", peak.pinned, peak.pageable
            ))
        log(
            TextFormat.format(
                "H2D peak from registered huge pages: %.1f GB/s (%@ of 64 MiB granted as 2 MiB pages)", peak.hugePages,
                peak.hugePageBytes.map { String($0 >> 20) + " MiB" } ?? "unknown"))
        var rows: [[(String, JSONValue)]] = []
        var probes: [JSONValue] = []
        var sweeps: [String: [JSONValue]] = [:]
        var costs: [(String, JSONValue)] = []
        for size in resolutions {
            options.resolution = size
            let bench = try TransferBench(context: context, letterbox: letterbox, options: options)
            // The copy engine's rate at each size with the CPU idle: a frame's copy is compared with the rate a copy
            // of its own size reaches, as well as with the 64 MiB peak.
            var sameSize: [Int: Double] = [:]
            if copyProbe {
                for (letterboxing, gated) in [(false, false), (true, false), (false, true), (true, true)] {
                    let results = try bench.copySizeSweep(cpuLetterboxing: letterboxing, gated: gated)
                    let cpu = (letterboxing ? "cpu letterboxing" : "cpu idle") + (gated ? ", queued behind a gate" : "")
                    let key = (letterboxing ? "cpu_letterboxing" : "cpu_idle") + (gated ? "_gated" : "")
                    for (bytes, gbps) in results {
                        log(
                            TextFormat.format(
                                "copy size %9d B, %@: %.2f GB/s (%.0f%% of the 64 MiB peak)", bytes, cpu, gbps,
                                100 * gbps / peak.pinned))
                        sweeps[key, default: []].append(
                            .object([("bytes", .int(bytes)), ("copy_gbps", JSONValue.rounded(gbps, digits: 2))]))
                        if !letterboxing && !gated { sameSize[bytes] = gbps }
                    }
                    if let fit = TransferBench.copyCost(results) {
                        log(
                            TextFormat.format(
                                "copy cost, %@: %.1f µs a copy + bytes at %.2f GB/s", cpu, fit.setupMicroseconds,
                                fit.gbps))
                        costs.append(
                            (
                                key,
                                .object([
                                    ("setup_us", JSONValue.rounded(fit.setupMicroseconds, digits: 2)),
                                    ("gbps", JSONValue.rounded(fit.gbps, digits: 2)),
                                ])
                            ))
                    }
                }
            }
            func add(_ result: TransferResult) {
                var row = Self.row(result, peak: peak.pinned)
                if let rate = result.copyGBps, let reference = sameSize[result.bytesPerFrame] {
                    row.insert(
                        ("copy_vs_same_size_idle", JSONValue.rounded(rate / reference, digits: 3)), at: row.count - 1)
                }
                rows.append(row)
                log(Self.line(row))
            }
            for mode in options.modes {
                add(try bench.run(mode))
                guard mode == .pinned && pinnedVariants else { continue }
                for (name, variant) in options.pinnedVariants {
                    var result = try TransferBench(context: context, letterbox: letterbox, options: variant).run(
                        .pinned)
                    result.mode = name
                    add(result)
                }
            }
            if copyProbe && options.modes.contains(.pinned) {
                for p in try bench.copyProbe() {
                    log(
                        TextFormat.format(
                            "copy probe %@: %@ staging, %.2f GB/s (p10 %.2f, p90 %.2f) = %.0f%% of peak", p.condition,
                            p.staging.rawValue, p.gbps, p.p10, p.p90, 100 * p.gbps / peak.pinned))
                    probes.append(
                        .object([
                            ("resolution", .string(size.description)), ("cpu", .string(p.condition)),
                            ("staging", .string(p.staging.rawValue)),
                            ("copy_gbps", JSONValue.rounded(p.gbps, digits: 2)),
                            ("copy_gbps_p10", JSONValue.rounded(p.p10, digits: 2)),
                            ("copy_gbps_p90", JSONValue.rounded(p.p90, digits: 2)),
                            ("vs_pinned_peak", JSONValue.rounded(p.gbps / peak.pinned, digits: 3)),
                        ]))
                }
            }
            if let baseline {
                let baselineRows = try BaselineScript.rows(
                    python: python, script: baseline,
                    arguments: [
                        "--resolution", size.description, "--frames", String(options.frames), "--warmup",
                        String(options.warmup), "--ring", String(options.ring),
                    ],
                    order: [
                        "mode", "resolution", "fps", "p50_ms", "p99_ms", "bytes_per_frame", "cpu_ms_per_frame",
                        "allocations_per_frame", "copy_gbps", "frames", "notes",
                    ])
                for row in baselineRows {
                    rows.append(row)
                    log(Self.line(row))
                }
            }
        }
        let settings: [(String, JSONValue)] = [
            ("frames", .int(options.frames)), ("warmup", .int(options.warmup)), ("ring", .int(options.ring)),
            ("depth", .int(options.depth)),
            ("letterbox_threads", options.upload.letterboxThreads.map { .int($0) } ?? .string("cores")),
            ("staging", .string(options.upload.pinnedStaging.rawValue)),
            ("tensor", .string("1x3x\(options.tensorSize)x\(options.tensorSize) float32 NCHW RGB")),
            ("path", .string("the pipeline's FrameUploader, one frame per upload")),
            ("host", .string(SystemInfo.cpuDescription)),
            ("nvrtc", .string("\(nvrtc.version.major).\(nvrtc.version.minor)")),
            ("driver_path", .string(driver.path)),
        ]
        var extra: [(String, JSONValue)] = [
            ("h2d_peak_pinned_gbps", JSONValue.rounded(peak.pinned, digits: 2)),
            ("h2d_peak_pageable_gbps", JSONValue.rounded(peak.pageable, digits: 2)),
            ("pinned_copy_probe", .array(probes)),
        ]
        for key in ["cpu_idle", "cpu_letterboxing", "cpu_idle_gated", "cpu_letterboxing_gated"] {
            extra.append(("copy_size_sweep_" + key, .array(sweeps[key] ?? [])))
        }
        extra += [
            ("copy_cost_fit", .object(costs)),
            ("h2d_peak_registered_huge_pages_gbps", JSONValue.rounded(peak.hugePages, digits: 2)),
            ("huge_page_bytes_granted", peak.hugePageBytes.map { .int($0) } ?? .null),
        ]
        return BenchReport(
            benchmark: "transfer", device: context.device.description, driver: driver.versionString, settings: settings,
            rows: rows, extra: extra)
    }

    package static func row(_ r: TransferResult, peak: Double) -> [(String, JSONValue)] {
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
                        ("ours", .int(Int(a.ours))), ("driver", .int(Int(a.driver))),
                        ("driver_per_frame", JSONValue.rounded(a.perFrame(a.driver), digits: 4)),
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

    static func field(_ row: [(String, JSONValue)], _ key: String) -> String {
        guard let value = row.first(where: { $0.0 == key })?.1 else { return "-" }
        if case .string(let s) = value { return s }
        return value.render(pretty: false)
    }

    /// One result as a line of the run's log.
    package static func line(_ row: [(String, JSONValue)]) -> String {
        let text = { field(row, $0) }
        return [
            text("mode").padded(toLength: 18), text("resolution").padded(toLength: 10), "fps " + text("fps"),
            "p50 " + text("p50_ms") + " ms", "p99 " + text("p99_ms") + " ms", "bytes " + text("bytes_per_frame"),
            "cpu " + text("cpu_ms_per_frame") + " ms", "allocs/frame " + text("allocations_per_frame"),
            "copy " + text("copy_gbps") + " GB/s", "wall " + text("wall_gbps") + " GB/s",
        ].joined(separator: "  ")
    }

    /// The report's rows as a Markdown table.
    package static func table(_ report: BenchReport) -> String {
        var lines = [
            "| mode | resolution | fps | p50 ms | p99 ms | bytes/frame | CPU ms/frame | our allocs/frame | copy GB/s (events) | wall GB/s |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in report.rows {
            let text = { field(row, $0) }
            lines.append(
                "| \(text("mode")) | \(text("resolution")) | \(text("fps")) | \(text("p50_ms")) | \(text("p99_ms")) | "
                    + "\(text("bytes_per_frame")) | \(text("cpu_ms_per_frame")) | \(text("allocations_per_frame")) | "
                    + "\(text("copy_gbps")) | \(text("wall_gbps")) |")
        }
        return lines.joined(separator: "\n")
    }
}
