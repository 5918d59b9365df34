import LookoutYOLO

extension ByteTracker {
    enum State { case new, tracked, lost, removed }

    /// A detection as ByteTrack sees it: its box as (left, top, width, height) in float32, computed the way Ultralytics
    /// derives it from the corners (through the centre form), its score, class and index in the frame.
    struct Candidate {
        var tlwh: (Float, Float, Float, Float)
        var score: Float
        var classIndex: Int
        var index: Int

        init(_ d: Detection, index: Int) {
            // xyxy → xywh (centre) → ltwh, each step in float32 as torch and NumPy do it.
            let cx = (d.x1 + d.x2) / 2
            let cy = (d.y1 + d.y2) / 2
            let w = d.x2 - d.x1
            let h = d.y2 - d.y1
            tlwh = (cx - w / 2, cy - h / 2, w, h)
            score = d.confidence
            classIndex = d.classIndex
            self.index = index
        }

        /// (x, y, a, h) in float32, as `tlwh_to_xyah` computes it on the float32 box.
        var xyah: (Double, Double, Double, Double) {
            let x = tlwh.0 + tlwh.2 / 2
            let y = tlwh.1 + tlwh.3 / 2
            let a = tlwh.2 / tlwh.3
            return (Double(x), Double(y), Double(a), Double(tlwh.3))
        }

        var xyxy: (Float, Float, Float, Float) { (tlwh.0, tlwh.1, tlwh.0 + tlwh.2, tlwh.1 + tlwh.3) }
    }

    /// One track. A class: the tracker's lists share tracks as Ultralytics' do.
    final class Track {
        var id = 0
        var state = State.new
        var isActivated = false
        var score: Float
        var classIndex: Int
        var detectionIndex: Int
        var filter: KalmanBoxFilter
        var frameID = 0
        var startFrame = 0
        var trackletLength = 0

        init(_ candidate: Candidate) {
            score = candidate.score
            classIndex = candidate.classIndex
            detectionIndex = candidate.index
            filter = KalmanBoxFilter(measurement: candidate.xyah)
        }

        /// The box from the state: (x1, y1, x2, y2) computed in float64, then stored as float32 (as NumPy's cast).
        var xyxy: (Float, Float, Float, Float) {
            let m = filter.mean
            let w = m.a * m.h
            let left = m.x - w / 2
            let top = m.y - m.h / 2
            return (Float(left), Float(top), Float(left + w), Float(top + m.h))
        }

        func update(with candidate: Candidate, frame: Int) {
            frameID = frame
            trackletLength += 1
            filter.update(measurement: candidate.xyah)
            state = .tracked
            isActivated = true
            score = candidate.score
            classIndex = candidate.classIndex
            detectionIndex = candidate.index
        }

        func reactivate(with candidate: Candidate, frame: Int) {
            filter.update(measurement: candidate.xyah)
            trackletLength = 0
            state = .tracked
            isActivated = true
            frameID = frame
            score = candidate.score
            classIndex = candidate.classIndex
            detectionIndex = candidate.index
        }
    }
}
