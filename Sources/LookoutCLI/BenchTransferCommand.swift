import ArgumentParser
import LookoutBench
import LookoutCUDA
import LookoutCore
import LookoutPipeline

#if canImport(Glibc)
    import Glibc
#endif

struct BenchTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract:
            "CPU→GPU transfer modes through the pipeline's upload path: fps, latency, bytes, CPU time, allocations.")

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
    @Option(help: "The pinned mode's staging memory: cached, write-combined or huge-pages.") var staging =
        "write-combined"
    @Flag(
        inversion: .prefixedNo, help: "Time the pinned mode's copy alone under different CPU loads, and copies by size."
    )
    var copyProbe = true
    @Flag(
        inversion: .prefixedNo,
        help:
            "Also run the pinned mode with one choice changed each: copies submitted after the letterbox, cache write-back instead of non-temporal stores, neither, huge-page staging."
    )
    var pinnedVariants = true
    @Option(help: "A PyTorch baseline script to run after Lookout's modes; its rows join the report.")
    var baseline: String?
    @Option(help: "Python interpreter for the baseline.") var python = "python3"
    @Option(help: "Where to write the JSON report ('-' for stdout).")
    var output = "bench/results/runs/transfer/transfer.json"

    func run() throws {
        let request: DeviceRequest
        do { request = try DeviceRequest(parsing: device) } catch { throw Console.fail("--device: \(error)") }
        guard case .cuda(let ordinal) = request else {
            throw ValidationError("bench transfer measures a GPU: use --device cuda[:N]")
        }
        let driver: CUDADriver
        switch request.resolve() {
        case .failure(let error): throw Console.fail("\(error)")
        case .success(let resolved):
            guard case .cuda(let loaded, _) = resolved else { throw ExitCode.failure }
            driver = loaded
        }
        var run = TransferBenchRun()
        do {
            run.options.modes = try TransferMode.parseList(modes)
            run.resolutions = try resolutions.map { (text) throws(LookoutError) in try Resolution(parsing: text) }
        } catch { throw Console.fail(error) }
        guard let stagingKind = PinnedStaging(rawValue: staging) else {
            throw ValidationError("--staging: '\(staging)' is not one of cached, write-combined, huge-pages")
        }
        run.options.frames = frames
        run.options.warmup = warmup
        run.options.ring = ring
        run.options.depth = depth
        run.options.upload.letterboxThreads = cpuThreads
        run.options.upload.pinnedStaging = stagingKind
        run.pinnedVariants = pinnedVariants
        run.copyProbe = copyProbe
        run.baseline = baseline
        run.python = python
        let report: BenchReport
        do {
            let context = try CUDAContext(driver: driver, ordinal: ordinal)
            let nvrtc = try NVRTC.load().get()
            report = try run.run(context: context, driver: driver, nvrtc: nvrtc) { line in
                print(line)
                fflush(nil)
            }
        } catch { throw Console.fail(error) }
        print("\n" + TransferBenchRun.table(report))
        do { try report.write(to: output) } catch { throw Console.fail(error) }
        if output != "-" { print("wrote \(output)") }
    }
}
