import LookoutCUDA
import Synchronization

/// What `acquire` does when every buffer is still in use.
public enum PoolExhaustionPolicy: Sendable {
    /// Block until the oldest submitted buffer's fence signals (files: lose nothing).
    case wait
    /// Return nil at once and count it (live streams: drop the frame).
    case report
}

/// A fixed ring of host buffers allocated once. A lease hands one out; `submit` returns it to the pool once the
/// GPU work recorded on its fence has completed, never on a timer. Nothing is allocated per lease.
public final class FramePool<Fence: PoolFence>: @unchecked Sendable {
    enum SlotState: UInt8 { case free, leased, inFlight }

    public let count: Int
    public let policy: PoolExhaustionPolicy
    public let bufferBytes: Int
    let buffers: UnsafeMutablePointer<HostBuffer>
    let fences: [Fence]
    private struct State {
        var slots: [SlotState]
        /// Submitted slots, oldest first, as a ring of `count` entries.
        var inFlight: [Int]
        var head = 0
        var inFlightCount = 0
        var nextFree = 0
        var exhausted = 0
        var leases = 0
    }
    private let state: Mutex<State>

    /// Allocates `count` buffers with `makeBuffer` and a fence each with `makeFence`.
    public init(
        count: Int, policy: PoolExhaustionPolicy = .wait, makeBuffer: (Int) throws -> HostBuffer,
        makeFence: (Int) throws -> Fence
    ) rethrows {
        precondition(count > 0, "a pool holds at least one buffer")
        self.count = count
        self.policy = policy
        let buffers = UnsafeMutablePointer<HostBuffer>.allocate(capacity: count)
        var made = 0
        do {
            while made < count {
                (buffers + made).initialize(to: try makeBuffer(made))
                made += 1
            }
            self.fences = try (0..<count).map(makeFence)
        } catch {
            buffers.deinitialize(count: made)
            buffers.deallocate()
            throw error
        }
        self.buffers = buffers
        self.bufferBytes = buffers[0].byteCount
        self.state = Mutex(State(slots: Array(repeating: .free, count: count), inFlight: Array(repeating: 0, count: count)))
    }

    deinit {
        buffers.deinitialize(count: count)
        buffers.deallocate()
    }

    /// Times `acquire` found every buffer busy under `.report`.
    public var exhaustedCount: Int { state.withLock { $0.exhausted } }
    /// Leases handed out so far.
    public var leaseCount: Int { state.withLock { $0.leases } }
    /// Buffers neither leased nor in flight right now (in-flight ones whose fence signalled count as free).
    public var freeCount: Int {
        state.withLock { state in state.slots.filter { $0 == .free }.count }
    }

    /// A free buffer, reclaiming submitted ones whose fences have signalled; under `.wait` blocks on the oldest
    /// fence when none is free, under `.report` returns nil.
    public func acquire() throws -> FrameLease<Fence>? {
        while true {
            // Reclaim finished buffers, oldest first, then take a free slot.
            let (slot, oldest): (Int?, Int?) = try state.withLock { state in
                while state.inFlightCount > 0 {
                    let candidate = state.inFlight[state.head]
                    guard try fences[candidate].isSignaled() else { break }
                    state.slots[candidate] = .free
                    state.head = (state.head + 1) % count
                    state.inFlightCount -= 1
                }
                for step in 0..<count {
                    let index = (state.nextFree + step) % count
                    if state.slots[index] == .free {
                        state.slots[index] = .leased
                        state.nextFree = (index + 1) % count
                        state.leases += 1
                        return (index, nil)
                    }
                }
                if policy == .report { state.exhausted += 1 }
                return (nil, state.inFlightCount > 0 ? state.inFlight[state.head] : nil)
            }
            if let slot { return FrameLease(pool: self, slot: slot) }
            if policy == .report { return nil }
            guard let oldest else {
                preconditionFailure("frame pool of \(count) exhausted by leases never submitted or dropped")
            }
            try fences[oldest].wait()
        }
    }

    func markInFlight(_ slot: Int) {
        state.withLock { state in
            precondition(state.slots[slot] == .leased)
            state.slots[slot] = .inFlight
            state.inFlight[(state.head + state.inFlightCount) % count] = slot
            state.inFlightCount += 1
        }
    }

    func leaseEnded(_ slot: Int) {
        state.withLock { state in
            if state.slots[slot] == .leased { state.slots[slot] = .free }
        }
    }
}

/// One pooled buffer, held by one owner. `submit()` after recording the GPU work that reads it on `fence`
/// returns it to the pool for reuse once that work completes; dropping the lease without submitting returns it
/// at once.
public struct FrameLease<Fence: PoolFence>: ~Copyable {
    let pool: FramePool<Fence>
    public let slot: Int

    init(pool: FramePool<Fence>, slot: Int) {
        self.pool = pool
        self.slot = slot
    }

    deinit { pool.leaseEnded(slot) }

    /// The fence to record the reading work on before `submit`.
    public var fence: Fence { pool.fences[slot] }

    /// The pooled buffer, lent for the duration of `body`.
    public func withBuffer<R, E: Error>(_ body: (borrowing HostBuffer) throws(E) -> R) throws(E) -> R {
        try body(pool.buffers[slot])
    }

    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try pool.buffers[slot].withUnsafeMutableBytes(body)
    }

    /// Hands the buffer back; it becomes free when the fence signals.
    public consuming func submit() {
        pool.markInFlight(slot)
    }
}
