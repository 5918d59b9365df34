import BasicContainers
import LookoutCore

/// A FIFO between threads that may hold noncopyable values (frames, batches): `push` never blocks, `pop` blocks
/// until an element or `close()`.
package final class BlockingQueue<Element: ~Copyable>: @unchecked Sendable {
    // `items`, `head` and `closed` are only touched under `condition`.
    private let condition = ConditionLock()
    private var items = UniqueArray<Element>()
    private var closed = false

    package init() {}

    package func push(_ item: consuming Element) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    /// The oldest element; nil once the queue is closed and empty.
    package func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == 0 && !closed { condition.wait() }
        return items.count == 0 ? nil : items.remove(at: 0)
    }

    package func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
