import Foundation
import Testing

/// Paths of the test fixtures (Tests/Fixtures), found from this source file's location.
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Fixtures").path
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static let staticModel = path("shapes/shapes-yolov8n.onnx")
    static let dynamicModel = path("shapes/shapes-yolov8n-dynamic.onnx")
    static let fp16Model = path("shapes/shapes-yolov8n-fp16.onnx")

    static let generateHint =
        "run `bash scripts/test` once: it unpacks Tests/Fixtures/onnx-matrix.tar.xz and computes the onnxruntime references into Tests/Fixtures/generated/"

    /// A file under Tests/Fixtures/generated; the test fails (never skips) when it is missing.
    static func generated(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = root + "/generated/" + relative
        try #require(
            FileManager.default.fileExists(atPath: path), "missing \(path): \(generateHint)",
            sourceLocation: sourceLocation)
        return path
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A raw little-endian float32 or float16 file as floats.
    static func floats(_ path: String, dtype: String = "float32") throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in
            switch dtype {
            case "float16":
                return (0..<(raw.count / 2)).map {
                    Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))
                        ))
                }
            default:
                // Little-endian host: the bytes are the floats.
                return [Float](unsafeUninitializedCapacity: raw.count / 4) { out, n in
                    n = raw.count / 4
                    UnsafeMutableRawBufferPointer(out).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[0..<(n * 4)]))
                }
            }
        }
    }
}

/// The export matrix's manifest.json (docs/onnx-exports.md), read once.
enum Matrix {
    static let folder = Fixtures.root + "/generated/onnx"

    nonisolated(unsafe) static let manifest: [String: Any]? = {
        guard let data = FileManager.default.contents(atPath: folder + "/manifest.json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }()

    /// Argument of parameterized tests when the manifest is missing: the test fails on it instead of running
    /// zero cases.
    static let missing = "<manifest.json missing>"

    static var models: [[String: Any]] { manifest?["models"] as? [[String: Any]] ?? [] }
    static var modelNames: [String] { manifest == nil ? [missing] : models.compactMap { $0["name"] as? String } }

    static func model(_ name: String) throws -> [String: Any] {
        _ = try Fixtures.generated("onnx/manifest.json")
        return try #require(models.first { $0["name"] as? String == name }, "\(name) is not in the manifest")
    }
}

/// Largest absolute differences between an engine output and a reference `[batch][4 + classes][anchors]`.
struct OutputError: CustomStringConvertible {
    var box: Float = 0
    var score: Float = 0
    /// Worst differences among anchors whose best reference score exceeds 0.25 (those predict keeps).
    var boxKept: Float = 0
    var scoreKept: Float = 0

    init() {}

    init(_ output: [Float], _ reference: [Float], shape: [Int]) {
        precondition(output.count == reference.count && shape.count == 3)
        let (batch, rows, anchors) = (shape[0], shape[1], shape[2])
        // Pointers, not subscripts: half a million values per image in a debug build.
        output.withUnsafeBufferPointer { y in
            reference.withUnsafeBufferPointer { r in
                for b in 0..<batch {
                    for a in 0..<anchors {
                        var best: Float = 0
                        for row in 4..<rows { best = max(best, r[(b * rows + row) * anchors + a]) }
                        let kept = best > 0.25
                        for row in 0..<rows {
                            let i = (b * rows + row) * anchors + a
                            let d = abs(y[i] - r[i])
                            let diff = d.isNaN ? Float.infinity : d
                            if row < 4 {
                                box = max(box, diff)
                                if kept { boxKept = max(boxKept, diff) }
                            } else {
                                score = max(score, diff)
                                if kept { scoreKept = max(scoreKept, diff) }
                            }
                        }
                    }
                }
            }
        }
    }

    mutating func merge(_ other: OutputError) {
        box = max(box, other.box)
        score = max(score, other.score)
        boxKept = max(boxKept, other.boxKept)
        scoreKept = max(scoreKept, other.scoreKept)
    }

    var description: String {
        "box rows \(box) px, score rows \(score) (anchors scoring > 0.25: \(boxKept) px, \(scoreKept))"
    }
}
