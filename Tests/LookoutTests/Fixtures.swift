@_exported import LookoutTestFixtures
import Foundation
import Testing

/// The LookoutTests helpers over the shared fixtures.
extension Fixtures {
    /// The 120 validation images, sorted.
    static func valImageNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: valImages).filter { $0.hasSuffix(".jpg") }.sorted()
    }

    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory(_ label: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
