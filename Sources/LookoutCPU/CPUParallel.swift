import CLookoutKernels
import Foundation

/// Splits work across the CPU's cores on one process-wide fork-join pool (`lk_pool`, C): the caller is worker 0
/// and the pool's threads spin briefly between loops, so a layer starts on every core at once. OpenBLAS runs
/// single-threaded inside our tasks (see `BLAS`), so every parallel loop in the backend goes through here.
enum CPUParallel {
    /// Threads the backend uses: `LOOKOUT_CPU_THREADS` when set, else the cores in the process's affinity mask
    /// (Foundation's `activeProcessorCount` ignores `taskset` and cpusets on Linux).
    static let cores: Int = {
        if let text = ProcessInfo.processInfo.environment["LOOKOUT_CPU_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, Int(lk_available_cores()))
    }()

    /// Microseconds a worker keeps spinning after a loop before it sleeps: longer than the gap between two
    /// layers, far shorter than the gap between two frames.
    static let spinMicroseconds: Int32 = 200

    private static let pool = PoolHandle(lk_pool_create(Int32(cores), spinMicroseconds))

    /// Workers of the pool (the caller included): the bound of `worker` in `forEachTask`.
    static var workers: Int { pool.handle.map { Int(lk_pool_threads($0)) } ?? 1 }

    /// Runs `body(worker, task)` for every task in `0..<count`; workers take the next task as they finish one, so
    /// a core slowed by another process does less of the work. `worker` is in `0..<workers` and no two calls with
    /// the same worker run at once, so per-worker scratch is safe. Never nest.
    static func forEachTask(_ count: Int, _ body: (_ worker: Int, _ task: Int) -> Void) {
        guard count > 1, let handle = pool.handle else {
            for task in 0..<count { body(0, task) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { pointer in
                lk_pool_run(
                    handle, Int32(count),
                    { context, worker, task in
                        context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(worker), Int(task))
                    }, pointer)
            }
        }
    }

    /// Calls `body` on disjoint subranges covering `0..<count` (about `minimumChunk` or more each, at most a few
    /// per worker); runs inline when the work is small.
    static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers * 4, max(1, count / max(minimumChunk, 1)))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        forEachTask(chunks) { _, i in
            let start = i * size
            let end = min(count, start + size)
            if start < end { body(start..<end) }
        }
    }
}

/// The pool pointer, created once and never freed (the pool lives as long as the process).
private struct PoolHandle: @unchecked Sendable {
    let handle: OpaquePointer?
    init(_ handle: OpaquePointer?) { self.handle = handle }
}
