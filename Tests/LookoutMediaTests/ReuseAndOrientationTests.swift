import Foundation
import Testing

@testable import LookoutMedia

/// Buffer reuse, caller-owned output memory, and the EXIF transforms against each other.
struct ReuseAndOrientationTests {
    @Test func decodingIntoOneImageKeepsItsStorage() throws {
        var decoder = ImageDecoder()
        var image = BGRImage()
        let names = Fixtures.media.val.keys.sorted().prefix(6)
        // Grow once to the largest, then every decode must reuse that allocation.
        var largest = 0
        for name in names {
            largest = max(largest, try decoder.info(file: Fixtures.valImage(name)).byteCount)
        }
        image.reshape(width: largest / 3, height: 1)
        let address = image.withUnsafeBytes { $0.baseAddress }
        for name in names {
            try decoder.decode(file: Fixtures.valImage(name), into: &image)
            #expect(image.withUnsafeBytes { $0.baseAddress } == address)
        }
    }

    @Test func decodingIntoCallerMemoryMatchesDecodingIntoAnImage() throws {
        var decoder = ImageDecoder()
        let path = Fixtures.image("exif_orientation_6_le.jpg")
        let image = try ImageDecoder.decode(file: path)
        var raw = [UInt8](repeating: 0, count: image.byteCount + 100)
        let info = try raw.withUnsafeMutableBytes { try decoder.decode(file: path, into: $0) }
        #expect(info.width == image.width && info.height == image.height && info.orientation == .rightTop)
        #expect(Array(raw.prefix(info.byteCount)) == image.pixels)
    }

    @Test("every orientation is the upright image turned as TIFF says", arguments: ExifOrientation.allCases)
    func orientation(_ orientation: ExifOrientation) throws {
        let upright = try ImageDecoder.decode(file: Fixtures.image("exif_orientation_1_le.jpg"))
        let turned = try ImageDecoder.decode(file: Fixtures.image("exif_orientation_\(orientation.rawValue)_be.jpg"))
        let w = upright.width
        let h = upright.height
        #expect(turned.width == (orientation.swapsAxes ? h : w))
        for y in 0..<turned.height {
            for x in 0..<turned.width {
                // The stored pixel that TIFF orientation puts at display position (x, y).
                let (sx, sy): (Int, Int) =
                    switch orientation {
                    case .topLeft: (x, y)
                    case .topRight: (w - 1 - x, y)
                    case .bottomRight: (w - 1 - x, h - 1 - y)
                    case .bottomLeft: (x, h - 1 - y)
                    case .leftTop: (y, x)
                    case .rightTop: (y, h - 1 - x)
                    case .rightBottom: (w - 1 - y, h - 1 - x)
                    case .leftBottom: (w - 1 - y, x)
                    }
                if turned[x, y] != upright[sx, sy] {
                    Issue.record("pixel (\(x), \(y)) differs")
                    return
                }
            }
        }
    }

    @Test func exifParserIgnoresShortAndForeignData() {
        let cases: [[UInt8]] = [
            [], [0x49, 0x49], Array("NOTATIFF".utf8), [0x4D, 0x4D, 0, 42, 0xFF, 0xFF, 0xFF, 0xFF],
        ]
        for bytes in cases {
            #expect(bytes.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } == .topLeft)
        }
    }
}
