import Foundation
import Synchronization

/// Work split by rows over a `RowParallel` team: `rows` is called once per worker with its band.
public protocol RowJob: AnyObject {
    func rows(worker: Int, range: Range<Int>)
}

/// A fixed team of threads that split a range of rows: started once, then each `run` costs two semaphore
/// operations per worker and allocates nothing (so CPU preprocessing can use several cores per frame).
public final class RowParallel: @unchecked Sendable {
    public let threadCount: Int
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    // A class reference, not a closure: storing a closure for the workers would allocate its context per run.
    private var job: RowJob?
    private var total = 0
    private var stopping = false
    private let workerAllocations = Atomic<UInt64>(0)

    /// Heap allocations the worker threads made inside jobs so far (the caller's share is counted on its own thread).
    public var allocations: UInt64 { workerAllocations.load(ordering: .relaxed) }

    /// `threadCount` threads in all, the caller's included.
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        self.start = (1..<max(1, threadCount)).map { _ in DispatchSemaphore(value: 0) }
        for worker in 1..<self.threadCount {
            let thread = Thread { [unowned self] in self.workerLoop(worker) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        stopping = true
        for semaphore in start { semaphore.signal() }
    }

    private func band(_ index: Int) -> Range<Int> {
        let lower = total * index / threadCount
        let upper = total * (index + 1) / threadCount
        return lower..<upper
    }

    private func workerLoop(_ index: Int) {
        while true {
            start[index - 1].wait()
            if stopping { return }
            let before = Measurement.threadAllocations()
            job?.rows(worker: index, range: band(index))
            workerAllocations.add(Measurement.threadAllocations() - before, ordering: .relaxed)
            done.signal()
        }
    }

    /// Calls `job.rows` on contiguous sub-ranges of `0..<count`, one per thread (`worker` in `0..<threadCount`,
    /// 0 being the caller), and returns when all are done.
    public func run(count: Int, _ job: RowJob) {
        if threadCount == 1 || count < threadCount {
            job.rows(worker: 0, range: 0..<count)
            return
        }
        self.job = job
        total = count
        for semaphore in start { semaphore.signal() }
        job.rows(worker: 0, range: band(0))
        for _ in start { done.wait() }
        self.job = nil
    }
}
