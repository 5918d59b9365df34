/// A track's membership of one zone, settled over `inertia` frames (Frigate's zone `inertia`): a box's point
/// jitters by a few pixels from frame to frame, and an object moving along a zone's edge would otherwise enter and
/// leave it every other frame. A change counts once the point has been on the new side for `inertia` consecutive
/// frames; it is dated from the first of them. A track first seen inside is in at once.
struct ZoneMembership {
    /// The settled state; nil before the track was first seen.
    private(set) var inside: Bool?
    /// Stream seconds and frame since which the point is in (the first frame of the streak that settled it).
    private(set) var since: (seconds: Double, frame: Int) = (0, 0)
    private var streak = 0
    private var streakStart: (seconds: Double, frame: Int) = (0, 0)

    enum Change {
        case entered
        case left
    }

    /// Folds in one frame's raw test and says what settled at it.
    mutating func update(_ raw: Bool, seconds: Double, frame: Int, inertia: Int) -> Change? {
        guard let settled = inside else {
            inside = raw
            since = (seconds, frame)
            return raw ? .entered : nil
        }
        if raw == settled {
            streak = 0
            return nil
        }
        if streak == 0 { streakStart = (seconds, frame) }
        streak += 1
        guard streak >= inertia else { return nil }
        streak = 0
        inside = raw
        since = streakStart
        return raw ? .entered : .left
    }
}

/// A track's side of one directed line, settled over `inertia` frames like `ZoneMembership`. A crossing counts when
/// the point has stayed `inertia` frames on the other side and its step from the last point on the settled side to
/// the first one on the new side crosses the segment (not just the line through it).
struct LineSide {
    private(set) var settled = 0
    private var lastSettledPoint: Point2?
    private var firstNewPoint: Point2?
    private var streak = 0

    /// Folds in one frame's point; returns the crossing that settled at it, if any.
    mutating func update(_ p: Point2, _ a: Point2, _ b: Point2, inertia: Int) -> CrossingDirection? {
        let s = side(of: p, a, b)
        guard s != 0 else { return nil }
        guard settled != 0, let from = lastSettledPoint else {
            settled = s
            lastSettledPoint = p
            return nil
        }
        if s == settled {
            streak = 0
            lastSettledPoint = p
            return nil
        }
        if streak == 0 { firstNewPoint = p }
        streak += 1
        guard streak >= inertia, let to = firstNewPoint else { return nil }
        streak = 0
        settled = s
        lastSettledPoint = p
        guard segmentsIntersect(from, to, a, b) else { return nil }
        // +1 is the right of a → b on the screen (y grows downwards).
        return s > 0 ? .leftToRight : .rightToLeft
    }
}
