/// A point in a frame's pixels (or in normalised coordinates before a rule set is placed on a frame).
public struct Point2: Sendable, Hashable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
    public var description: String { "(\(x), \(y))" }

    static func - (a: Point2, b: Point2) -> Point2 { Point2(a.x - b.x, a.y - b.y) }
    /// The z component of the cross product: > 0 when `b` turns left of `a` in a y-up frame (right on screen).
    static func cross(_ a: Point2, _ b: Point2) -> Double { a.x * b.y - a.y * b.x }
}

/// The side of the directed line `a → b` that `p` lies on: +1, −1 or 0 (on the line).
@inline(__always)
func side(of p: Point2, _ a: Point2, _ b: Point2) -> Int {
    let c = Point2.cross(b - a, p - a)
    return c > 0 ? 1 : (c < 0 ? -1 : 0)
}

/// Whether the closed segments p1–p2 and q1–q2 meet.
func segmentsIntersect(_ p1: Point2, _ p2: Point2, _ q1: Point2, _ q2: Point2) -> Bool {
    let d1 = side(of: q1, p1, p2)
    let d2 = side(of: q2, p1, p2)
    let d3 = side(of: p1, q1, q2)
    let d4 = side(of: p2, q1, q2)
    if d1 * d2 < 0 && d3 * d4 < 0 { return true }
    func onSegment(_ p: Point2, _ a: Point2, _ b: Point2) -> Bool {
        min(a.x, b.x) <= p.x && p.x <= max(a.x, b.x) && min(a.y, b.y) <= p.y && p.y <= max(a.y, b.y)
    }
    if d1 == 0 && onSegment(q1, p1, p2) { return true }
    if d2 == 0 && onSegment(q2, p1, p2) { return true }
    if d3 == 0 && onSegment(p1, q1, q2) { return true }
    if d4 == 0 && onSegment(p2, q1, q2) { return true }
    return false
}

/// A simple polygon (at least three vertices, no edge crossing another).
public struct Polygon: Sendable, Hashable {
    public var vertices: [Point2]
    public init(_ vertices: [Point2]) { self.vertices = vertices }

    /// Even-odd ray casting; points on an edge may fall either way.
    public func contains(_ p: Point2) -> Bool {
        var inside = false
        var j = vertices.count - 1
        for i in 0..<vertices.count {
            let a = vertices[i]
            let b = vertices[j]
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside.toggle()
            }
            j = i
        }
        return inside
    }

    /// The first pair of edges that cross (edge i runs from vertex i to vertex i + 1), if any: non-adjacent edges
    /// that meet, adjacent edges that fold back onto each other, or repeated vertices.
    public var firstSelfIntersection: (Int, Int)? {
        let n = vertices.count
        for i in 0..<n {
            let a1 = vertices[i]
            let a2 = vertices[(i + 1) % n]
            if a1 == a2 { return (i, (i + 1) % n) }
            for j in (i + 1)..<n {
                let b1 = vertices[j]
                let b2 = vertices[(j + 1) % n]
                let adjacent = j == i + 1 || (i == 0 && j == n - 1)
                if adjacent {
                    // Adjacent edges share one vertex; they are bad only when collinear and overlapping.
                    let shared = j == i + 1 ? a2 : a1
                    let p = j == i + 1 ? a1 : a2
                    let q = j == i + 1 ? b2 : b1
                    if side(of: q, p, shared) == 0
                        && (q - shared).x * (p - shared).x + (q - shared).y * (p - shared).y > 0
                    {
                        return (i, j)
                    }
                    continue
                }
                if segmentsIntersect(a1, a2, b1, b2) { return (i, j) }
            }
        }
        return nil
    }

    public var area: Double {
        var sum = 0.0
        for i in 0..<vertices.count {
            sum += Point2.cross(vertices[i], vertices[(i + 1) % vertices.count])
        }
        return abs(sum) / 2
    }

    func scaled(x: Double, y: Double) -> Polygon { Polygon(vertices.map { Point2($0.x * x, $0.y * y) }) }
}
