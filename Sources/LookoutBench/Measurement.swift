import CLookoutAllocCounter
import LookoutCUDA
import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Clocks and counters the benchmarks read.
public enum Measurement {
    /// Monotonic time in seconds.
    @inline(__always)
    public static func now() -> Double { MonotonicClock.seconds() }

    /// User + system CPU seconds of the whole process (every thread, the driver's too).
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) * 1e-6
    }

    /// CUDA memory allocations (device, pinned, mapped, registered, managed) made through Lookout.
    public static func cudaAllocations() -> Int { CUDAAllocationCounter.count }

    /// Heap allocations made by the calling thread so far (0 when the counting allocator is not linked).
    @inline(__always)
    public static func threadAllocations() -> UInt64 { lookout_thread_alloc_count() }
}

/// Heap allocations of the whole process at one moment, split by who called the allocator: the NVIDIA libraries
/// (the driver, NVRTC, cuDNN: their code registered with the counting allocator) or anything else (Lookout, and
/// whatever the driver allocates through other libraries: the split errs against Lookout).
public struct AllocationCount: Sendable {
    public var total: UInt64
    public var driver: UInt64

    /// Now; nil when the counting allocator is not linked in (then nothing can be counted).
    public static func now() -> AllocationCount? {
        guard lookout_alloc_counter_active() != 0 else { return nil }
        return AllocationCount(total: lookout_alloc_count(), driver: lookout_driver_alloc_count())
    }

    /// Registers the NVIDIA libraries loaded so far as the driver's (call once the driver and NVRTC are loaded).
    @discardableResult
    public static func attributeNVIDIALibraries() -> Int { Int(lookout_alloc_counter_attribute_nvidia()) }

    /// The allocations from `self` to `later`, over `frames` frames.
    public func report(until later: AllocationCount, frames: Int) -> AllocationReport {
        let driver = later.driver - self.driver
        return AllocationReport(frames: frames, ours: later.total - total - driver, driver: driver)
    }
}

/// Allocations over a benchmark's measured frames.
public struct AllocationReport: Sendable {
    public var frames: Int
    /// Everything but the NVIDIA libraries' own calls: Lookout's (what "0 per frame" is about).
    public var ours: UInt64
    /// Made by the NVIDIA libraries (the driver's threads and calls).
    public var driver: UInt64

    public func perFrame(_ count: UInt64) -> Double { Double(count) / Double(max(frames, 1)) }
}
