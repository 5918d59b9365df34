/// Who allocated during a benchmark's measured frames: Lookout's own code, the CUDA driver inside the calls made
/// on the benchmark's thread (one count per kind of call), and threads Lookout does not own (the driver's helpers).
///
/// The benchmark wraps every driver call of its loop in `driver(_:_:)`; the thread-local allocation count before
/// and after the call charges that call. Everything else on the benchmark thread, and the CPU-letterbox workers'
/// own counts, is Lookout's. Process-wide allocations minus both is the driver's background threads.
public struct AllocationLedger: Sendable {
    /// The driver calls a transfer benchmark makes per frame.
    public enum Call: Int, CaseIterable, Sendable {
        case copy, launch, eventRecord, streamWait, synchronize, eventTiming, prefetch, acquire, graphLaunch

        public var name: String {
            switch self {
            case .copy: "cuMemcpy*"
            case .launch: "cuLaunchKernel"
            case .eventRecord: "cuEventRecord"
            case .streamWait: "cuStreamWaitEvent"
            case .synchronize: "cuStreamSynchronize/cuEventSynchronize"
            case .eventTiming: "cuEventElapsedTime/cuEventQuery"
            case .prefetch: "cuMemPrefetchAsync"
            case .acquire: "FramePool.acquire (cuEventQuery of the fences)"
            case .graphLaunch: "cuGraphLaunch"
            }
        }
    }

    /// Allocations inside each kind of driver call (indexed by `Call.rawValue`); a tuple, so no heap storage.
    private var inDriver: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var calls: (Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var threadStart: UInt64 = 0
    private var processStart: UInt64 = 0
    private var workersStart: UInt64 = 0
    private var active = false

    public init() {}

    /// Starts counting (call on the benchmark's thread, at the first measured frame).
    public mutating func start(workers: RowParallel?) {
        self = AllocationLedger()
        active = Measurement.hostAllocations() != nil
        threadStart = Measurement.threadAllocations()
        processStart = Measurement.hostAllocations() ?? 0
        workersStart = workers?.allocations ?? 0
    }

    /// Runs one driver call, charging its allocations on this thread to `call`.
    @inline(__always)
    public mutating func driver<R: ~Copyable, E: Error>(_ call: Call, _ body: () throws(E) -> R) throws(E) -> R {
        guard active else { return try body() }
        let before = Measurement.threadAllocations()
        let result = try body()
        add(call, Measurement.threadAllocations() - before)
        return result
    }

    private mutating func add(_ call: Call, _ count: UInt64) {
        withUnsafeMutableBytes(of: &inDriver) { $0.bindMemory(to: UInt64.self)[call.rawValue] += count }
        withUnsafeMutableBytes(of: &calls) { $0.bindMemory(to: Int.self)[call.rawValue] += 1 }
    }

    /// The totals since `start`, over `frames` frames.
    public func finish(frames: Int, workers: RowParallel?) -> AllocationReport? {
        guard active, let process = Measurement.hostAllocations() else { return nil }
        let thread = Measurement.threadAllocations() - threadStart
        let workerCount = (workers?.allocations ?? 0) - workersStart
        var perCall: [(String, UInt64, Int)] = []
        withUnsafeBytes(of: inDriver) { driver in
            withUnsafeBytes(of: calls) { calls in
                for call in Call.allCases {
                    let n = calls.bindMemory(to: Int.self)[call.rawValue]
                    if n > 0 { perCall.append((call.name, driver.bindMemory(to: UInt64.self)[call.rawValue], n)) }
                }
            }
        }
        let inDriverTotal = perCall.reduce(0) { $0 + $1.1 }
        let processTotal = process - processStart
        return AllocationReport(
            frames: frames, ours: thread - inDriverTotal + workerCount, driverCalls: perCall,
            otherThreads: processTotal - thread - workerCount, process: processTotal)
    }
}

/// Allocations over a benchmark's measured frames, split by who made them.
public struct AllocationReport: Sendable {
    public var frames: Int
    /// Lookout's code: the benchmark thread outside driver calls, and Lookout's worker threads.
    public var ours: UInt64
    /// Inside driver calls on the benchmark thread: (call, allocations, calls made).
    public var driverCalls: [(String, UInt64, Int)]
    /// Threads Lookout does not own (the CUDA driver's helper threads).
    public var otherThreads: UInt64
    /// Everything in the process.
    public var process: UInt64

    public var inDriverCalls: UInt64 { driverCalls.reduce(0) { $0 + $1.1 } }
    public func perFrame(_ count: UInt64) -> Double { Double(count) / Double(max(frames, 1)) }
}
