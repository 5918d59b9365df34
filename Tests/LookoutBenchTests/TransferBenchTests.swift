import CLookoutAllocCounter
import LookoutBench
import LookoutCUDA
import LookoutCore
import LookoutPipeline
import Testing

@Suite struct TransferBenchTests {
    @Test func syntheticFramesMatchTheBaselineFormula() {
        // frame(1920, 1080, 3)[5, 7] in bench/baselines/transfer_pytorch.py is [129, 193, 1].
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 0, index: 3) == 129)
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 1, index: 3) == 193)
        #expect(SyntheticFrames.value(x: 7, y: 5, c: 2, index: 3) == 1)
    }

    @Test func resolutionsParse() throws {
        #expect(try Resolution(parsing: "1080p") == Resolution(width: 1920, height: 1080))
        #expect(try Resolution(parsing: "4K") == Resolution(width: 3840, height: 2160))
        #expect(try Resolution(parsing: "1280x1001").description == "1280x1001")
        #expect(throws: LookoutError.self) { try Resolution(parsing: "big") }
    }

    @Test func pinnedVariantsChangeOneChoiceOfTheUploaderEach() {
        let base = TransferBenchOptions()
        #expect(
            base.upload.queuedCopies && base.upload.pinnedWrites == .streamed
                && base.upload.pinnedStaging == .writeCombined)
        let variants = base.pinnedVariants
        #expect(Set(variants.map(\.name)).count == variants.count)
        let byName = Dictionary(uniqueKeysWithValues: variants.map { ($0.name, $0.options.upload) })
        #expect(
            byName["pinned-direct"]
                == {
                    var u = base.upload
                    u.queuedCopies = false
                    return u
                }())
        #expect(
            byName["pinned-writeback"]
                == {
                    var u = base.upload
                    u.pinnedWrites = .writtenBack
                    return u
                }())
        #expect(
            byName["pinned-noflush"]
                == {
                    var u = base.upload
                    u.pinnedWrites = .cached
                    return u
                }())
        #expect(
            byName["pinned-hugepages"]
                == {
                    var u = base.upload
                    u.pinnedStaging = .hugePages
                    return u
                }())
    }

    @Test func copyCostFitRecoversSetupAndRate() throws {
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

    @Test func allocationCountsSplitLookoutsFromTheDrivers() throws {
        let before = try #require(AllocationCount.now())
        // No NVIDIA library is loaded here: everything counts as Lookout's (the split errs against Lookout).
        var kept: [[Int]] = []
        for i in 0..<3 { kept.append([Int](repeating: i, count: 3)) }
        let after = try #require(AllocationCount.now())
        let report = before.report(until: after, frames: 3)
        #expect(report.ours >= 3)
        #expect(report.driver == 0)
        #expect(kept.count == 3)
    }

    @Test func baselineRowsKeepTheirColumnOrder() throws {
        let rows = try BaselineScript.rows(
            python: "python3", script: "-c",
            arguments: [#"print('{"fps": 1.5, "mode": "x", "frames": 3}'); print('noise')"#], order: ["mode", "fps"])
        #expect(rows.count == 1)
        #expect(rows[0].map(\.0) == ["mode", "fps", "frames"])
        #expect(rows[0][2].1 == .int(3))
    }
}
