import CLookoutHostMemory
import LookoutCUDA
import LookoutMedia
import LookoutYOLO
import Testing

@testable import LookoutPipeline

@Suite struct FramePoolTests {
    func pool(_ count: Int, policy: PoolExhaustionPolicy) -> FramePool<ManualFence> {
        FramePool(
            count: count, policy: policy, makeBuffer: { _ in HostBuffer.pageable(byteCount: 4096) },
            makeFence: { _ in ManualFence() })
    }

    struct NoLease: Error {}

    func take(_ p: FramePool<ManualFence>) throws -> FrameLease<ManualFence> {
        guard let lease = try p.acquire() else { throw NoLease() }
        return lease
    }

    /// Whether `acquire` comes back empty (a lease it did give is dropped, returning at once).
    func exhausted(_ p: FramePool<ManualFence>) throws -> Bool {
        guard let lease = try p.acquire() else { return true }
        _ = consume lease
        return false
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

    @Test func submittedBufferReturnsOnlyWhenItsFenceSignals() throws {
        let p = pool(2, policy: .report)
        let a = try take(p)
        a.fence.arm()
        let fenceA = a.fence
        a.submit()
        let b = try take(p)
        b.fence.arm()
        let fenceB = b.fence
        b.submit()
        #expect(try exhausted(p))
        #expect(p.exhaustedCount == 1)
        fenceB.signal()
        // The oldest is still busy, but the second signalled: it is reclaimed in order only after the oldest.
        #expect(try exhausted(p))
        fenceA.signal()
        let again = try take(p)
        #expect(again.slot == 0)
    }

    @Test func droppedLeaseReturnsAtOnce() throws {
        let p = pool(1, policy: .report)
        do { _ = try take(p) }
        #expect(try !exhausted(p))
    }

    @Test func waitPolicyBlocksOnTheOldestFence() throws {
        let p = pool(1, policy: .wait)
        let a = try take(p)
        a.submit()  // fence never armed: signalled, so the wait returns at once
        let b = try take(p)
        #expect(b.slot == 0)
    }

    @Test func steadyStateLeasesAllocateNothing() throws {
        let p = pool(4, policy: .wait)
        for _ in 0..<10 { try p.acquire()!.submit() }
        // Leases are taken and returned on this thread only: its own count is immune to suites running beside it.
        let fewest = try fewestAllocations(onThisThreadOnly: true) {
            for _ in 0..<1000 {
                let lease = try p.acquire()!
                lease.withUnsafeMutableBytes { $0[0] = 1 }
                lease.submit()
            }
        }
        #expect(fewest == 0)
    }
}

/// The fewest allocations `body` made over several trials (a real per-iteration allocation shows in every trial).
/// The process-wide counter also sees suites running concurrently, so a body that runs on the calling thread alone
/// counts that thread's allocations only; one that fans out to worker threads needs the process count (and its
/// test runs by itself in scripts/test).
func fewestAllocations(onThisThreadOnly: Bool = false, _ body: () throws -> Void) throws -> UInt64 {
    try #require(Measurement.hostAllocations() != nil)
    func count() -> UInt64 { onThisThreadOnly ? Measurement.threadAllocations() : Measurement.hostAllocations()! }
    var fewest = UInt64.max
    for _ in 0..<8 {
        let before = count()
        try body()
        fewest = min(fewest, count() - before)
    }
    return fewest
}

@Suite struct ParallelLetterboxTests {
    @Test func syntheticFramesMatchTheBaselineFormula() {
        // frame(1920, 1080, 3)[5, 7] in bench/baselines/transfer_pytorch.py is [129, 193, 1].
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 0, index: 3) == 129)
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 1, index: 3) == 193)
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 2, index: 3) == 1)
    }

    @Test(arguments: [(1920, 1080), (13, 7), (1, 3000), (1280, 1280), (640, 480), (1280, 1001)], ParallelLetterbox.Writes.allCases)
    func equalsTheSingleThreadedWriter(size: (width: Int, height: Int), writes: ParallelLetterbox.Writes) {
        let (width, height) = size
        let frame = HostBuffer.pageable(byteCount: width * height * 3)
        frame.withUnsafeMutableBytes { SyntheticFrames.fill($0, width: width, height: height, pitch: width * 3, index: 2) }
        let cpu = ParallelLetterbox(sourceWidth: width, sourceHeight: height, workers: RowParallel(threadCount: 3))
        cpu.writes = writes
        var out = [Float](repeating: -1, count: 640 * 640 * 3)
        var reference = [Float](repeating: -2, count: 640 * 640 * 3)
        frame.withUnsafeBytes { src in
            let pixels = BGRPixels(
                base: src.baseAddress!.assumingMemoryBound(to: UInt8.self), width: width, height: height, rowBytes: width * 3)
            out.withUnsafeMutableBufferPointer { cpu.run(source: pixels, into: $0.baseAddress!) }
            var writer = LetterboxTensorWriter()
            reference.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: cpu.geometry, into: $0.baseAddress!) }
        }
        #expect(out == reference)
    }

    @Test func streamedBandsCoverOddWidthsAndBandEdges() {
        // 644 columns: rows are not a whole number of cache lines, so each plane's rows start unaligned and the
        // non-temporal copy has a head and a tail; 23 rows a worker do not divide into the band height.
        let cpu = ParallelLetterbox(
            sourceWidth: 1000, sourceHeight: 700, outputWidth: 644, outputHeight: 69, workers: RowParallel(threadCount: 3))
        cpu.writes = .streamed
        #expect(cpu.bandRows > 1 && 23 % cpu.bandRows != 0)
        let frame = HostBuffer.pageable(byteCount: 1000 * 700 * 3)
        frame.withUnsafeMutableBytes { SyntheticFrames.fill($0, width: 1000, height: 700, pitch: 3000, index: 5) }
        // One float of offset: the destination is 4-byte but not 16-byte aligned.
        var out = [Float](repeating: -1, count: 644 * 69 * 3 + 1)
        var reference = [Float](repeating: -2, count: 644 * 69 * 3)
        frame.withUnsafeBytes { src in
            let pixels = BGRPixels(base: src.baseAddress!.assumingMemoryBound(to: UInt8.self), width: 1000, height: 700, rowBytes: 3000)
            out.withUnsafeMutableBufferPointer { cpu.run(source: pixels, into: $0.baseAddress! + 1) }
            var writer = LetterboxTensorWriter()
            reference.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: cpu.geometry, into: $0.baseAddress!) }
        }
        #expect(out[0] == -1)
        #expect(Array(out[1...]) == reference)
    }

    @Test func streamStoreCopiesEveryLengthAndAlignment() {
        let source = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        for offset in 0..<17 {
            for count in [0, 1, 15, 16, 17, 63, 64, 65, 130, 250] {
                var destination = [UInt8](repeating: 0xEE, count: 300)
                destination.withUnsafeMutableBytes { d in
                    source.withUnsafeBytes { lookout_stream_store(d.baseAddress! + offset, $0.baseAddress!, count) }
                }
                lookout_store_fence()
                #expect(Array(destination[offset..<(offset + count)]) == Array(source[0..<count]), "offset \(offset) count \(count)")
                #expect(destination[..<offset].allSatisfy { $0 == 0xEE } && destination[(offset + count)...].allSatisfy { $0 == 0xEE })
            }
        }
        #if arch(x86_64)
        #expect(lookout_stream_store_available() == 1)
        #endif
    }

    // Unspecialised generics in LookoutYOLO's writer allocate in debug builds; release builds allocate nothing
    // (checked with `swift test -c release`, and by the benchmark's own count on the GPU machine).
    #if DEBUG
    static let threadCounts: [Int] = []
    #else
    static let threadCounts = [1, 2]
    #endif

    @Test(.enabled(if: !threadCounts.isEmpty, "release builds only"), arguments: threadCounts, ParallelLetterbox.Writes.allCases)
    func steadyStateAllocatesNothing(threads: Int, writes: ParallelLetterbox.Writes) throws {
        let frame = HostBuffer.pageable(byteCount: 1920 * 1080 * 3)
        let output = HostBuffer.pageable(byteCount: 640 * 640 * 3 * 4)
        let workers = RowParallel(threadCount: threads)
        let cpu = ParallelLetterbox(sourceWidth: 1920, sourceHeight: 1080, workers: workers)
        cpu.writes = writes
        func once() {
            frame.withUnsafeBytes { src in
                output.withUnsafeMutableBytes {
                    let pixels = BGRPixels(
                        base: src.baseAddress!.assumingMemoryBound(to: UInt8.self), width: 1920, height: 1080, rowBytes: 1920 * 3)
                    cpu.run(source: pixels, into: $0.baseAddress!.assumingMemoryBound(to: Float.self))
                }
            }
        }
        once()
        let workersBefore = workers.allocations
        let fewest = try fewestAllocations { for _ in 0..<5 { once() } }
        #expect(fewest == 0)
        #expect(workers.allocations == workersBefore)
    }

    @Test func theLedgerChargesDriverCallsSeparately() throws {
        try #require(Measurement.hostAllocations() != nil)
        var ledger = AllocationLedger()
        ledger.start(workers: nil)
        var kept: [[Int]] = []
        kept.reserveCapacity(8)
        // A "driver call" that allocates twice, and our own code allocating once. (Arrays made at run time: release
        // builds emit constant array literals as static objects, which allocate nothing.)
        ledger.driver(.prefetch) {
            kept.append([Int](repeating: kept.count, count: 3))
            kept.append([Int](repeating: kept.count, count: 3))
        }
        kept.append([Int](repeating: kept.count, count: 1))
        let report = try #require(ledger.finish(frames: 1, workers: nil))
        #expect(report.driverCalls.count == 1 && report.driverCalls[0].1 == 2 && report.driverCalls[0].2 == 1)
        #expect(report.ours >= 1)
        #expect(kept.count == 3)
    }
}

@Suite struct OptionParsingTests {
    @Test func modesParse() throws {
        #expect(try TransferMode.parseList("all") == TransferMode.allCases)
        #expect(try TransferMode.parseList("pinned-raw,pageable") == [.pinnedRaw, .pageable])
        #expect(throws: TransferModeError.self) { try TransferMode.parseList("zero-copy") }
    }

    @Test func resolutionsParse() throws {
        #expect(try Resolution(parsing: "1080p") == Resolution(width: 1920, height: 1080))
        #expect(try Resolution(parsing: "4K") == Resolution(width: 3840, height: 2160))
        #expect(try Resolution(parsing: "1280x1001").description == "1280x1001")
        #expect(throws: ResolutionError.self) { try Resolution(parsing: "big") }
    }

    @Test func pinnedVariantsChangeOneChoiceEach() {
        let base = TransferBenchOptions()
        #expect(base.pinnedQueuedCopies && base.pinnedWrites == .streamed && base.staging == .writeCombined)
        let variants = base.pinnedVariants
        #expect(Set(variants.map(\.name)).count == variants.count)
        let byName = Dictionary(uniqueKeysWithValues: variants.map { ($0.name, $0.options) })
        #expect(byName["pinned-direct"]?.pinnedQueuedCopies == false)
        #expect(byName["pinned-writeback"]?.pinnedWrites == .writtenBack)
        #expect(byName["pinned-writeback"]?.pinnedQueuedCopies == true)
        #expect(byName["pinned-hugepages"]?.staging == .hugePages)
        #expect(byName["pinned-graph"]?.pinnedGraphCopies == true)
    }

    @Test func stagingKindsParse() {
        #expect(PinnedStaging(rawValue: "huge-pages") == .hugePages)
        #expect(PinnedStaging(rawValue: "write-combined") == .writeCombined)
        #expect(PinnedStaging(rawValue: "wc") == nil)
    }
}

@Suite struct CopyCostTests {
    @Test func fitRecoversSetupAndRate() throws {
        // Copies that take 6 µs plus bytes at 52 GB/s.
        let sizes: [Int] = [1 << 20, 4 << 20, 4_915_200, 16 << 20, 64 << 20]
        let sweep: [(bytes: Int, gbps: Double)] = sizes.map { bytes in
            let seconds: Double = 6e-6 + Double(bytes) / 52e9
            return (bytes: bytes, gbps: Double(bytes) / (seconds * 1e9))
        }
        let fit = try #require(TransferBench.copyCost(sweep))
        #expect(abs(fit.setupMicroseconds - 6) < 1e-6)
        #expect(abs(fit.gbps - 52) < 1e-6)
        #expect(TransferBench.copyCost(Array(sweep.prefix(1))) == nil)
    }

    @Test func hugePageAccountingReadsTheProcess() {
        #if os(Linux)
        #expect(HostBuffer.processHugePageBytes() != nil)
        #endif
    }
}
