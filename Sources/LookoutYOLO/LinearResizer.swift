import LookoutMedia

/// Bit-exact `cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)` for BGR8, row by row.
///
/// Keeps its coefficient tables (rebuilt only when the size pair changes) and a two-row cache of horizontally
/// resampled source rows, so each source row is filtered horizontally once even when two output rows need it.
/// Reuse one resizer per stream: after the first frame nothing is allocated.
public struct LinearResizer: Sendable {
    private var plan: LinearResizePlan?
    /// Two horizontally filtered rows (`width * 3` Int32 each).
    private var filtered: [Int32] = []
    /// One resized output row (`width * 3` bytes), for callers that consume rows.
    private var rowBuffer: [UInt8] = []

    public init() {}

    /// Resizes `source` to `width` x `height` into `output` (reusing its storage).
    public mutating func resize(_ source: BGRPixels, width: Int, height: Int, into output: inout BGRImage) {
        output.reshape(width: width, height: height)
        output.withUnsafeMutableBytes { out in
            guard let base = out.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            forEachRow(of: source, width: width, height: height) { y, row in
                (base + y * width * 3).update(from: row, count: width * 3)
            }
        }
    }

    /// Produces the resized image one row at a time, top to bottom; `body` gets the row index and `width * 3`
    /// bytes that stay valid only during the call.
    public mutating func forEachRow(
        of source: BGRPixels, width: Int, height: Int, _ body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        forEachRow(of: source, width: width, height: height, rows: 0..<height, body)
    }

    /// The same for output rows `rows` only (a band of the image, for splitting one resize over threads: give each
    /// thread its own resizer). Rows outside `0..<height` are ignored.
    public mutating func forEachRow(
        of source: BGRPixels, width: Int, height: Int, rows: Range<Int>, _ body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        preparePlan(source: source, width: width, height: height)
        guard let plan else { return }
        let rows = rows.clamped(to: 0..<height)
        switch plan.mode {
        case .copy:
            for y in rows { body(y, source.row(y)) }
        case .halve:
            rowBuffer.withUnsafeMutableBufferPointer { row in
                guard let out = row.baseAddress else { return }
                for y in rows {
                    Self.halveRow(source.row(2 * y), source.row(2 * y + 1), width: width, into: out)
                    body(y, UnsafePointer(out))
                }
            }
        case .linear:
            linearRows(source: source, plan: plan, rows: rows, body)
        }
    }

    private mutating func preparePlan(source: BGRPixels, width: Int, height: Int) {
        if let plan, plan.sourceWidth == source.width, plan.sourceHeight == source.height, plan.width == width,
            plan.height == height
        {
            return
        }
        plan = LinearResizePlan(sourceWidth: source.width, sourceHeight: source.height, width: width, height: height)
        if filtered.count != 2 * width * 3 {
            filtered = [Int32](repeating: 0, count: 2 * width * 3)
        }
        rowBuffer.resize(to: width * 3)
    }

    private mutating func linearRows(
        source: BGRPixels, plan: LinearResizePlan, rows: Range<Int>, _ body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        let width = plan.width
        let n = width * 3
        var cached = (-1, -1)
        filtered.withUnsafeMutableBufferPointer { filteredBuffer in
            rowBuffer.withUnsafeMutableBufferPointer { rowOut in
                plan.xOffset0.withUnsafeBufferPointer { xo0 in
                    plan.xOffset1.withUnsafeBufferPointer { xo1 in
                        plan.alpha0.withUnsafeBufferPointer { a0 in
                            plan.alpha1.withUnsafeBufferPointer { a1 in
                                guard let slots = filteredBuffer.baseAddress, let out = rowOut.baseAddress else {
                                    return
                                }
                                let tables = HorizontalTables(
                                    xOffset0: xo0.baseAddress!, xOffset1: xo1.baseAddress!, alpha0: a0.baseAddress!,
                                    alpha1: a1.baseAddress!, width: width)
                                for y in rows {
                                    let r0 = Int(plan.yRow0[y])
                                    let r1 = Int(plan.yRow1[y])
                                    // Find or fill the slots holding source rows r0 and r1; rows only move down,
                                    // so a slot holding neither can be overwritten.
                                    var s0 = cached.0 == r0 ? 0 : (cached.1 == r0 ? 1 : -1)
                                    if s0 < 0 {
                                        s0 = cached.0 == r1 ? 1 : 0
                                        tables.filter(source.row(r0), into: slots + s0 * n)
                                        if s0 == 0 { cached.0 = r0 } else { cached.1 = r0 }
                                    }
                                    var s1 = cached.0 == r1 ? 0 : (cached.1 == r1 ? 1 : -1)
                                    if s1 < 0 {
                                        s1 = 1 - s0
                                        tables.filter(source.row(r1), into: slots + s1 * n)
                                        if s1 == 0 { cached.0 = r1 } else { cached.1 = r1 }
                                    }
                                    Self.vertical(
                                        slots + s0 * n, slots + s1 * n, plan.beta0[y], plan.beta1[y], count: n,
                                        into: out)
                                    body(y, UnsafePointer(out))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The horizontal pass: `D = S[sx] * a0 + S[sx + 1] * a1` per channel, in Int32.
    private struct HorizontalTables {
        let xOffset0: UnsafePointer<Int32>
        let xOffset1: UnsafePointer<Int32>
        let alpha0: UnsafePointer<Int32>
        let alpha1: UnsafePointer<Int32>
        let width: Int

        @inline(__always)
        func filter(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<Int32>) {
            var d = dst
            for x in 0..<width {
                let p0 = src + Int(xOffset0[x])
                let p1 = src + Int(xOffset1[x])
                let w0 = alpha0[x]
                let w1 = alpha1[x]
                d[0] = Int32(p0[0]) &* w0 &+ Int32(p1[0]) &* w1
                d[1] = Int32(p0[1]) &* w0 &+ Int32(p1[1]) &* w1
                d[2] = Int32(p0[2]) &* w0 &+ Int32(p1[2]) &* w1
                d += 3
            }
        }
    }

    /// The vertical pass: `(((b0 * (D0 >> 4)) >> 16) + ((b1 * (D1 >> 4)) >> 16) + 2) >> 2`.
    @inline(__always)
    private static func vertical(
        _ d0: UnsafePointer<Int32>, _ d1: UnsafePointer<Int32>, _ b0: Int32, _ b1: Int32, count: Int,
        into out: UnsafeMutablePointer<UInt8>
    ) {
        var i = 0
        let lanes = 8
        let vb0 = SIMD8<Int32>(repeating: b0)
        let vb1 = SIMD8<Int32>(repeating: b1)
        let two = SIMD8<Int32>(repeating: 2)
        while i + lanes <= count {
            let x0 = UnsafeRawPointer(d0 + i).loadUnaligned(as: SIMD8<Int32>.self)
            let x1 = UnsafeRawPointer(d1 + i).loadUnaligned(as: SIMD8<Int32>.self)
            let v = (((vb0 &* (x0 &>> 4)) &>> 16) &+ ((vb1 &* (x1 &>> 4)) &>> 16) &+ two) &>> 2
            let bytes = SIMD8<UInt8>(truncatingIfNeeded: v)
            UnsafeMutableRawPointer(out + i).storeBytes(of: bytes, as: SIMD8<UInt8>.self)
            i += lanes
        }
        while i < count {
            let v = (((b0 &* (d0[i] &>> 4)) &>> 16) &+ ((b1 &* (d1[i] &>> 4)) &>> 16) &+ 2) &>> 2
            out[i] = UInt8(truncatingIfNeeded: v)
            i += 1
        }
    }

    /// INTER_AREA for an exact 2x reduction: `(a + b + c + d + 2) >> 2` per channel.
    private static func halveRow(
        _ r0: UnsafePointer<UInt8>, _ r1: UnsafePointer<UInt8>, width: Int, into out: UnsafeMutablePointer<UInt8>
    ) {
        for x in 0..<width {
            let s = x * 6
            for c in 0..<3 {
                let sum = Int(r0[s + c]) + Int(r0[s + 3 + c]) + Int(r1[s + c]) + Int(r1[s + 3 + c])
                out[x * 3 + c] = UInt8(truncatingIfNeeded: (sum + 2) >> 2)
            }
        }
    }
}
