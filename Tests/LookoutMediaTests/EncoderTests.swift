import Foundation
import Testing

@testable import LookoutMedia

/// JPEG and PNG output for `--save`.
struct EncoderTests {
    static func sample() throws -> BGRImage {
        try ImageDecoder.decode(file: Fixtures.image("jpeg_sampling_444.jpg"))
    }

    @Test func pngRoundTripIsExact() throws {
        let image = try Self.sample()
        let bytes = try ImageEncoder.encode(image, as: .png)
        var decoder = ImageDecoder()
        var back = BGRImage()
        try bytes.withUnsafeBytes { try decoder.decode($0, into: &back) }
        #expect(back == image)
    }

    @Test func jpegRoundTripIsClose() throws {
        // A smooth picture: JPEG keeps it within a few levels (noise would not be).
        var image = BGRImage(width: 64, height: 48)
        for y in 0..<48 {
            for x in 0..<64 { image[x, y] = (UInt8(x * 4), UInt8(y * 5), UInt8((x + y) * 2)) }
        }
        let bytes = try ImageEncoder.encode(image, as: .jpeg, quality: 95)
        #expect(bytes.starts(with: [0xFF, 0xD8, 0xFF]))
        var decoder = ImageDecoder()
        var back = BGRImage()
        try bytes.withUnsafeBytes { try decoder.decode($0, into: &back) }
        #expect(back.width == image.width && back.height == image.height)
        let error = zip(back.pixels, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        #expect(Double(error) / Double(image.byteCount) < 3)
    }

    @Test func writeChoosesTheFormatFromTheExtension() throws {
        let image = try Self.sample()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-encoder-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, format) in [("a.png", ImageFormat.png), ("b.JPG", .jpeg), ("c.jpeg", .jpeg)] {
            let path = dir.appendingPathComponent(name).path
            try ImageEncoder.write(image, to: path)
            var decoder = ImageDecoder()
            #expect(try decoder.info(file: path).format == format)
        }
        let error = try #require(throws: MediaError.self) {
            try ImageEncoder.write(image, to: dir.appendingPathComponent("d.bmp").path)
        }
        #expect(error.message == "cannot choose an output format; name the file .jpg, .jpeg or .png")
        let unwritable = try #require(throws: MediaError.self) {
            try ImageEncoder.write(image, to: dir.appendingPathComponent("missing/e.png").path)
        }
        #expect(unwritable.code == .writeFailed)
    }
}
