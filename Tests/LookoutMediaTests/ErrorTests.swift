import Foundation
import Testing

@testable import LookoutMedia

/// Broken, empty, foreign and missing files fail with a typed error whose one-line text names the file.
struct ErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var code: MediaError.Code
        var message: String
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "truncated.jpg", code: .truncated, message: "truncated JPEG (premature end of data)"),
        Case(file: "truncated_progressive.jpg", code: .truncated, message: "truncated JPEG (premature end of data)"),
        Case(file: "truncated_header.jpg", code: .truncated, message: "truncated JPEG (premature end of data)"),
        Case(file: "truncated.png", code: .truncated, message: "truncated PNG (premature end of data)"),
        Case(file: "missing_iend.png", code: .truncated, message: "truncated PNG (premature end of data)"),
        Case(file: "notes.txt", code: .unknownFormat, message: "not an image (unknown format; JPEG and PNG are read)"),
        Case(file: "empty.jpg", code: .empty, message: "empty file (0 bytes); expected a JPEG or PNG image"),
    ]

    @Test("broken files fail with one line naming the file", arguments: cases)
    func brokenFile(_ c: Case) {
        let path = Fixtures.image(c.file)
        #expect {
            _ = try ImageDecoder.decode(file: path)
        } throws: { error in
            guard let error = error as? MediaError else { return false }
            return error.code == c.code && error.file == path && error.message == c.message
                && error.description == "\(path): \(c.message)" && !error.description.contains("\n")
        }
    }

    @Test(
        "corrupt data carries the library's own text",
        arguments: [
            ("corrupt.jpg", "corrupt JPEG (Invalid JPEG file structure: missing SOS marker)"),
            ("corrupt_idat.png", "corrupt PNG (IDAT: invalid code lengths set)"),
        ])
    func corruptData(file: String, message: String) throws {
        let path = Fixtures.image(file)
        let error = try #require(throws: MediaError.self) { try ImageDecoder.decode(file: path) }
        #expect(error.code == .corrupt)
        #expect(error.description == "\(path): \(message)")
    }

    @Test func missingFileSaysToCheckThePath() throws {
        let error = try #require(throws: MediaError.self) { try ImageDecoder.decode(file: "no/such/photo.jpg") }
        #expect(error.code == .unreadable)
        #expect(error.description == "no/such/photo.jpg: cannot read file (No such file or directory); check the path")
    }

    @Test func directoryIsNotAnImage() throws {
        let error = try #require(throws: MediaError.self) { try ImageDecoder.decode(file: Fixtures.root) }
        #expect(error.code == .unreadable)
        #expect(error.message == "is a directory, not an image file")
    }

    @Test func formatComesFromContentNotExtension() throws {
        var decoder = ImageDecoder()
        let info = try decoder.info(file: Fixtures.image("png_named.jpg"))
        #expect(info.format == .png)
    }

    @Test func bytesWithoutANameUseMemory() throws {
        var decoder = ImageDecoder()
        var image = BGRImage()
        let bytes: [UInt8] = Array("GIF89a".utf8)
        let error = try #require(throws: MediaError.self) {
            try bytes.withUnsafeBytes { try decoder.decode($0, into: &image) }
        }
        #expect(error.description == "<memory>: not an image (unknown format; JPEG and PNG are read)")
    }

    @Test func tooSmallCallerBufferIsACapacityError() throws {
        var decoder = ImageDecoder()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.image("png_rgb8.png"))))
        var small = [UInt8](repeating: 0, count: 10)
        let error = try #require(throws: MediaError.self) {
            try bytes.withUnsafeBytes { raw in
                try small.withUnsafeMutableBytes { out in _ = try decoder.decode(raw, name: "x.png", into: out) }
            }
        }
        #expect(error.code == .capacity)
        #expect(error.file == "x.png")
    }
}

/// Damaged data of every kind must come back as an image or a `MediaError`, never a crash.
struct DamageTests {
    @Test(arguments: ["jpeg_sampling_420.jpg", "jpeg_progressive.jpg", "png_rgb8_interlaced.png", "png_palette4.png"])
    func truncationsAndFlippedBytesNeverCrash(file: String) throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.image(file))))
        var decoder = ImageDecoder()
        var image = BGRImage()
        var failures = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                try bytes.withUnsafeBytes { try decoder.decode($0, name: file, into: &image) }
            } catch {
                failures += 1
                #expect(error is MediaError && !"\(error)".contains("\n"))
            }
        }
        for cut in stride(from: 0, to: original.count, by: 5) { attempt(Array(original[..<cut])) }
        var state: UInt64 = 0x1234_5678
        for _ in 0..<300 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var damaged = original
            let at = Int(state >> 33) % damaged.count
            damaged[at] ^= UInt8(truncatingIfNeeded: state >> 20) | 1
            attempt(damaged)
        }
        #expect(failures > 0)
    }
}
