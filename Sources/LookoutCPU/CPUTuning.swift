import LookoutCore

/// The CPU backend's tuning: threads, tile budgets and the Winograd choice. The defaults are what the 2-core EPYC
/// and the GPU machine's Xeon were measured with (docs/cpu-backend.md); the CLI also reads them from `LOOKOUT_CPU_*`.
public struct CPUTuning: Sendable, Equatable {
    /// Which 3×3 convolutions run as Winograd GEMMs.
    public enum Winograd: String, Sendable, CaseIterable {
        /// F(4×4) on maps with at least 64 output tiles, F(2×2) below, im2col for layers narrower than 16 channels.
        case automatic
        /// Never (im2col GEMMs).
        case off
        /// F(2×2) wherever it applies.
        case f2
        /// F(4×4) wherever it applies.
        case f4
    }

    /// Threads of the backend's worker pool, the caller included; nil: the cores in the process's affinity mask.
    /// The pool is process-wide: the first executor compiled sets it.
    public var threads: Int?
    /// Bytes of im2col columns plus output a convolution tile should span (kept within L2).
    public var convolutionTileBytes = 512 * 1024
    public var winograd = Winograd.automatic
    /// Stride-2 3×3 convolutions of at least 16 channels by Winograd (`WinogradConvKernel.Variant.s2`) unless
    /// `winograd` is `.off`; false runs them as im2col GEMMs.
    public var strideTwoWinograd = true
    /// Bytes the transformed input and products of one Winograd block should span.
    public var winogradBlockBytes = 512 * 1024
    /// The narrowest tile that thin layers run through OpenBLAS's unpacked small-matrix path.
    public var smallGEMMMinimumWidth = 96
    /// Profiles (`CPUExecutor.profile`) time each step by the calling thread's CPU time instead of the wall clock:
    /// with one worker (`threads` 1) that is the kernel's own work, steadier than wall time on a shared machine.
    public var profileThreadTime = false

    public init() {}
}

/// The backend's worker pool: the process-wide `WorkerPool.shared` (OpenBLAS runs single-threaded inside our
/// tasks, see `BLAS`), so that every parallel loop of every executor shares the cores.
enum CPUParallel {
    static func pool(threads: Int? = nil) -> WorkerPool { WorkerPool.shared(threads: threads) }

    static var workers: Int { pool().threadCount }

    static func forEachTask(_ count: Int, _ body: (_ worker: Int, _ task: Int) -> Void) {
        pool().forEachTask(count, body)
    }

    static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        pool().forEachRange(count, minimumChunk: minimumChunk, body)
    }
}
