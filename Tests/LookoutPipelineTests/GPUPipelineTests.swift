import Foundation
import LookoutPipeline
import LookoutSelftest
import Testing

/// The pipeline tests with `--device cuda` in every transfer mode (`PipelineSelftest`: frames in = results out, in
/// order, per stream; detections equal the CPU path within fp16 tolerance). They need a GPU: set `LOOKOUT_TEST_CUDA=1`
/// (the GPU machine runs the same checks through `lookout selftest --gpu --pipeline-only`, having no Swift toolchain).
@Suite struct GPUPipelineTests {
    static let enabled = ProcessInfo.processInfo.environment["LOOKOUT_TEST_CUDA"] == "1"

    @Test(.enabled(if: GPUPipelineTests.enabled), arguments: TransferMode.allCases)
    func everyModeDeliversEveryFrameInOrderWithTheCPUPathsBoxes(mode: TransferMode) async throws {
        var test = PipelineSelftest(video: Fixtures.video1080p, model: Fixtures.dynamicModel)
        test.modes = [mode]
        test.log = { _ in }
        for outcome in try await test.run() {
            #expect(outcome.passed, "\(outcome.lines.joined(separator: "\n"))")
        }
    }

    @Test func frameFormatsSizeTheirBuffers() {
        #expect(FrameFormat.bgr.byteCount(width: 1920, height: 1080) == 1920 * 1080 * 3)
        #expect(FrameFormat.nv12.byteCount(width: 1920, height: 1080) == 1920 * 1080 * 3 / 2)
        // Odd sizes: the pitch is even, the chroma rows round up.
        #expect(FrameFormat.nv12.pitch(width: 13) == 14)
        #expect(FrameFormat.nv12.byteCount(width: 13, height: 7) == 14 * (7 + 4))
    }
}
