import LookoutCPU
import LookoutCore
import LookoutInference
import LookoutModel

/// `lookout bench engine`: the engine alone on a fixed random input, latency per batch and throughput.
package struct EngineBenchmark {
    package let detector: Detector
    package var batch = 1
    package var imageSize: Int?
    package var iterations = 50
    package var warmup = 5

    package init(detector: Detector) {
        self.detector = detector
    }

    package func run() throws(LookoutError) -> BenchReport {
        let model = detector.model
        guard iterations > 0, warmup >= 0 else {
            throw LookoutError.invalidArgument("iterations", "must be positive (and `warmup` not negative)")
        }
        if let fixed = model.fixedBatch, fixed != batch {
            throw LookoutError(
                .invalidArgument,
                "\(model.path): the model has a fixed batch of \(fixed); `batch` \(batch) needs a dynamic export",
                parameter: "batch")
        }
        guard batch > 0, batch <= 1024 else {
            throw LookoutError.invalidArgument("batch", "must be between 1 and 1024")
        }
        let size = imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
        let (h, w) = model.isDynamic ? (size, size) : model.defaultImageSize
        let shape = [batch, 3, h, w]
        // A fixed pseudo-random image in [0, 1], the same every run (a linear congruential sequence).
        var state: UInt32 = 12345
        let input = (0..<(batch * 3 * h * w)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        }
        var stats = LatencyHistogram(.precise)
        do {
            for i in 0..<(warmup + iterations) {
                let start = MonotonicClock.nanoseconds()
                try detector.engine.run(
                    shape: shape, fill: { buffer in _ = buffer.update(from: input) }, read: { _ in () })
                let ms = Double(MonotonicClock.nanoseconds() &- start) / 1e6
                if i >= warmup { stats.record(milliseconds: ms) }
            }
        } catch {
            throw LookoutError(
                .inferenceFailure, "\(model.path): \(error)", cause: error)
        }
        let throughput = Double(batch) * 1000 / stats.mean
        let precision = "fp32"
        let row: [(String, JSONValue)] = [
            ("backend", .string(detector.backendName)), ("precision", .string(precision)), ("batch", .int(batch)),
            ("throughput", JSONValue.rounded(throughput, digits: 2)),
            ("p50_ms", JSONValue.rounded(stats.p50, digits: 3)),
            ("p99_ms", JSONValue.rounded(stats.p99, digits: 3)), ("mean_ms", JSONValue.rounded(stats.mean, digits: 3)),
        ]
        let settings: [(String, JSONValue)] = [
            ("model", .string(model.path)), ("input_shape", .array(shape.map { .int($0) })),
            ("iterations", .int(iterations)),
            ("warmup", .int(warmup)), ("blas", .string(CPUExecutor.blasDescription)),
        ]
        return BenchReport(
            benchmark: "engine", device: detector.engine.deviceName, driver: SystemInfo.kernelRelease,
            settings: settings,
            rows: [row], extra: [("p50_ms", JSONValue.rounded(stats.p50, digits: 3))])
    }

    /// Milliseconds per operator type and for the slowest steps, averaged over `runs` timed runs of the CPU
    /// executor (after the benchmark's warm-up), slowest first; nil on the GPU (its profile is `CUDAEngineBenchmark`'s).
    package func cpuProfile(runs: Int = 10) throws(LookoutError) -> (
        operators: [(String, Double)], steps: [(String, Double)]
    )? {
        let model = detector.model
        let size = imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
        let (h, w) = model.isDynamic ? (size, size) : model.defaultImageSize
        let found: CPUExecutor?
        do { found = try detector.cpuExecutor(shape: [batch, 3, h, w]) } catch {
            throw LookoutError(.inferenceFailure, "\(model.path): \(error)", cause: error)
        }
        guard let executor = found else { return nil }
        let input = [Float](repeating: 0.5, count: batch * 3 * h * w)
        var operators: [String: Double] = [:]
        var steps: [String: Double] = [:]
        for _ in 0..<max(warmup, 1) { _ = executor.profile(input: input) }
        for _ in 0..<max(runs, 1) {
            for (label, ms) in executor.profile(input: input) {
                operators[String(label.prefix { $0 != " " }), default: 0] += ms / Double(max(runs, 1))
                steps[label, default: 0] += ms / Double(max(runs, 1))
            }
        }
        return (
            operators.sorted { $0.value > $1.value }.map { ($0.key, $0.value) },
            steps.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
        )
    }

    /// The table printed on stdout.
    package static func table(_ report: BenchReport) -> String {
        var lines = ["backend        precision  batch  throughput (img/s)   p50 ms   p99 ms"]
        for row in report.rows {
            let value = { (key: String) in row.first { $0.0 == key }?.1 }
            func text(_ v: JSONValue?) -> String {
                switch v {
                case .string(let s)?: return s
                case .int(let i)?: return String(i)
                case .double(let d)?: return TextFormat.fixed(d, digits: 2)
                default: return "-"
                }
            }
            lines.append(
                text(value("backend")).padded(toLength: 15)
                    + text(value("precision")).padded(toLength: 11)
                    + text(value("batch")).padded(toLength: 7)
                    + text(value("throughput")).padded(toLength: 21)
                    + text(value("p50_ms")).padded(toLength: 9) + text(value("p99_ms")))
        }
        return lines.joined(separator: "\n")
    }
}
