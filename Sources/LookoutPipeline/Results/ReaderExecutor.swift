import LookoutCore

/// A thread of its own for the task that reads a pipeline's `results`, where that task must not allocate as it
/// wakes: run it with `Task(executorPreference: executor) { for await result in pipeline.results { … } }`.
///
/// On Swift's default executor every wake-up of a task by a thread that is not one of libdispatch's (the pipeline's
/// results thread) costs two heap allocations inside libdispatch: about one per batch, however few allocations the
/// pipeline makes itself. Here a wake-up is a slot of a ring of jobs and a signal. Call `shutdown()` when the reader
/// has finished; the thread ends once the jobs queued before it have run.
public final class ReaderExecutor: TaskExecutor, @unchecked Sendable {
    // `ring`, `head`, `count` and `stopped` are only touched under `condition`.
    private let condition = ConditionLock()
    private var ring: [UnownedJob?]
    private var head = 0
    private var count = 0
    private var stopped = false

    /// Starts the thread (`name` shows in debuggers and `top -H`).
    public init(name: String = "lookout-reader") {
        ring = Array(repeating: nil, count: 16)
        PlatformThread.spawn(name: name) { [self] in run() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        defer { condition.unlock() }
        if count == ring.count {
            // Full (rare: one reader task queues one job at a time): twice the room, oldest first.
            var grown = [UnownedJob?](repeating: nil, count: ring.count * 2)
            for i in 0..<count { grown[i] = ring[(head + i) % ring.count] }
            ring = grown
            head = 0
        }
        ring[(head + count) % ring.count] = job
        count += 1
        condition.signal()
    }

    /// Lets the thread end once it has run the jobs queued so far.
    public func shutdown() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func run() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while count == 0 && !stopped { condition.wait() }
            if count == 0 {
                condition.unlock()
                return
            }
            let job = ring[head].take()!
            head = (head + 1) % ring.count
            count -= 1
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }
}
