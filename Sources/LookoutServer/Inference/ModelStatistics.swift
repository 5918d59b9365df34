import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where one answered request's time went, in nanoseconds, as Triton's statistics split it.
package struct RequestTiming: Sendable, Equatable {
    /// Turning the request into the model's input: parsing the body (or the gRPC message, shared memory reads
    /// included), decoding and checking its tensors.
    package var input: UInt64 = 0
    /// From queueing in the batcher to the start of its batch's execution.
    package var queue: UInt64 = 0
    /// Its batch's execution (the engine, and NMS for the `-detect` models).
    package var infer: UInt64 = 0
    /// Writing the response (its outputs into the body, or into shared memory).
    package var output: UInt64 = 0

    package init(input: UInt64 = 0, queue: UInt64 = 0, infer: UInt64 = 0, output: UInt64 = 0) {
        self.input = input
        self.queue = queue
        self.infer = infer
        self.output = output
    }
}

/// Triton's per-model inference statistics: requests (success, fail, and the answered ones' time in the queue and
/// in compute input, infer and output, one count each per request, so that the three compute counts are equal as
/// perf_analyzer requires) and executions (engine calls, by batch size).
package struct ModelStatistics: Sendable {
    /// Time and count of one statistic (Triton's `StatisticDuration`).
    package struct Duration: Sendable, Equatable {
        package var count = 0
        package var nanoseconds: UInt64 = 0

        package init(count: Int = 0, nanoseconds: UInt64 = 0) {
            self.count = count
            self.nanoseconds = nanoseconds
        }

        mutating func add(_ ns: UInt64, count n: Int = 1) {
            count += n
            nanoseconds &+= ns
        }
    }

    package var success = Duration()
    package var fail = Duration()
    /// Answered requests' time from queueing to the start of their batch's execution.
    package var queue = Duration()
    /// Answered requests' input preparation (`RequestTiming.input`): Triton's `compute_input`.
    package var computeInput = Duration()
    /// Answered requests' execution: each counts its batch's whole time, as Triton's `compute_infer`.
    package var computeInfer = Duration()
    /// Answered requests' response writing: Triton's `compute_output`.
    package var computeOutput = Duration()
    /// Rows inferred (images, or rows of the raw network's batch): Triton's `inference_count`.
    package var inferenceCount = 0
    /// Engine calls (batches): Triton's `execution_count`.
    package var executionCount = 0
    /// Batch size (rows) → executions of that size and their time.
    package var batches: [Int: Duration] = [:]
    /// Milliseconds since the epoch of the last request (0: none).
    package var lastInference: UInt64 = 0

    package var successCount: Int { success.count }
    package var failCount: Int { fail.count }

    /// Counts one request, answered (with its `rows` and `timing`) or refused (nil), from its arrival to its answer.
    mutating func record(nanoseconds: UInt64, rows: Int, timing: RequestTiming?) {
        if let timing {
            success.add(nanoseconds)
            inferenceCount += rows
            queue.add(timing.queue)
            computeInput.add(timing.input)
            computeInfer.add(timing.infer)
            computeOutput.add(timing.output)
        } else {
            fail.add(nanoseconds)
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        lastInference = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    /// Counts one engine call of `rows` rows that took `nanoseconds`.
    mutating func recordExecution(rows: Int, nanoseconds: UInt64) {
        executionCount += 1
        batches[rows, default: Duration()].add(nanoseconds)
    }
}

/// The statistics of every model by name, shared by the repository and the models' batchers (they outlive an
/// unload, as Triton's do), and the same counts as Prometheus metrics.
final class ModelStatisticsBook: Sendable {
    private let models = Mutex<[String: ModelStatistics]>([:])
    let metrics = InferenceMetrics()

    /// One request of `name`, answered (with its `rows` and `timing`) or refused (nil), from its arrival to its
    /// answer.
    func recordRequest(_ name: String, nanoseconds: UInt64, rows: Int, timing: RequestTiming?) {
        models.withLock {
            $0[name, default: ModelStatistics()].record(nanoseconds: nanoseconds, rows: rows, timing: timing)
        }
        metrics.request(name, nanoseconds: nanoseconds, rows: rows, timing: timing)
    }

    /// One engine call of `rows` rows of `name` that took `nanoseconds`.
    func recordExecution(_ name: String, rows: Int, nanoseconds: UInt64) {
        models.withLock { $0[name, default: ModelStatistics()].recordExecution(rows: rows, nanoseconds: nanoseconds) }
        metrics.execution(name)
    }

    subscript(name: String) -> ModelStatistics {
        models.withLock { $0[name] ?? ModelStatistics() }
    }
}
