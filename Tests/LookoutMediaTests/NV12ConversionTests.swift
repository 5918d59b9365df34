import LookoutMedia
import Testing

/// `BGRImage.convertNV12` against OpenCV's `cvtColor(…, COLOR_YUV2BGR_NV12)`: the expected bytes below were printed
/// by OpenCV 4 (opencv-python-headless) for this NV12 picture, 10 × 6, whose first luma and chroma values are the
/// range's corners (0, 16, 235, 255; U, V at 128 and at 0 / 255).
struct NV12ConversionTests {
    static let width = 10
    static let height = 6
    static let nv12: [UInt8] = [
        0, 16, 235, 255, 169, 65, 6, 160, 149, 106, 38, 175, 188, 205, 175, 229, 98, 249, 10, 148, 95, 86, 147, 198,
        66, 39, 106, 213, 171, 45, 167, 57, 69, 81, 55, 14, 153, 178, 215, 76, 52, 39, 250, 72, 215, 50, 161, 223, 112,
        172, 161, 233, 38, 17, 89, 1, 221, 6, 242, 127, 128, 128, 0, 255, 94, 25, 166, 33, 249, 189, 12, 204, 33, 57,
        124, 30, 199, 149, 202, 119, 72, 220, 3, 209, 122, 136, 147, 77, 133, 82,
    ]
    static let openCV: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 202, 255, 20, 225, 255, 109, 255, 14, 0, 154, 0, 77, 62, 0, 244, 230, 16, 255, 58, 252,
        255, 8, 202, 26, 26, 26, 185, 185, 185, 0, 147, 255, 0, 167, 255, 116, 255, 21, 179, 255, 84, 172, 158, 0, 255,
        255, 120, 244, 0, 97, 255, 57, 251, 0, 76, 213, 0, 65, 203, 0, 247, 39, 20, 255, 99, 50, 139, 0, 19, 108, 0,
        248, 60, 138, 255, 184, 255, 255, 159, 166, 183, 12, 19, 0, 159, 255, 0, 31, 169, 0, 157, 0, 0, 171, 0, 37, 127,
        0, 0, 81, 0, 255, 115, 193, 255, 144, 222, 255, 210, 217, 219, 48, 55, 0, 0, 189, 0, 0, 174, 20, 255, 255, 0,
        48, 194, 220, 227, 244, 27, 35, 52, 207, 203, 87, 255, 255, 160, 122, 147, 38, 192, 217, 108, 56, 116, 255,
        140, 200, 255, 0, 9, 155, 0, 0, 130, 73, 81, 98, 0, 0, 13, 255, 255, 157, 38, 34, 0, 255, 255, 190, 139, 165,
        56,
    ]

    @Test func matchesOpenCV() {
        var image = BGRImage()
        Self.nv12.withUnsafeBufferPointer { nv12 in
            let luma = nv12.baseAddress!
            image.convertNV12(
                luma: luma, lumaRowBytes: Self.width, chroma: luma + Self.width * Self.height,
                chromaRowBytes: Self.width, width: Self.width, height: Self.height)
        }
        #expect(image.width == Self.width && image.height == Self.height)
        #expect(image.pixels == Self.openCV)
    }

    /// Rows wider than the picture (a padded pitch) are read row by row; the padding is never read into pixels.
    @Test func paddedRows() {
        let pitch = 16
        var padded = [UInt8](repeating: 77, count: pitch * (Self.height + Self.height / 2))
        for row in 0..<(Self.height + Self.height / 2) {
            for x in 0..<Self.width { padded[row * pitch + x] = Self.nv12[row * Self.width + x] }
        }
        var image = BGRImage()
        padded.withUnsafeBufferPointer { nv12 in
            let luma = nv12.baseAddress!
            image.convertNV12(
                luma: luma, lumaRowBytes: pitch, chroma: luma + pitch * Self.height, chromaRowBytes: pitch,
                width: Self.width, height: Self.height)
        }
        #expect(image.pixels == Self.openCV)
    }
}
