import Testing

@testable import LookoutMedia

/// Decoded bytes must equal `cv2.imread(path, IMREAD_COLOR)` (CRC-32 of the BGR bytes, committed by
/// scripts/fixtures/make_media_vectors.py with OpenCV 5.0).
struct DecodeMatchesOpenCVTests {
    static let valNames = Fixtures.media.val.keys.sorted()
    /// Every fixture OpenCV decodes, except the truncated JPEGs: OpenCV pads those with gray and warns, Lookout
    /// reports them as errors on purpose (ErrorTests).
    static let fixtureNames = Fixtures.media.images.filter { $0.value != nil && !$0.key.hasPrefix("truncated") }
        .keys.sorted()

    @Test func vectorsArePresent() {
        #expect(Self.valNames.count == 120)
        #expect(Self.fixtureNames.count >= 50)
    }

    @Test("val images decode to OpenCV's bytes", arguments: valNames)
    func valImage(name: String) throws {
        let expected = try #require(Fixtures.media.val[name] ?? nil)
        let image = try ImageDecoder.decode(file: Fixtures.valImage(name))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.withUnsafeBytes { Checksum.crc32($0) } == expected.crc32)
    }

    @Test(
        "fixture images (EXIF orientations, sampling, progressive, gray, CMYK, PNG variants) decode like OpenCV",
        arguments: fixtureNames)
    func fixtureImage(name: String) throws {
        let expected = try #require(Fixtures.media.images[name] ?? nil)
        var decoder = ImageDecoder()
        var image = BGRImage()
        try decoder.decode(file: Fixtures.image(name), into: &image)
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.withUnsafeBytes { Checksum.crc32($0) } == expected.crc32)
    }
}
