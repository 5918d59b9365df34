import Dispatch

/// Splits index ranges across the CPU's cores for the per-element kernels (BLAS threads itself).
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
}

import Foundation

extension ProcessInfo {
    static let activeProcessorCountCached = ProcessInfo.processInfo.activeProcessorCount
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
