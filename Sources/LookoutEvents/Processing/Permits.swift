import LookoutCore
import Synchronization

/// A bound on frames in flight: the reading task awaits a permit per frame, the writer thread returns them.
final class Permits: Sendable {
    private let state: Mutex<(available: Int, waiters: [CheckedContinuation<Void, Never>])>

    /// `count` permits to begin with (0: the first `acquire` waits for a `release`).
    init(_ count: Int) { state = Mutex((max(0, count), [])) }

    func acquire() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Bool in
                if s.available > 0 {
                    s.available -= 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func release(_ n: Int = 1) {
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            var wake: [CheckedContinuation<Void, Never>] = []
            for _ in 0..<n {
                if s.waiters.isEmpty { s.available += 1 } else { wake.append(s.waiters.removeFirst()) }
            }
            return wake
        }
        for w in wake { w.resume() }
    }
}

/// A FIFO whose consumer takes everything waiting at once (the writer commits it in one transaction).
final class DrainQueue<Element: Sendable>: @unchecked Sendable {
    // `items` and `closed` only under `condition`.
    private let condition = ConditionLock()
    private var items: [Element] = []
    private var closed = false

    func push(_ item: Element) {
        condition.withLock {
            items.append(item)
            condition.signal()
        }
    }

    /// Everything waiting (at least one), or nil once closed and empty.
    func popAll(waitingUntil deadline: Double? = nil) -> [Element]? {
        condition.withLock {
            while items.isEmpty && !closed {
                if let deadline {
                    _ = condition.wait(untilMonotonic: deadline)
                    if MonotonicClock.seconds() >= deadline { break }
                } else {
                    condition.wait()
                }
            }
            if items.isEmpty { return closed ? nil : [] }
            defer { items = [] }
            return items
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
