import LookoutMedia

/// Writes a letterboxed image straight into a model input tensor, the way Ultralytics' predict builds it:
/// resize (bit-exact INTER_LINEAR, skipped when the size is unchanged), pad with 114, BGR to RGB, HWC to CHW and
/// `Float(x) / 255` (a true division, as PyTorch's CPU `div_` does; multiplying by 1/255 differs for 126 of the 256
/// values). One pass: each resized row is spread into the three channel planes; no full-size intermediate.
public struct LetterboxTensorWriter: Sendable {
    private var resizer = LinearResizer()

    /// `x / 255` for every byte value, in float32 (true division).
    static let float32Table: [Float] = (0..<256).map { Float($0) / 255 }
    /// The same values rounded to the nearest float16 (PyTorch: half(x).div_(255) computes in float, rounds once).
    static let float16Table: [Float16] = float32Table.map { Float16($0) }
    /// The padding gray.
    public static let padValue: UInt8 = 114

    public init() {}

    /// Fills batch slot `slot` of an NCHW float32 tensor whose images are `geometry.outputHeight` x
    /// `geometry.outputWidth`.
    public mutating func write(
        _ source: BGRPixels, geometry: LetterboxGeometry, into tensor: UnsafeMutablePointer<Float>, slot: Int = 0
    ) {
        Self.float32Table.withUnsafeBufferPointer { table in
            // The table has 256 entries; its base address is never nil.
            write(source, geometry: geometry, table: table.baseAddress!, into: tensor, slot: slot)
        }
    }

    /// Fills only the output rows `rows` (of `0..<geometry.outputHeight`) of batch slot `slot`: the same values as
    /// the whole-image `write`, so several writers (one per thread) can each fill a band of one tensor.
    public mutating func write(
        _ source: BGRPixels, geometry: LetterboxGeometry, into tensor: UnsafeMutablePointer<Float>, slot: Int = 0,
        rows: Range<Int>
    ) {
        Self.float32Table.withUnsafeBufferPointer { table in
            write(source, geometry: geometry, table: table.baseAddress!, into: tensor, slot: slot, rows: rows)
        }
    }

    /// Fills output rows `rows` into a band buffer instead of a whole tensor: row `y` of channel `c` at
    /// `band + c * planeStride + (y - rows.lowerBound) * geometry.outputWidth` (the same values as `write`). A
    /// caller that moves each band on with its own stores (non-temporal ones, say) assembles it here.
    public mutating func write(
        _ source: BGRPixels, geometry: LetterboxGeometry, intoBand band: UnsafeMutablePointer<Float>, planeStride: Int,
        rows: Range<Int>
    ) {
        let rows = rows.clamped(to: 0..<geometry.outputHeight)
        precondition(planeStride >= rows.count * geometry.outputWidth, "band planes overlap")
        Self.float32Table.withUnsafeBufferPointer { table in
            write(
                source, geometry: geometry, table: table.baseAddress!, origin: band, planeStride: planeStride,
                rows: rows)
        }
    }

    /// Fills batch slot `slot` of an NCHW float16 tensor (each value the float16 nearest to the float32 one).
    public mutating func write(
        _ source: BGRPixels, geometry: LetterboxGeometry, into tensor: UnsafeMutablePointer<Float16>, slot: Int = 0
    ) {
        Self.float16Table.withUnsafeBufferPointer { table in
            write(source, geometry: geometry, table: table.baseAddress!, into: tensor, slot: slot)
        }
    }

    /// Letterboxes into a BGR image (the picture Ultralytics would feed, before the tensor conversion).
    public mutating func letterbox(_ source: BGRPixels, geometry: LetterboxGeometry, into output: inout BGRImage) {
        precondition(source.width == geometry.sourceWidth && source.height == geometry.sourceHeight, "wrong source")
        let width = geometry.outputWidth
        output.reshape(width: width, height: geometry.outputHeight)
        output.withUnsafeMutableBytes { out in
            guard let base = out.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            base.update(repeating: Self.padValue, count: out.count)
            resizer.forEachRow(of: source, width: geometry.resizedWidth, height: geometry.resizedHeight) { y, row in
                (base + ((y + geometry.top) * width + geometry.left) * 3)
                    .update(from: row, count: geometry.resizedWidth * 3)
            }
        }
    }

    private mutating func write<T>(
        _ source: BGRPixels, geometry: LetterboxGeometry, table: UnsafePointer<T>,
        into tensor: UnsafeMutablePointer<T>, slot: Int, rows: Range<Int>? = nil
    ) {
        let band = (rows ?? 0..<geometry.outputHeight).clamped(to: 0..<geometry.outputHeight)
        let plane = geometry.outputWidth * geometry.outputHeight
        write(
            source, geometry: geometry, table: table,
            origin: tensor + slot * 3 * plane + band.lowerBound * geometry.outputWidth,
            planeStride: plane, rows: band)
    }

    /// The one writer: output row `y` of channel `c` goes to `origin + c * planeStride + (y - band.lowerBound) * width`.
    private mutating func write<T>(
        _ source: BGRPixels, geometry: LetterboxGeometry, table: UnsafePointer<T>,
        origin: UnsafeMutablePointer<T>, planeStride: Int, rows band: Range<Int>
    ) {
        precondition(source.width == geometry.sourceWidth && source.height == geometry.sourceHeight, "wrong source")
        let width = geometry.outputWidth
        let height = geometry.outputHeight
        let red = origin
        let green = red + planeStride
        let blue = green + planeStride
        let pad = table[Int(Self.padValue)]
        // Padding rows above and below (within the band), then the left/right margins of the image rows.
        let bottomStart = geometry.top + geometry.resizedHeight
        // (A local function, not a loop over an array literal: that would allocate per call.)
        func fill(_ padRows: Range<Int>) {
            guard !padRows.isEmpty else { return }
            let start = (padRows.lowerBound - band.lowerBound) * width
            let count = padRows.count * width
            (red + start).update(repeating: pad, count: count)
            (green + start).update(repeating: pad, count: count)
            (blue + start).update(repeating: pad, count: count)
        }
        fill(band.clamped(to: 0..<max(geometry.top, 0)))
        fill(band.clamped(to: min(bottomStart, height)..<height))
        let left = geometry.left
        let right = geometry.right
        let inner = geometry.resizedWidth
        let imageRows = (band.lowerBound - geometry.top)..<(band.upperBound - geometry.top)
        resizer.forEachRow(of: source, width: inner, height: geometry.resizedHeight, rows: imageRows) { y, row in
            let offset = (y + geometry.top - band.lowerBound) * width
            let r = red + offset
            let g = green + offset
            let b = blue + offset
            if left > 0 {
                r.update(repeating: pad, count: left)
                g.update(repeating: pad, count: left)
                b.update(repeating: pad, count: left)
            }
            if right > 0 {
                (r + left + inner).update(repeating: pad, count: right)
                (g + left + inner).update(repeating: pad, count: right)
                (b + left + inner).update(repeating: pad, count: right)
            }
            var s = row
            for x in left..<(left + inner) {
                b[x] = table[Int(s[0])]
                g[x] = table[Int(s[1])]
                r[x] = table[Int(s[2])]
                s += 3
            }
        }
    }
}
