import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Triton's per-model inference statistics: requests (success, fail, time in the queue) and executions (engine
/// calls, by batch size).
package struct ModelStatistics: Sendable {
    /// Time and count of one statistic (Triton's `StatisticDuration`).
    package struct Duration: Sendable, Equatable {
        package var count = 0
        package var nanoseconds: UInt64 = 0

        mutating func add(_ ns: UInt64, count n: Int = 1) {
            count += n
            nanoseconds &+= ns
        }
    }

    package var success = Duration()
    package var fail = Duration()
    /// Requests' time from queueing to the start of their batch's execution.
    package var queue = Duration()
    /// Requests' share of execution: each request counts its batch's whole time, as Triton's `compute_infer`.
    package var computeInfer = Duration()
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

    /// Counts one request, answered (with its `rows`) or refused, from its arrival to its answer.
    mutating func record(success succeeded: Bool, nanoseconds: UInt64, rows: Int) {
        if succeeded {
            success.add(nanoseconds)
            inferenceCount += rows
        } else {
            fail.add(nanoseconds)
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        lastInference = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    /// Counts one engine call of `rows` rows for `requests` requests, which waited `queued` nanoseconds in all.
    mutating func recordExecution(rows: Int, requests: Int, nanoseconds: UInt64, queued: UInt64) {
        executionCount += 1
        batches[rows, default: Duration()].add(nanoseconds)
        computeInfer.add(nanoseconds &* UInt64(requests), count: requests)
        queue.add(queued, count: requests)
    }
}

/// The statistics of every model by name, shared by the repository and the models' batchers (they outlive an
/// unload, as Triton's do), and the same counts as Prometheus metrics.
final class ModelStatisticsBook: Sendable {
    private let models = Mutex<[String: ModelStatistics]>([:])
    let metrics = InferenceMetrics()

    /// One request of `name`, answered (with its `rows`) or refused, from its arrival to its answer.
    func recordRequest(_ name: String, success: Bool, nanoseconds: UInt64, rows: Int) {
        models.withLock {
            $0[name, default: ModelStatistics()].record(success: success, nanoseconds: nanoseconds, rows: rows)
        }
        metrics.request(name, success: success, nanoseconds: nanoseconds, rows: rows)
    }

    /// One engine call of `rows` rows of `name` for `requests` requests, which waited `queued` nanoseconds in all.
    func recordExecution(_ name: String, rows: Int, requests: Int, nanoseconds: UInt64, queued: UInt64) {
        models.withLock {
            $0[name, default: ModelStatistics()].recordExecution(
                rows: rows, requests: requests, nanoseconds: nanoseconds, queued: queued)
        }
        metrics.execution(name, requests: requests, nanoseconds: nanoseconds, queued: queued)
    }

    subscript(name: String) -> ModelStatistics {
        models.withLock { $0[name] ?? ModelStatistics() }
    }
}
