/// The few NumPy routines Ultralytics' metrics rely on, with NumPy's exact conventions.
enum NumPyMath {
    /// `np.linspace(0, 1, count)`: `i * (1 / (count - 1))`, the last value exactly 1.
    static func unitLinspace(_ count: Int) -> [Double] {
        let step = 1.0 / Double(count - 1)
        var x = (0..<count).map { Double($0) * step }
        x[count - 1] = 1
        return x
    }

    /// `np.interp(x, xp, fp, left, right)` for non-decreasing `xp`: the segment is the last `j` with
    /// `xp[j] <= x`; an exact hit returns `fp[j]`; `x == xp.last` returns `fp.last`.
    static func interp(_ x: Double, _ xp: [Double], _ fp: [Double], left: Double? = nil, right: Double? = nil)
        -> Double
    {
        let n = xp.count
        if n == 0 { return .nan }
        if x < xp[0] { return left ?? fp[0] }
        if x > xp[n - 1] { return right ?? fp[n - 1] }
        if x == xp[n - 1] { return fp[n - 1] }
        // Binary search: the number of xp values <= x, minus one.
        var lo = 0
        var hi = n
        while lo < hi {
            let mid = (lo + hi) / 2
            if xp[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        let j = lo - 1
        if j >= n - 1 { return fp[n - 1] }
        if xp[j] == x { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        return slope * (x - xp[j]) + fp[j]
    }

    /// `np.trapezoid(y, x)`.
    static func trapezoid(_ y: [Double], _ x: [Double]) -> Double {
        var sum = 0.0
        for i in 1..<min(x.count, y.count) { sum += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 }
        return sum
    }

    /// Ultralytics `smooth(y, f)`: a box filter of odd width `round(len * f * 2) // 2 + 1`, edges padded with the
    /// end values.
    static func smooth(_ y: [Double], fraction f: Double) -> [Double] {
        let nf = Int((Double(y.count) * f * 2).rounded(.toNearestOrEven)) / 2 + 1
        let pad = nf / 2
        guard let first = y.first, let last = y.last else { return [] }
        let padded = [Double](repeating: first, count: pad) + y + [Double](repeating: last, count: pad)
        let w = 1.0 / Double(nf)
        return (0..<(padded.count - nf + 1)).map { k in
            var s = 0.0
            for m in 0..<nf { s += padded[k + m] * w }
            return s
        }
    }

    /// Index of the first maximum (`np.argmax`).
    static func argmax(_ y: [Double]) -> Int {
        var best = 0
        for i in y.indices where y[i] > y[best] { best = i }
        return best
    }
}
