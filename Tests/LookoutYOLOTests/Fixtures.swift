import Foundation
import LookoutMedia

/// The committed vectors (found from this file, so tests run from any working directory).
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Fixtures").path
    }()

    /// A JSON file under Tests/Fixtures/vectors, parsed with JSONSerialization.
    static func json(_ name: String) -> Any? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: root + "/vectors/" + name)) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }

    /// The cases array of a `{"cases": [...]}` vector file.
    static func cases(_ name: String) -> [[String: Any]] {
        (json(name) as? [String: Any])?["cases"] as? [[String: Any]] ?? []
    }
}

/// The same deterministic inputs as scripts/fixtures/pattern.py: SplitMix64 of `seed << 40 | index`.
enum TestPattern {
    static func splitmix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func bytes(seed: Int, count: Int) -> [UInt8] {
        let base = UInt64(seed) << 40
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = UInt8(truncatingIfNeeded: splitmix64(base | UInt64(i)) >> 56) }
            initialized = count
        }
    }

    static func image(seed: Int, height: Int, width: Int) -> BGRImage {
        BGRImage(width: width, height: height, pixels: bytes(seed: seed, count: width * height * 3))!
    }

    /// float32 in [0, 1): the top 24 bits over 2^24.
    static func unit(seed: Int, count: Int) -> [Float] {
        let base = UInt64(seed) << 40
        return (0..<count).map { Float(splitmix64(base | UInt64($0)) >> 40) / Float(1 << 24) }
    }
}

extension Array where Element == UInt8 {
    var crc32: UInt32 { withUnsafeBytes { Checksum.crc32($0) } }
}
