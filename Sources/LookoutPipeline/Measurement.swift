import CLookoutAllocCounter
import Foundation
import LookoutCUDA

/// Clocks and counters the benchmarks read.
public enum Measurement {
    /// Monotonic time in seconds.
    @inline(__always)
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// User + system CPU seconds of the whole process (every thread, the driver's too).
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) * 1e-6
    }

    /// Heap allocations of the process so far (malloc and friends, all libraries), when the counting allocator
    /// is linked in; nil otherwise.
    public static func hostAllocations() -> UInt64? {
        lookout_alloc_counter_active() != 0 ? lookout_alloc_count() : nil
    }

    /// CUDA memory allocations (device, pinned, mapped, registered, managed) made through Lookout.
    public static func cudaAllocations() -> Int { CUDAAllocationCounter.count }
}

extension Measurement {
    /// Heap allocations made by the calling thread so far (0 when the counting allocator is not linked).
    @inline(__always)
    public static func threadAllocations() -> UInt64 { lookout_thread_alloc_count() }
}
