import LookoutMedia
import Testing

@testable import LookoutYOLO

/// The band entry point of `LetterboxTensorWriter` (one writer per thread, each filling some output rows) must
/// produce exactly the whole-image tensor, whatever the bands and the order they are written in.
struct LetterboxBandTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var width: Int, height: Int, target: Int, auto: Bool
        var testDescription: String { "\(width)x\(height) -> \(target)\(auto ? " auto" : "")" }
    }

    static let cases = [
        Case(width: 1920, height: 1080, target: 640, auto: false),  // bilinear, pad rows top and bottom
        Case(width: 1280, height: 1280, target: 640, auto: false),  // exact 2x: INTER_AREA
        Case(width: 640, height: 480, target: 640, auto: false),  // no resize
        Case(width: 1280, height: 1001, target: 640, auto: false),
        Case(width: 13, height: 7, target: 64, auto: false),  // upscale
        Case(width: 1280, height: 720, target: 640, auto: true),
        Case(width: 1, height: 300, target: 64, auto: false),
    ]

    @Test(arguments: cases)
    func bandsEqualTheWholeImage(_ c: Case) {
        let bytes = TestPattern.bytes(seed: c.width * 7 + c.height, count: c.width * c.height * 3)
        let geometry = LetterboxGeometry(
            sourceWidth: c.width, sourceHeight: c.height, targetWidth: c.target, targetHeight: c.target, auto: c.auto)
        let count = 3 * geometry.outputWidth * geometry.outputHeight
        var whole = [Float](repeating: -1, count: count)
        var banded = [Float](repeating: -2, count: count)
        bytes.withUnsafeBufferPointer { raw in
            let pixels = BGRPixels(base: raw.baseAddress!, width: c.width, height: c.height, rowBytes: c.width * 3)
            var writer = LetterboxTensorWriter()
            whole.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: geometry, into: $0.baseAddress!) }
            // Uneven bands, written bottom band first, each by a fresh writer (as each thread has its own).
            let h = geometry.outputHeight
            let cuts = [0, h / 7, h / 3, h / 3 + 1, (2 * h) / 3, h]
            for i in stride(from: cuts.count - 2, through: 0, by: -1) {
                var bandWriter = LetterboxTensorWriter()
                banded.withUnsafeMutableBufferPointer {
                    bandWriter.write(pixels, geometry: geometry, into: $0.baseAddress!, rows: cuts[i]..<cuts[i + 1])
                }
            }
        }
        #expect(banded == whole)
    }

    @Test func aReusedWriterWritesAnyBandAgain() {
        let (w, h) = (1920, 1080)
        let bytes = TestPattern.bytes(seed: 3, count: w * h * 3)
        let geometry = LetterboxGeometry(sourceWidth: w, sourceHeight: h, targetWidth: 640, targetHeight: 640)
        var whole = [Float](repeating: 0, count: 3 * 640 * 640)
        var banded = [Float](repeating: 0, count: 3 * 640 * 640)
        bytes.withUnsafeBufferPointer { raw in
            let pixels = BGRPixels(base: raw.baseAddress!, width: w, height: h, rowBytes: w * 3)
            var writer = LetterboxTensorWriter()
            whole.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: geometry, into: $0.baseAddress!) }
            // The same writer, bands out of order: its two-row cache must not leak rows between bands.
            for band in [300..<640, 0..<150, 150..<300] {
                banded.withUnsafeMutableBufferPointer {
                    writer.write(pixels, geometry: geometry, into: $0.baseAddress!, rows: band)
                }
            }
        }
        #expect(banded == whole)
    }
}
