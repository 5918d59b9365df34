import BasicContainers
import CLookoutAllocCounter
import LookoutCUDA
import LookoutCore
import Testing

@testable import LookoutPipeline

@Suite struct FramePoolTests {
    func pool(_ count: Int, policy: PoolExhaustionPolicy) -> FramePool {
        FramePool(count: count, policy: policy, makeBuffer: { _ in HostBuffer.pageable(byteCount: 4096) })
    }

    struct NoLease: Error {}

    func take(_ p: FramePool) throws -> FrameLease {
        guard let lease = try p.acquire() else { throw NoLease() }
        return lease
    }

    @Test func leasesCycleThroughTheRing() throws {
        let p = pool(3, policy: .wait)
        var slots: [Int] = []
        for _ in 0..<6 {
            let lease = try take(p)
            slots.append(lease.slot)
        }
        #expect(slots == [0, 1, 2, 0, 1, 2])
    }

    @Test func aHeldLeaseKeepsItsBufferAndADroppedOneReturnsAtOnce() throws {
        let p = pool(2, policy: .report)
        var held = UniqueArray<FrameLease>()
        held.append(try take(p))
        held.append(try take(p))
        #expect(try p.acquire() == nil)
        #expect(p.exhaustedCount == 1)
        _ = held.removeLast()
        let again = try take(p)
        #expect(again.slot == 1)
    }

    @Test func theWaitPolicyBlocksUntilALeaseIsDropped() async throws {
        let p = pool(1, policy: .wait)
        let first = try take(p)
        let waited = Task.detached { () -> Int in
            guard let lease = try? p.acquire() else { return -1 }
            return lease.slot
        }
        while p.waitingWriters == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        _ = consume first
        #expect(await waited.value == 0)
        #expect(p.waitingWriters == 0)
    }

    @Test func aPoolBufferKeepsItsBytesAcrossLeases() throws {
        let p = pool(1, policy: .wait)
        try take(p).withUnsafeMutableBytes { $0[7] = 42 }
        #expect(try take(p).withUnsafeBytes { $0[7] } == 42)
    }

    @Test func steadyStateLeasesAllocateNothing() throws {
        let p = pool(4, policy: .wait)
        for _ in 0..<10 { _ = try p.acquire() }
        // Leases are taken and returned on this thread only: its own count is immune to suites running beside it.
        try #require(lookout_alloc_counter_active() != 0)
        var fewest = UInt64.max
        for _ in 0..<8 {
            let before = lookout_thread_alloc_count()
            for _ in 0..<1000 {
                let lease = try p.acquire()!
                lease.withUnsafeMutableBytes { $0[0] = 1 }
            }
            fewest = min(fewest, lookout_thread_alloc_count() - before)
        }
        #expect(fewest == 0)
    }
}

@Suite struct TransferModeParsingTests {
    @Test func modesParse() throws {
        // `all` is every mode that brings host frames to the GPU; `device` (NVDEC's frames) is named on its own.
        #expect(try TransferMode.parseList("all") == [.pageable, .pinned, .pinnedRaw, .mapped, .managed])
        #expect(try TransferMode.parseList("device") == [.device])
        #expect(!TransferMode.device.preprocessesOnCPU)
        #expect(try TransferMode.parseList("pinned-raw, pageable") == [.pinnedRaw, .pageable])
        let error = #expect(throws: LookoutError.self) { try TransferMode.parseList("zero-copy") }
        #expect(error?.parameter == "transferMode")
    }

    @Test func stagingKindsParse() {
        #expect(PinnedStaging(rawValue: "huge-pages") == .hugePages)
        #expect(PinnedStaging(rawValue: "write-combined") == .writeCombined)
        #expect(PinnedStaging(rawValue: "wc") == nil)
    }
}
