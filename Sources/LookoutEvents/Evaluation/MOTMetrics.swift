/// One object of one frame for the tracking metrics: an identity and a box (ground truth or a tracker's output).
public struct GroundTruthObject: Sendable, Hashable {
    public var id: Int
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    public var classIndex: Int

    public init(id: Int, x1: Float, y1: Float, x2: Float, y2: Float, classIndex: Int) {
        self.id = id
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.classIndex = classIndex
    }

    var box: (Float, Float, Float, Float) { (x1, y1, x2, y2) }
}

/// The standard multi-object tracking scores of a tracker's output against ground truth, with a match meaning
/// IoU ≥ `threshold` (0.5):
///
/// * CLEAR MOT (Bernardin & Stiefelhagen 2008): per frame, a ground-truth object keeps its previous hypothesis when
///   that one is still present and overlaps enough; the rest are matched by optimal assignment on 1 − IoU. Misses
///   (FN), false positives (FP) and identity switches (a ground-truth object matched to a different hypothesis than
///   the last time it was matched) give MOTA = 1 − (FN + FP + IDSW) / GT; MOTP is the mean IoU of the matches.
/// * Identity scores (Ristani et al. 2016): one global one-to-one mapping between ground-truth and hypothesis
///   identities maximising the frames where the mapped pair overlaps (IDTP); IDF1 = 2 IDTP / (GT + hypotheses).
public struct MOTMetrics: Sendable, Equatable {
    public var frames = 0
    public var groundTruth = 0
    public var hypotheses = 0
    public var matches = 0
    public var misses = 0
    public var falsePositives = 0
    public var identitySwitches = 0
    public var identityTruePositives = 0
    public var iouSum = 0.0

    public var mota: Double {
        groundTruth > 0 ? 1 - Double(misses + falsePositives + identitySwitches) / Double(groundTruth) : 0
    }
    public var motp: Double { matches > 0 ? iouSum / Double(matches) : 0 }
    public var idf1: Double {
        groundTruth + hypotheses > 0 ? 2 * Double(identityTruePositives) / Double(groundTruth + hypotheses) : 0
    }
    public var idPrecision: Double { hypotheses > 0 ? Double(identityTruePositives) / Double(hypotheses) : 0 }
    public var idRecall: Double { groundTruth > 0 ? Double(identityTruePositives) / Double(groundTruth) : 0 }

    /// Scores `hypotheses` (per frame) against `groundTruth` (per frame, the same frames).
    public static func evaluate(
        groundTruth: [[GroundTruthObject]], hypotheses: [[GroundTruthObject]], threshold: Float = 0.5
    ) -> MOTMetrics {
        var m = MOTMetrics()
        // A hair above the threshold's distance so that IoU exactly at the threshold counts as a match.
        let limit = Double(1 - threshold) + 1e-6
        var lastMatch: [Int: Int] = [:]  // ground-truth id → hypothesis id it was last matched to
        var pairFrames: [Pair: Int] = [:]
        for (truth, output) in zip(groundTruth, hypotheses) {
            m.frames += 1
            m.groundTruth += truth.count
            m.hypotheses += output.count
            // IDF1's overlap counts: every pair that overlaps enough in this frame.
            for t in truth {
                for h in output where BoxIoU.iou(t.box, h.box) >= threshold {
                    pairFrames[Pair(truth: t.id, hypothesis: h.id), default: 0] += 1
                }
            }
            // CLEAR MOT: keep last frame's correspondences that still hold.
            var truthTaken = [Bool](repeating: false, count: truth.count)
            var outputTaken = [Bool](repeating: false, count: output.count)
            var matched: [(Int, Int, Float)] = []
            for (i, t) in truth.enumerated() {
                guard let previous = lastMatch[t.id],
                    let j = output.indices.first(where: { output[$0].id == previous && !outputTaken[$0] })
                else { continue }
                let iou = BoxIoU.iou(t.box, output[j].box)
                if iou >= threshold {
                    truthTaken[i] = true
                    outputTaken[j] = true
                    matched.append((i, j, iou))
                }
            }
            let freeTruth = truth.indices.filter { !truthTaken[$0] }
            let freeOutput = output.indices.filter { !outputTaken[$0] }
            var costs = [Float](repeating: 1, count: freeTruth.count * freeOutput.count)
            for (r, i) in freeTruth.enumerated() {
                for (c, j) in freeOutput.enumerated() {
                    costs[r * freeOutput.count + c] = 1 - BoxIoU.iou(truth[i].box, output[j].box)
                }
            }
            let assignment = LinearAssignment.solve(
                cost: costs, rows: freeTruth.count, columns: freeOutput.count, limit: limit)
            for (r, c) in assignment.matches {
                let i = freeTruth[r]
                let j = freeOutput[c]
                let iou = BoxIoU.iou(truth[i].box, output[j].box)
                if let previous = lastMatch[truth[i].id], previous != output[j].id { m.identitySwitches += 1 }
                matched.append((i, j, iou))
            }
            for (i, j, iou) in matched {
                lastMatch[truth[i].id] = output[j].id
                m.iouSum += Double(iou)
            }
            m.matches += matched.count
            m.misses += truth.count - matched.count
            m.falsePositives += output.count - matched.count
        }
        // IDF1: the identity mapping with the most overlapping frames.
        let truthIDs = Array(Set(pairFrames.keys.map(\.truth))).sorted()
        let outputIDs = Array(Set(pairFrames.keys.map(\.hypothesis))).sorted()
        var weights = [Float](repeating: 0, count: truthIDs.count * outputIDs.count)
        for (pair, count) in pairFrames {
            let r = truthIDs.firstIndex(of: pair.truth)!
            let c = outputIDs.firstIndex(of: pair.hypothesis)!
            weights[r * outputIDs.count + c] = -Float(count)
        }
        let mapping = LinearAssignment.solve(cost: weights, rows: truthIDs.count, columns: outputIDs.count, limit: 0)
        m.identityTruePositives = mapping.matches.reduce(0) { $0 + Int(-weights[$1.0 * outputIDs.count + $1.1]) }
        return m
    }

    private struct Pair: Hashable {
        var truth: Int
        var hypothesis: Int
    }
}
