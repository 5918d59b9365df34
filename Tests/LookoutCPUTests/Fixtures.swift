import Foundation
@_exported import LookoutTestFixtures
import Testing

extension Fixtures {
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
