import Dispatch
import Synchronization

/// Splits work across the CPU's cores. OpenBLAS runs single-threaded inside our tasks (see `BLAS`), so every
/// parallel loop in the backend goes through here.
enum CPUParallel {
    static let cores = max(1, ProcessInfo.activeProcessorCountCached)

    /// Calls `body` on disjoint subranges covering `0..<count`; runs inline when the work is small.
    static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / max(minimumChunk, 1)))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            // The ranges are disjoint, so the callers' captured pointers are written by one thread each.
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                let start = i * size
                let end = min(count, start + size)
                if start < end { task.value(start..<end) }
            }
        }
    }

    /// Runs `body(worker, task)` for every task in `0..<count` on up to `workers` threads that take the next task
    /// as they finish one, so a core slowed by another process does less of the work. `worker` is in
    /// `0..<workers` and no two calls with the same worker run at once (per-worker scratch is safe).
    static func forEachTask(_ count: Int, workers: Int, counter: TaskCounter, _ body: (Int, Int) -> Void) {
        let threads = min(workers, count)
        if threads <= 1 {
            for task in 0..<count { body(0, task) }
            return
        }
        counter.next.store(0, ordering: .relaxed)
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                while true {
                    let t = counter.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if t >= count { break }
                    task.value(worker, t)
                }
            }
        }
    }
}

/// The shared "next task" index of one `forEachTask` loop; owned by a kernel, reset on each run.
final class TaskCounter: Sendable {
    let next = Atomic<Int>(0)
}

import Foundation

extension ProcessInfo {
    static let activeProcessorCountCached = ProcessInfo.processInfo.activeProcessorCount
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
