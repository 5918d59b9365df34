import LookoutYOLO

/// ByteTrack as Ultralytics 8.4 runs it (`ultralytics/trackers/byte_tracker.py` with `bytetrack.yaml`), step for step:
///
/// 1. Detections split by score: high (≥ `highThreshold`) and low (> `lowThreshold`, < `highThreshold`); boxes
///    without area are dropped.
/// 2. Confirmed tracks and lost tracks are predicted one step (lost ones with their height velocity zeroed).
/// 3. First association: those tracks against the high detections, cost 1 − IoU (× score with `fuseScore`), optimal
///    assignment limited at `matchThreshold`. Matched tracked tracks update; matched lost tracks are re-found.
/// 4. Second association: the tracks still unmatched and in the tracked state against the low detections, plain IoU
///    cost limited at 0.5; the tracked tracks left over become lost.
/// 5. Unconfirmed tracks (started last frame) against the high detections left, limit 0.7: matched ones are confirmed,
///    the others removed.
/// 6. High detections left at or above `newTrackThreshold` start tracks (confirmed at once on the first frame only).
/// 7. Lost tracks older than the buffer are removed; the lists are merged and de-duplicated (a tracked and a lost
///    track overlapping at IoU > 0.85: the younger goes), exactly as `merge_track_pools` does, quirks included (a
///    track removed this frame stays in the lost list, and so can be re-found, for one more frame).
///
/// Not thread-safe: one tracker per stream, fed in frame order.
public final class ByteTracker {
    public let options: ByteTrackOptions
    /// Frames seen (1-based after the first `update`).
    public private(set) var frameID = 0
    private var tracked: [Track] = []
    private var lost: [Track] = []
    /// Ids of the last 1000 removals (Ultralytics keeps that many removed tracks, and subtracts them by id).
    private var removedHistory: [Int] = []
    private var nextID = 1

    public init(options: ByteTrackOptions = ByteTrackOptions()) {
        self.options = options
    }

    /// Forgets every track and restarts ids at 1.
    public func reset() {
        tracked = []
        lost = []
        removedHistory = []
        frameID = 0
        nextID = 1
    }

    /// Tracks in the tracked state, confirmed or not (for tests and drawing).
    public var activeTrackCount: Int { tracked.count }

    /// Feeds one frame's detections; returns the confirmed tracks in the tracked state, in the tracker's list order.
    public func update(_ detections: [Detection]) -> [TrackedObject] {
        frameID += 1
        var activated: [Track] = []
        var refound: [Track] = []
        var newlyLost: [Track] = []
        var removed: [Track] = []

        var high: [Candidate] = []
        var low: [Candidate] = []
        for (i, d) in detections.enumerated() {
            let candidate = Candidate(d, index: i)
            // Ultralytics tests the width and height of the centre form (xywh), not the corners.
            guard candidate.tlwh.2 > 0, candidate.tlwh.3 > 0 else { continue }
            if d.confidence >= options.highThreshold {
                high.append(candidate)
            } else if d.confidence > options.lowThreshold {
                low.append(candidate)
            }
        }

        let unconfirmed = tracked.filter { !$0.isActivated }
        let confirmed = tracked.filter { $0.isActivated }
        let pool = Self.joint(confirmed, lost)
        for track in pool {
            if track.state != .tracked { track.filter.stopHeightVelocity() }
            track.filter.predict()
        }

        // First association: the pool against the high detections.
        var first = LinearAssignment.solve(
            cost: costs(pool.map(\.xyxy), high, fuse: options.fuseScore), rows: pool.count, columns: high.count,
            limit: options.matchThreshold)
        if pool.isEmpty || high.isEmpty { first = Self.unmatched(pool.count, high.count) }
        for (t, d) in first.matches {
            apply(pool[t], high[d], activated: &activated, refound: &refound)
        }

        // Second association: tracked (not lost) leftovers against the low detections, IoU only.
        let remaining = first.unmatchedRows.map { pool[$0] }.filter { $0.state == .tracked }
        var stillUnmatched = Array(0..<remaining.count)
        if !remaining.isEmpty && !low.isEmpty {
            let second = LinearAssignment.solve(
                cost: costs(remaining.map(\.xyxy), low, fuse: false), rows: remaining.count, columns: low.count,
                limit: 0.5)
            for (t, d) in second.matches {
                apply(remaining[t], low[d], activated: &activated, refound: &refound)
            }
            stillUnmatched = second.unmatchedRows
        }
        for t in stillUnmatched {
            remaining[t].state = .lost
            newlyLost.append(remaining[t])
        }

        // Unconfirmed tracks against the high detections nobody took.
        let leftover = first.unmatchedColumns.map { high[$0] }
        var newCandidates = Array(0..<leftover.count)
        if !unconfirmed.isEmpty {
            let third = LinearAssignment.solve(
                cost: costs(unconfirmed.map(\.xyxy), leftover, fuse: options.fuseScore), rows: unconfirmed.count,
                columns: leftover.count, limit: 0.7)
            let result = leftover.isEmpty ? Self.unmatched(unconfirmed.count, 0) : third
            for (t, d) in result.matches {
                unconfirmed[t].update(with: leftover[d], frame: frameID)
                activated.append(unconfirmed[t])
            }
            for t in result.unmatchedRows {
                unconfirmed[t].state = .removed
                removed.append(unconfirmed[t])
            }
            newCandidates = result.unmatchedColumns
        }

        // New tracks.
        for d in newCandidates where leftover[d].score >= options.newTrackThreshold {
            let track = Track(leftover[d])
            track.id = nextID
            nextID += 1
            track.state = .tracked
            track.isActivated = frameID == 1
            track.frameID = frameID
            track.startFrame = frameID
            activated.append(track)
        }

        // Lost tracks past the buffer (the list as it was before this frame).
        for track in lost where frameID - track.frameID > options.maxFramesLost {
            track.state = .removed
            removed.append(track)
        }

        merge(activated: activated, refound: refound, lost: newlyLost, removed: removed)
        return tracked.filter(\.isActivated).map { track in
            let box = track.xyxy
            return TrackedObject(
                id: track.id, x1: box.0, y1: box.1, x2: box.2, y2: box.3, confidence: track.score,
                classIndex: track.classIndex, detectionIndex: track.detectionIndex)
        }
    }

    private func apply(_ track: Track, _ candidate: Candidate, activated: inout [Track], refound: inout [Track]) {
        if track.state == .tracked {
            track.update(with: candidate, frame: frameID)
            activated.append(track)
        } else {
            track.reactivate(with: candidate, frame: frameID)
            refound.append(track)
        }
    }

    /// `merge_track_pools`: the end-of-frame bookkeeping.
    private func merge(activated: [Track], refound: [Track], lost newlyLost: [Track], removed: [Track]) {
        tracked = tracked.filter { $0.state == .tracked }
        tracked = Self.joint(tracked, activated)
        tracked = Self.joint(tracked, refound)
        lost = Self.subtract(lost, ids: Set(tracked.map(\.id)))
        lost.append(contentsOf: newlyLost)
        lost = Self.subtract(lost, ids: Set(removedHistory))
        (tracked, lost) = Self.removeDuplicates(tracked, lost)
        removedHistory.append(contentsOf: removed.map(\.id))
        if removedHistory.count > 1000 { removedHistory.removeFirst(removedHistory.count - 1000) }
    }

    static func joint(_ a: [Track], _ b: [Track]) -> [Track] {
        let ids = Set(a.map(\.id))
        return a + b.filter { !ids.contains($0.id) }
    }

    static func subtract(_ a: [Track], ids: Set<Int>) -> [Track] {
        a.filter { !ids.contains($0.id) }
    }

    /// Pairs closer than IoU distance 0.15: the one tracked for fewer frames goes (ties: the one from `a`).
    static func removeDuplicates(_ a: [Track], _ b: [Track]) -> ([Track], [Track]) {
        guard !a.isEmpty, !b.isEmpty else { return (a, b) }
        var dropA = Set<Int>()
        var dropB = Set<Int>()
        let boxesB = b.map(\.xyxy)
        for (p, track) in a.enumerated() {
            let box = track.xyxy
            for (q, other) in boxesB.enumerated() where 1 - BoxIoU.iou(box, other) < 0.15 {
                if track.frameID - track.startFrame > b[q].frameID - b[q].startFrame {
                    dropB.insert(q)
                } else {
                    dropA.insert(p)
                }
            }
        }
        return (
            a.enumerated().filter { !dropA.contains($0.offset) }.map(\.element),
            b.enumerated().filter { !dropB.contains($0.offset) }.map(\.element)
        )
    }

    /// Row-major costs of tracks against candidates: 1 − IoU, or 1 − IoU × score, in float32 as NumPy computes them.
    private func costs(_ boxes: [(Float, Float, Float, Float)], _ candidates: [Candidate], fuse: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: boxes.count * candidates.count)
        for (r, box) in boxes.enumerated() {
            for (c, candidate) in candidates.enumerated() {
                var cost: Float = 1 - BoxIoU.iou(box, candidate.xyxy)
                if fuse { cost = 1 - (1 - cost) * candidate.score }
                out[r * candidates.count + c] = cost
            }
        }
        return out
    }

    private static func unmatched(_ rows: Int, _ columns: Int) -> LinearAssignment.Result {
        LinearAssignment.Result(matches: [], unmatchedRows: Array(0..<rows), unmatchedColumns: Array(0..<columns))
    }
}
