/// The coefficient tables of OpenCV's `cv::resize(INTER_LINEAR)` for 8-bit images (`resizeGeneric_`,
/// modules/imgproc/src/resize.cpp), computed once per size pair.
///
/// For output coordinate `d`: `f = Float((d + 0.5) * scale - 0.5)` with `scale = 1 / (dst / src)` in float64,
/// `s = floor(f)`, `f -= s`; weights `round_half_even((1 - f) * 2048)` and `round_half_even(f * 2048)`.
/// Horizontally, `s < 0` becomes `s = 0, f = 0` and `s >= src - 1` becomes `s = src - 1, f = 0`; vertically the
/// rows are clamped to the image but `f` is kept, as OpenCV does.
struct LinearResizePlan: Sendable {
    enum Mode: Sendable {
        /// Same size: rows are copied.
        case copy
        /// Exactly half in both axes: OpenCV switches to INTER_AREA, `(sum of 2x2 + 2) >> 2`.
        case halve
        /// Fixed-point bilinear.
        case linear
    }

    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int
    let mode: Mode
    /// Per output column: byte offsets (`3 * sx`) of the left and right source pixels, and their weights.
    let xOffset0: [Int32]
    let xOffset1: [Int32]
    let alpha0: [Int32]
    let alpha1: [Int32]
    /// Per output row: the two source rows (clamped) and their weights.
    let yRow0: [Int32]
    let yRow1: [Int32]
    let beta0: [Int32]
    let beta1: [Int32]

    static let coefficientScale: Float = 2048

    init(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && width > 0 && height > 0, "sizes must be positive")
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        if width == sourceWidth && height == sourceHeight {
            mode = .copy
        } else if sourceWidth == 2 * width && sourceHeight == 2 * height {
            mode = .halve
        } else {
            mode = .linear
        }
        var xo0 = [Int32]()
        var xo1 = [Int32]()
        var a0 = [Int32]()
        var a1 = [Int32]()
        var yr0 = [Int32]()
        var yr1 = [Int32]()
        var b0 = [Int32]()
        var b1 = [Int32]()
        if mode == .linear {
            xo0.reserveCapacity(width)
            xo1.reserveCapacity(width)
            a0.reserveCapacity(width)
            a1.reserveCapacity(width)
            for (s, f) in Self.positions(count: width, source: sourceWidth) {
                var sx = s
                var fx = f
                if sx < 0 {
                    sx = 0
                    fx = 0
                }
                if sx >= sourceWidth - 1 {
                    sx = sourceWidth - 1
                    fx = 0
                }
                xo0.append(Int32(sx * 3))
                // The right neighbour of the last column has weight 0; point it at a valid pixel.
                xo1.append(Int32(min(sx + 1, sourceWidth - 1) * 3))
                a0.append(Self.weight(1 - fx))
                a1.append(Self.weight(fx))
            }
            yr0.reserveCapacity(height)
            yr1.reserveCapacity(height)
            b0.reserveCapacity(height)
            b1.reserveCapacity(height)
            for (s, f) in Self.positions(count: height, source: sourceHeight) {
                yr0.append(Int32(min(max(s, 0), sourceHeight - 1)))
                yr1.append(Int32(min(max(s + 1, 0), sourceHeight - 1)))
                b0.append(Self.weight(1 - f))
                b1.append(Self.weight(f))
            }
        }
        xOffset0 = xo0
        xOffset1 = xo1
        alpha0 = a0
        alpha1 = a1
        yRow0 = yr0
        yRow1 = yr1
        beta0 = b0
        beta1 = b1
    }

    /// `(floor(f), f - floor(f))` for every output coordinate, with f rounded to float32 as OpenCV does.
    private static func positions(count: Int, source: Int) -> [(Int, Float)] {
        let scale = 1.0 / (Double(count) / Double(source))
        return (0..<count).map { d in
            let f = Float((Double(d) + 0.5) * scale - 0.5)
            let s = f.rounded(.down)
            return (Int(s), f - s)
        }
    }

    /// `saturate_cast<short>(value * 2048)`: cvRound is round-half-to-even; the product is exact in float32.
    private static func weight(_ value: Float) -> Int32 {
        Int32((value * coefficientScale).rounded(.toNearestOrEven))
    }
}
