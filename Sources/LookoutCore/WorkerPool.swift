import CLookoutThreads
import Synchronization

/// A fixed team of threads that splits loops: `forEachTask` runs `body(worker, task)` for every task on the caller
/// (worker 0) and the team, each taking the next task as it finishes one. Workers spin briefly after a loop before
/// they sleep, so back-to-back loops (a model's layers, a batch's frames) start on every core at once. A loop
/// allocates nothing.
///
/// `worker` is in `0..<threadCount` and no two tasks with the same worker run at once, so per-worker scratch is
/// safe. A loop started while another thread's loop runs on the same pool runs inline on its caller as worker 0:
/// give each concurrent user its own pool when its scratch is per worker.
package final class WorkerPool: @unchecked Sendable {
    // The C pool is thread-safe; the handle is set once.
    private let handle: OpaquePointer?

    /// `threads` workers in all, the caller included; `spinMicroseconds` of spinning after each loop.
    package init(threads: Int, spinMicroseconds: Int = 200) {
        handle = lk_pool_create(Int32(max(1, threads)), Int32(spinMicroseconds))
    }

    deinit { lk_pool_destroy(handle) }

    /// Workers of the team, the caller included.
    package var threadCount: Int { handle.map { Int(lk_pool_threads($0)) } ?? 1 }

    /// Cores this process may run on (its CPU affinity mask, so `taskset` and cgroup cpusets count).
    package static var availableCores: Int { max(1, Int(lk_available_cores())) }

    /// Runs `body(worker, task)` for every task in `0..<count` and returns when all are done. Never nest.
    package func forEachTask(_ count: Int, _ body: (_ worker: Int, _ task: Int) -> Void) {
        guard count > 1, let handle else {
            for task in 0..<count { body(0, task) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var loop = LoopBody(run: body)
            withUnsafeMutablePointer(to: &loop) { pointer in
                lk_pool_run(
                    handle, Int32(count),
                    { context, worker, task in
                        context!.assumingMemoryBound(to: LoopBody.self).pointee.run(Int(worker), Int(task))
                    }, pointer)
            }
        }
    }

    /// The loop's body behind the C pool's context pointer. In a struct, the closure is stored as it is: a bare
    /// function value in memory is kept at its most general abstraction, and converting to and from that allocated
    /// two thunk contexts per loop (two heap allocations per parallel kernel, ~270 per CPU inference).
    private struct LoopBody {
        let run: (_ worker: Int, _ task: Int) -> Void
    }

    /// Calls `body` on disjoint subranges covering `0..<count` (about `minimumChunk` or more each, at most a few
    /// per worker); runs inline when the work is small.
    package func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(threadCount * 4, max(1, count / max(minimumChunk, 1)))
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

    /// Splits `0..<count` into one contiguous band per worker and calls `body(worker, band)` for each (band `i` of
    /// `threadCount`): each worker's share is fixed, for work whose scratch is per band.
    package func forEachBand(_ count: Int, _ body: (_ worker: Int, _ band: Range<Int>) -> Void) {
        let bands = min(threadCount, max(count, 1))
        guard bands > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        forEachTask(bands) { worker, band in
            let lower = count * band / bands
            let upper = count * (band + 1) / bands
            if lower < upper { body(worker, lower..<upper) }
        }
    }
}

extension WorkerPool {
    private static let sharedPool = Mutex<WorkerPool?>(nil)

    /// The process-wide pool for CPU work (the CPU backend's loops, the CPU letterbox of detection): made on first
    /// use with `threads` workers (nil: the available cores); later calls get the same pool whatever they ask.
    package static func shared(threads: Int? = nil) -> WorkerPool {
        sharedPool.withLock { pool in
            if let pool { return pool }
            let made = WorkerPool(threads: threads ?? availableCores)
            pool = made
            return made
        }
    }
}
