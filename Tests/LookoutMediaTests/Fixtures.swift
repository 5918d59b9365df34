import Foundation

/// Paths of the committed fixtures (found from this file, so tests run from any working directory).
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()  // LookoutMediaTests
        url.deleteLastPathComponent()  // Tests
        return url.appendingPathComponent("Fixtures").path
    }()

    static func image(_ name: String) -> String { root + "/images/" + name }
    static func video(_ name: String) -> String { root + "/video/" + name }
    /// ../shared beside the repository: large fixtures that stay out of it (absent on a fresh clone).
    static let shared: String = {
        var url = URL(fileURLWithPath: root)
        url.deleteLastPathComponent()  // Tests
        url.deleteLastPathComponent()  // the repository
        return url.deletingLastPathComponent().appendingPathComponent("shared").path
    }()
    static func valImage(_ name: String) -> String { root + "/shapes/val/images/" + name }

    /// One decoded image as OpenCV returned it: size and CRC-32 of the BGR bytes.
    struct Expected: Sendable {
        var width: Int
        var height: Int
        var crc32: UInt32
    }

    /// `vectors/media_expected.json` (written by scripts/fixtures/make_media_vectors.py).
    static let media: (images: [String: Expected?], val: [String: Expected?]) = {
        let url = URL(fileURLWithPath: root + "/vectors/media_expected.json")
        guard let data = try? Data(contentsOf: url),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return ([:], [:]) }
        func table(_ key: String) -> [String: Expected?] {
            var out: [String: Expected?] = [:]
            for (name, value) in json[key] as? [String: Any] ?? [:] {
                if let v = value as? [String: Any], let w = v["width"] as? Int, let h = v["height"] as? Int,
                    let c = v["crc32"] as? Int
                {
                    out[name] = Expected(width: w, height: h, crc32: UInt32(c))
                } else {
                    out[name] = .some(nil)
                }
            }
            return out
        }
        return (table("images"), table("val"))
    }()
}
