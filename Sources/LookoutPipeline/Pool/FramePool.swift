import LookoutCUDA
import LookoutCore
import Synchronization

/// What `acquire` does when every buffer of a pool is in use.
package enum PoolExhaustionPolicy: Sendable {
    /// Block until a buffer comes back (files: lose nothing).
    case wait
    /// Return nil at once and count it (live streams: drop the frame).
    case report
}

/// A fixed ring of host buffers allocated once, handed out as `FrameLease`s. A lease returns its buffer when it
/// is dropped (the CPU has read it) or, on the GPU path, when the GPU work recorded on its fence has completed
/// (`FrameLease.release(after:)`): an event, never a timer, and no thread waiting for it. Nothing is allocated per
/// lease.
///
/// A pool of device surfaces (`init(surfaces:…)`) has no buffers of its own: each slot is a frame that a hardware
/// decoder mapped into device memory (`FrameLease.attach`), handed back to it (`DeviceSurfaces.unmap`) when the
/// slot's lease is dropped or its fence has passed.
package final class FramePool: @unchecked Sendable {
    // `buffers`, `surfaces` and `fences` are set in init and never replaced; the slot states and the surfaces'
    // addresses are under `state`, and waiters for a dropped lease under `returned`.
    enum SlotState: UInt8 { case free, leased, fenced }

    package let count: Int
    package let policy: PoolExhaustionPolicy
    package let bufferBytes: Int
    let buffers: UnsafeMutablePointer<HostBuffer>?
    /// The decoder a pool of device surfaces returns them to; nil for host buffers.
    let surfaces: (any DeviceSurfaces)?
    /// Per slot, the event the GPU records when it has read the buffer; nil for pools the CPU alone reads.
    let fences: [CUDAEvent]?
    private let state: Mutex<State>
    private let returned = ConditionLock()
    private let waiting = Atomic<Int>(0)

    private struct State {
        var slots: [SlotState]
        /// Fenced slots, oldest first, as a ring of `count` entries.
        var fenced: [Int]
        var head = 0
        var fencedCount = 0
        var nextFree = 0
        var exhausted = 0
        var leases = 0
        /// Per slot of a surface pool, the mapped surface it holds (nil when none).
        var mapped: [DevicePointer?] = []
    }

    /// Allocates `count` buffers with `makeBuffer`, and a fence each with `makeFence` for pools the GPU reads.
    package init<E: Error>(
        count: Int, policy: PoolExhaustionPolicy = .wait, makeBuffer: (Int) throws(E) -> HostBuffer,
        makeFence: ((Int) throws(E) -> CUDAEvent)? = nil
    ) throws(E) {
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
            if let makeFence {
                var fences: [CUDAEvent] = []
                for index in 0..<count { fences.append(try makeFence(index)) }
                self.fences = fences
            } else {
                self.fences = nil
            }
        } catch {
            buffers.deinitialize(count: made)
            buffers.deallocate()
            throw error
        }
        self.buffers = buffers
        self.surfaces = nil
        self.bufferBytes = buffers[0].byteCount
        self.state = Mutex(
            State(slots: Array(repeating: .free, count: count), fenced: Array(repeating: 0, count: count)))
    }

    /// A pool of `count` device surfaces of `surfaces` (frames a hardware decoder maps), with a fence each.
    package init(
        surfaces: any DeviceSurfaces, count: Int, policy: PoolExhaustionPolicy, context: CUDAContext
    ) throws(CUDAError) {
        precondition(count > 0, "a pool holds at least one surface")
        self.count = count
        self.policy = policy
        self.buffers = nil
        self.surfaces = surfaces
        self.bufferBytes = Int.max
        var fences: [CUDAEvent] = []
        for _ in 0..<count { fences.append(try CUDAEvent(context: context, timing: false)) }
        self.fences = fences
        var state = State(slots: Array(repeating: .free, count: count), fenced: Array(repeating: 0, count: count))
        state.mapped = Array(repeating: nil, count: count)
        self.state = Mutex(state)
    }

    deinit {
        if let buffers {
            buffers.deinitialize(count: count)
            buffers.deallocate()
        }
        if let surfaces, let fences {
            // Surfaces still behind their fences go back once the GPU has read them.
            let mapped = state.withLock { $0.mapped }
            for (slot, surface) in mapped.enumerated() {
                guard let surface else { continue }
                try? fences[slot].synchronize()
                surfaces.unmap(surface)
            }
        }
    }

    /// Times `acquire` found every buffer busy under `.report`.
    package var exhaustedCount: Int { state.withLock { $0.exhausted } }
    /// Leases handed out so far.
    package var leaseCount: Int { state.withLock { $0.leases } }
    /// Writers blocked in `acquire` because every buffer is leased (none free, none behind a fence).
    package var waitingWriters: Int { waiting.load(ordering: .relaxed) }
    /// Buffers neither leased nor waiting for their fence right now. Read by every frame's writer: counted by index,
    /// which allocates nothing (`filter` made an array per frame; iterating the array itself allocates per element in
    /// debug builds).
    package var freeCount: Int {
        state.withLock { state in
            var free = 0
            for index in 0..<state.slots.count where state.slots[index] == .free { free += 1 }
            return free
        }
    }

    /// A free buffer, reclaiming fenced ones whose GPU work has completed. When none is free, `.wait` blocks until
    /// one comes back (on the oldest fence, or for a dropped lease) and `.report` returns nil.
    package func acquire() throws(CUDAError) -> FrameLease? {
        while true {
            let (slot, oldest) = try reclaimAndTake()
            if let slot { return FrameLease(pool: self, slot: slot) }
            if policy == .report { return nil }
            if let oldest, let fences {
                try fences[oldest].synchronize()
                continue
            }
            // Every buffer is leased: wait for a lease to be dropped or fenced.
            returned.withLock {
                waiting.add(1, ordering: .relaxed)
                while state.withLock({ !$0.slots.contains(.free) && $0.fencedCount == 0 }) { returned.wait() }
                waiting.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// Reclaims fenced buffers whose work is done (oldest first) and takes a free slot; else the oldest fenced slot.
    private func reclaimAndTake() throws(CUDAError) -> (slot: Int?, oldest: Int?) {
        try state.withLock { (state) throws(CUDAError) -> (Int?, Int?) in
            if let fences {
                while state.fencedCount > 0 {
                    let candidate = state.fenced[state.head]
                    guard try fences[candidate].isComplete() else { break }
                    state.slots[candidate] = .free
                    returnSurface(candidate, &state)
                    state.head = (state.head + 1) % count
                    state.fencedCount -= 1
                }
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
            return (nil, state.fencedCount > 0 ? state.fenced[state.head] : nil)
        }
    }

    func fence(_ slot: Int) {
        state.withLock { state in
            precondition(state.slots[slot] == .leased)
            state.slots[slot] = .fenced
            state.fenced[(state.head + state.fencedCount) % count] = slot
            state.fencedCount += 1
        }
        // A writer waiting because every buffer was leased now has a fence to wait on instead: without this wake
        // it would sleep until a lease is dropped, which never happens when every frame goes back behind a fence.
        returned.withLock { returned.broadcast() }
    }

    func leaseEnded(_ slot: Int) {
        let freed = state.withLock { state -> Bool in
            guard state.slots[slot] == .leased else { return false }
            state.slots[slot] = .free
            // A dropped lease's surface was not read by the GPU (or was read synchronously): back at once.
            returnSurface(slot, &state)
            return true
        }
        if freed { returned.withLock { returned.broadcast() } }
    }

    /// Hands a freed slot's surface back to its decoder.
    private func returnSurface(_ slot: Int, _ state: inout State) {
        guard let surfaces, let surface = state.mapped[slot] else { return }
        state.mapped[slot] = nil
        surfaces.unmap(surface)
    }

    func attach(_ surface: DevicePointer, slot: Int) {
        state.withLock { state in
            precondition(state.slots[slot] == .leased && state.mapped[slot] == nil, "a surface on a busy slot")
            state.mapped[slot] = surface
        }
    }

    func surface(_ slot: Int) -> DevicePointer? {
        state.withLock { $0.mapped[slot] }
    }
}

/// Frames a hardware decoder maps into device memory, which a surface pool hands back when their leases end.
package protocol DeviceSurfaces: AnyObject, Sendable {
    /// Returns a mapped frame to the decoder (the GPU work that read it has completed). Failures are the decoder's
    /// to count: the pool has no one to report them to.
    func unmap(_ surface: DevicePointer)
}

/// One pooled buffer, held by one owner at a time from the source that fills it to the stage that reads it.
/// Dropping the lease returns the buffer at once; `release(after:)` returns it once the GPU work recorded on the
/// slot's fence has completed.
package struct FrameLease: ~Copyable, @unchecked Sendable {
    // The pool is thread-safe; `slot` is this lease's alone until it ends. The lease holds its pool with a reference
    // of its own (retained in init, released when the lease ends) so that `release(afterWorkOn:)` can end it
    // without running deinit (`discard self` needs trivially destroyed fields).
    private let retainedPool: Unmanaged<FramePool>
    package let slot: Int

    init(pool: FramePool, slot: Int) {
        retainedPool = Unmanaged.passRetained(pool)
        self.slot = slot
    }

    deinit {
        pool.leaseEnded(slot)
        retainedPool.release()
    }

    var pool: FramePool { retainedPool.takeUnretainedValue() }

    /// Bytes of the buffer.
    package var capacity: Int { pool.bufferBytes }

    /// The buffer's address for the GPU when it can read it in place (mapped and managed memory, device surfaces).
    package var devicePointer: DevicePointer? {
        guard let buffers = pool.buffers else { return pool.surface(slot) }
        return buffers[slot].devicePointer
    }

    /// Whether the pixels are in device memory (a decoder's surface), with no host bytes to read.
    package var isDeviceSurface: Bool { pool.buffers == nil }

    /// Gives the slot of a surface pool the frame the decoder has just mapped; it goes back when the lease ends.
    package func attach(_ surface: DevicePointer) {
        pool.attach(surface, slot: slot)
    }

    /// The buffer, lent for the duration of `body`.
    package func withBuffer<R, E: Error>(_ body: (borrowing HostBuffer) throws(E) -> R) throws(E) -> R {
        try body(hostBuffers[slot])
    }

    @discardableResult
    package func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E)
        -> R
    {
        try hostBuffers[slot].withUnsafeMutableBytes(body)
    }

    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try hostBuffers[slot].withUnsafeBytes(body)
    }

    private var hostBuffers: UnsafeMutablePointer<HostBuffer> {
        guard let buffers = pool.buffers else { preconditionFailure("a device surface has no host bytes") }
        return buffers
    }

    /// Records the slot's fence on `stream` (after the work that reads the buffer) and hands the buffer back: it is
    /// reused once the GPU has passed the fence. The pool must have fences.
    package consuming func release(afterWorkOn stream: CUDAStream) throws(CUDAError) {
        guard let fences = pool.fences else {
            preconditionFailure("a pool without fences is released by dropping its leases")
        }
        do {
            try fences[slot].record(on: stream)
        } catch {
            // Nothing was queued behind the buffer: the lease ends as a dropped one.
            _ = consume self
            throw error
        }
        // The slot is fenced now, and may be reclaimed and leased again at once (by another thread, as soon as the
        // fence passes): this lease ends here without its deinit, which would free the slot under its next holder.
        let retained = retainedPool
        let slot = self.slot
        discard self
        retained.takeUnretainedValue().fence(slot)
        retained.release()
    }
}
