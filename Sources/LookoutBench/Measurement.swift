import CLookoutAllocCounter
import LookoutCUDA
import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Clocks and counters the benchmarks read.
package enum Measurement {
    /// Monotonic time in seconds.
    @inline(__always)
    package static func now() -> Double { MonotonicClock.seconds() }

    /// User + system CPU seconds of the whole process (every thread, the driver's too).
    package static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) * 1e-6
    }

    /// CUDA memory allocations (device, pinned, mapped, registered, managed) made through Lookout.
    package static func cudaAllocations() -> Int { CUDAAllocationCounter.count }

    /// Heap allocations made by the calling thread so far (0 when the counting allocator is not linked).
    @inline(__always)
    package static func threadAllocations() -> UInt64 { lookout_thread_alloc_count() }
}

/// Heap allocations of the whole process at one moment, split by who called the allocator: the NVIDIA libraries
/// (the driver, NVRTC, cuDNN: their code registered with the counting allocator) or anything else (Lookout, and
/// whatever the driver allocates through other libraries: the split errs against Lookout).
package struct AllocationCount: Sendable {
    package var total: UInt64
    package var driver: UInt64

    /// Now; nil when the counting allocator is not linked in (then nothing can be counted).
    package static func now() -> AllocationCount? {
        guard lookout_alloc_counter_active() != 0 else { return nil }
        // The driver's count first: an allocation counts in the total before it counts as the driver's, so the
        // total read after it holds every driver allocation the read saw.
        let driver = lookout_driver_alloc_count()
        return AllocationCount(total: lookout_alloc_count(), driver: driver)
    }

    /// Registers the NVIDIA libraries loaded so far as the driver's (call once the driver and NVRTC are loaded).
    @discardableResult
    package static func attributeNVIDIALibraries() -> Int { Int(lookout_alloc_counter_attribute_nvidia()) }

    /// The allocations from `self` to `later`, over `frames` frames.
    package func report(until later: AllocationCount, frames: Int) -> AllocationReport {
        // The two counters are read one after the other while other threads allocate, so a driver allocation can
        // land between the reads of `self` and make the driver's share look larger than the total's: the
        // difference is clamped at 0 (it trapped as an unsigned underflow in `bench pipeline` on the GPU).
        let driver = later.driver &- self.driver
        let all = later.total &- total
        return AllocationReport(frames: frames, ours: all > driver ? all - driver : 0, driver: driver)
    }
}

/// Allocations over a benchmark's measured frames.
package struct AllocationReport: Sendable {
    package var frames: Int
    /// Everything but the NVIDIA libraries' own calls: Lookout's (what "0 per frame" is about).
    package var ours: UInt64
    /// Made by the NVIDIA libraries (the driver's threads and calls).
    package var driver: UInt64

    package func perFrame(_ count: UInt64) -> Double { Double(count) / Double(max(frames, 1)) }
}

/// Where allocations come from: the counting allocator unwinds the stack of every `every`th allocation (not the
/// driver's) into a fixed table while recording. `write` leaves one line per distinct stack, most frequent first:
/// its count and frames as `object+offset`, for `scripts/alloc-sites.py` (addr2line against the unstripped binary).
package enum AllocationSites {
    package static func record(every: Int) { lookout_alloc_sites_record(Int32(clamping: every)) }

    /// Stops recording and writes the stacks; returns how many, -1 when the file cannot be written.
    @discardableResult
    package static func write(to path: String) -> Int { Int(lookout_alloc_sites_write(path)) }
}
