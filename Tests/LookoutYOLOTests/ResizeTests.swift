import LookoutMedia
import Testing

@testable import LookoutYOLO

/// `LinearResizer` against `cv2.resize(INTER_LINEAR)` (vectors/resize_vectors.json, OpenCV 5.0).
struct ResizeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var seed: Int
        var sourceHeight: Int, sourceWidth: Int, width: Int, height: Int
        var crc32: UInt32
        var pixels: [UInt8]?
        var testDescription: String { "\(sourceWidth)x\(sourceHeight) -> \(width)x\(height)" }
    }

    static let cases: [Case] = Fixtures.cases("resize_vectors.json").compactMap { c in
        guard let seed = c["seed"] as? Int, let source = c["source"] as? [Int], let size = c["size"] as? [Int],
            let crc = c["crc32"] as? Int
        else { return nil }
        return Case(
            seed: seed, sourceHeight: source[0], sourceWidth: source[1], width: size[0], height: size[1],
            crc32: UInt32(crc), pixels: (c["pixels"] as? [Int])?.map { UInt8($0) })
    }

    @Test func thereAreAtLeastFortyShapes() {
        #expect(Self.cases.count >= 40)
    }

    @Test("bit-exact with cv2.resize INTER_LINEAR", arguments: cases)
    func matchesOpenCV(_ c: Case) {
        let source = TestPattern.image(seed: c.seed, height: c.sourceHeight, width: c.sourceWidth)
        var resizer = LinearResizer()
        var out = BGRImage()
        source.withPixels { resizer.resize($0, width: c.width, height: c.height, into: &out) }
        #expect(out.width == c.width && out.height == c.height)
        if let pixels = c.pixels { #expect(out.pixels == pixels) }
        #expect(out.pixels.crc32 == c.crc32)
    }

    @Test func padsInRowsAreIgnored() {
        // A view with padded rows gives the same result as the packed image.
        let packed = TestPattern.image(seed: 3, height: 9, width: 11)
        var padded = [UInt8](repeating: 0xEE, count: 9 * 40)
        for y in 0..<9 {
            for i in 0..<33 { padded[y * 40 + i] = packed.pixels[y * 33 + i] }
        }
        var resizer = LinearResizer()
        var a = BGRImage()
        var b = BGRImage()
        packed.withPixels { resizer.resize($0, width: 5, height: 4, into: &a) }
        padded.withUnsafeBufferPointer { buffer in
            let view = BGRPixels(base: buffer.baseAddress!, width: 11, height: 9, rowBytes: 40)
            resizer.resize(view, width: 5, height: 4, into: &b)
        }
        #expect(a == b)
    }
}
