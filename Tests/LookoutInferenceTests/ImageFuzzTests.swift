import Foundation
import LookoutMedia
import Testing

/// Issue 2 §8 for images: seeded truncations and byte flips of JPEG (and PNG) files through `ImageDecoder` never
/// crash or hang; every failure is one `MediaError` line naming the source.
@Suite struct ImageFuzzTests {
    struct Target: Sendable, CustomTestStringConvertible {
        var file: String
        var iterations: Int
        var seed: UInt64
        var testDescription: String { "\((file as NSString).lastPathComponent) ×\(iterations)" }
    }

    static let targets: [Target] = [
        Target(file: Fixtures.path("images/jpeg_sampling_420.jpg"), iterations: 3500, seed: 1),
        Target(file: Fixtures.path("images/exif_orientation_6_le.jpg"), iterations: 2500, seed: 2),
        Target(file: Fixtures.path("images/jpeg_progressive.jpg"), iterations: 2500, seed: 3),
        Target(file: Fixtures.path("images/jpeg_sampling_411.jpg"), iterations: 1200, seed: 4),
        Target(file: Fixtures.path("shapes/val/images/val_00007.jpg"), iterations: 1000, seed: 5),
        Target(file: Fixtures.path("images/png_rgb8.png"), iterations: 800, seed: 6),
        Target(file: Fixtures.path("images/png_exif_6_before_idat.png"), iterations: 800, seed: 7),
    ]

    struct Outcome: Sendable {
        var decoded = 0
        var failures: [String: Int] = [:]
        var problems: [String] = []
        var slowest = 0.0
    }

    static func fuzz(_ target: Target) throws -> Outcome {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target.file)))
        var state = target.seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        var decoder = ImageDecoder()
        var image = BGRImage()
        var outcome = Outcome()
        let name = "fuzz/" + (target.file as NSString).lastPathComponent
        // Headers and markers sit in the first bytes: half the flips land there.
        let headerSpan = min(original.count, 700)
        for i in 0..<target.iterations {
            var bytes = original
            if i % 3 == 0 {
                bytes.removeSubrange((next() % original.count)..<original.count)
            } else {
                for _ in 0...(next() % 3) {
                    let offset = next() % 2 == 0 ? next() % headerSpan : next() % original.count
                    bytes[offset] ^= UInt8(1 + next() % 255)
                }
            }
            let start = Date()
            do throws(MediaError) {
                let result: Result<Void, MediaError> = bytes.withUnsafeBytes { raw in
                    Result { () throws(MediaError) in try decoder.decode(raw, name: name, into: &image) }
                }
                try result.get()
                outcome.decoded += 1
                if image.byteCount != image.width * image.height * 3 {
                    outcome.problems.append("inconsistent image \(image.width)x\(image.height)")
                }
            } catch {
                outcome.failures[error.code.description, default: 0] += 1
                let text = error.description
                if text.contains("\n") || !text.hasPrefix(name + ": ") {
                    outcome.problems.append("not one line naming the source: \(text.prefix(200))")
                }
            }
            outcome.slowest = max(outcome.slowest, Date().timeIntervalSince(start))
        }
        return outcome
    }

    @Test(arguments: targets)
    func corruptImagesFailWithOneLine(target: Target) throws {
        let start = Date()
        let outcome = try Self.fuzz(target)
        let failures = outcome.failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
            separator: ", ")
        print(
            String(
                format: "fuzz %@: %.1f s (slowest %.3f s): %d decoded, rejected: %@", target.testDescription,
                Date().timeIntervalSince(start), outcome.slowest, outcome.decoded, failures))
        #expect(outcome.problems.isEmpty, "\(outcome.problems.prefix(5))")
        #expect(outcome.slowest < 5)
        #expect(outcome.failures.values.reduce(0, +) > target.iterations / 10)
    }

    @Test func atLeastTenThousandJPEGMutations() {
        #expect(Self.targets.filter { $0.file.hasSuffix(".jpg") }.reduce(0) { $0 + $1.iterations } >= 10_000)
    }
}

/// Headers that claim absurd sizes: refused before any pixel memory is allocated.
@Suite struct ImageHeaderLimitTests {
    /// A PNG whose IHDR says `width`×`height` (CRC and data are not checked before the size is).
    static func png(width: UInt32, height: UInt32) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("images/png_rgb8.png"))))
        for (k, value) in [width, height].enumerated() {
            for i in 0..<4 { bytes[16 + 4 * k + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
        }
        return bytes
    }

    @Test(arguments: [
        (UInt32(1 << 31), UInt32(8)), (0xFFFF_FFFF, 0xFFFF_FFFF), (100_000, 100_000), (1 << 21, 1), (0, 5),
    ])
    func absurdPNGSizesAreRefused(size: (UInt32, UInt32)) throws {
        let bytes = try Self.png(width: size.0, height: size.1)
        var decoder = ImageDecoder()
        var image = BGRImage()
        let result: Result<Void, MediaError> = bytes.withUnsafeBytes { raw in
            Result { () throws(MediaError) in try decoder.decode(raw, name: "huge.png", into: &image) }
        }
        let error = try #require(throws: MediaError.self) { try result.get() }
        #expect(error.description.hasPrefix("huge.png: ") && !error.description.contains("\n"), "\(error)")
    }
}
