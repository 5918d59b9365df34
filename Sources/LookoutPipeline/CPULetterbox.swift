import LookoutCUDA

/// The CPU letterbox into a float32 NCHW RGB tensor: OpenCV INTER_LINEAR uint8 fixed point (with its exact-2x
/// area case), pad 114, BGR → RGB, `x / 255`, the arithmetic of `LetterboxEmulator` (checked against OpenCV) in
/// a form fast enough for the transfer benchmark: tables built once per frame size, output rows split over a
/// `RowParallel` team, nothing allocated per frame.
public final class CPULetterbox: RowJob, @unchecked Sendable {
    public let geometry: GPULetterboxGeometry
    let xOffset0: [Int32]  // byte offsets of the left tap, per output column × 3 channels
    let xOffset1: [Int32]
    let alpha0: [Int32]
    let alpha1: [Int32]
    let rows: [LetterboxEmulator.Tap]
    /// value / 255 for every byte: exactly the true division Ultralytics does.
    let normalized: [Float]
    let padValue: Float = 114 / 255
    let workers: RowParallel
    /// Per-thread scratch: two horizontally filtered rows each.
    let scratch: UnsafeMutablePointer<Int32>
    let scratchStride: Int

    public init(sourceWidth: Int, sourceHeight: Int, outputWidth: Int = 640, outputHeight: Int = 640, workers: RowParallel) {
        let g = GPULetterboxGeometry(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, outputWidth: outputWidth, outputHeight: outputHeight)
        geometry = g
        var x0: [Int32] = []
        var x1: [Int32] = []
        var a0: [Int32] = []
        var a1: [Int32] = []
        for dx in 0..<g.resizedWidth {
            let tap = LetterboxEmulator.columnTap(dx, scale: g.scaleX, sourceWidth: sourceWidth)
            x0.append(Int32(tap.index * 3))
            x1.append(Int32(tap.next * 3))
            a0.append(Int32(tap.w0))
            a1.append(Int32(tap.w1))
        }
        xOffset0 = x0
        xOffset1 = x1
        alpha0 = a0
        alpha1 = a1
        rows = (0..<g.resizedHeight).map { LetterboxEmulator.rowTap($0, scale: g.scaleY, sourceHeight: sourceHeight) }
        normalized = (0..<256).map { Float($0) / 255 }
        self.workers = workers
        scratchStride = 2 * g.resizedWidth * 3
        scratch = .allocate(capacity: scratchStride * workers.threadCount)
    }

    deinit { scratch.deallocate() }

    /// Letterboxes a packed BGR frame (`pitch` bytes a row) into `output` (3 × H × W floats).
    public func run(source: UnsafeRawPointer, pitch: Int, into output: UnsafeMutablePointer<Float>) {
        current = (source.assumingMemoryBound(to: UInt8.self), pitch, output)
        workers.run(count: geometry.outputHeight, self)
        current = nil
    }

    /// The frame being letterboxed, for the workers (set only around `workers.run`).
    private var current: (source: UnsafePointer<UInt8>, pitch: Int, output: UnsafeMutablePointer<Float>)?

    public func rows(worker: Int, range: Range<Int>) {
        guard let current else { return }
        rows(range, source: current.source, pitch: current.pitch, output: current.output,
             scratch: scratch + worker * scratchStride)
    }

    private func rows(
        _ range: Range<Int>, source: UnsafePointer<UInt8>, pitch: Int, output: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Int32>
    ) {
        let g = geometry
        let plane = g.outputWidth * g.outputHeight
        let n = g.resizedWidth * 3
        var cached = (-1, -1)
        normalized.withUnsafeBufferPointer { lut in
            xOffset0.withUnsafeBufferPointer { x0 in
                xOffset1.withUnsafeBufferPointer { x1 in
                    alpha0.withUnsafeBufferPointer { a0 in
                        alpha1.withUnsafeBufferPointer { a1 in
                            for oy in range {
                                let r = output + oy * g.outputWidth
                                let gOut = r + plane
                                let b = r + 2 * plane
                                let dy = oy - g.top
                                if dy < 0 || dy >= g.resizedHeight {
                                    for x in 0..<g.outputWidth {
                                        r[x] = padValue; gOut[x] = padValue; b[x] = padValue
                                    }
                                    continue
                                }
                                for x in 0..<g.left { r[x] = padValue; gOut[x] = padValue; b[x] = padValue }
                                for x in (g.left + g.resizedWidth)..<g.outputWidth {
                                    r[x] = padValue; gOut[x] = padValue; b[x] = padValue
                                }
                                let ro = r + g.left
                                let go = gOut + g.left
                                let bo = b + g.left
                                switch g.resizeMode {
                                case .copy:
                                    let row = source + dy * pitch
                                    for x in 0..<g.resizedWidth {
                                        bo[x] = lut[Int(row[3 * x])]
                                        go[x] = lut[Int(row[3 * x + 1])]
                                        ro[x] = lut[Int(row[3 * x + 2])]
                                    }
                                case .area2x:
                                    let top = source + 2 * dy * pitch
                                    let bottom = top + pitch
                                    for x in 0..<g.resizedWidth {
                                        let i = 6 * x
                                        func avg(_ k: Int) -> Int {
                                            let upper = Int(top[i + k]) + Int(top[i + 3 + k])
                                            let lower = Int(bottom[i + k]) + Int(bottom[i + 3 + k])
                                            return (upper + lower + 2) >> 2
                                        }
                                        bo[x] = lut[avg(0)]
                                        go[x] = lut[avg(1)]
                                        ro[x] = lut[avg(2)]
                                    }
                                case .bilinear:
                                    let tap = rows[dy]
                                    // Keep the two filtered rows of the previous output row when they are reused.
                                    let s0: UnsafeMutablePointer<Int32>
                                    let s1: UnsafeMutablePointer<Int32>
                                    if cached.0 == tap.index && cached.1 == tap.next {
                                        s0 = scratch; s1 = scratch + n
                                    } else if cached.1 == tap.index {
                                        (scratch).update(from: scratch + n, count: n)
                                        s0 = scratch; s1 = scratch + n
                                        Self.filter(source + tap.next * pitch, x0, x1, a0, a1, into: s1, width: g.resizedWidth)
                                    } else {
                                        s0 = scratch; s1 = scratch + n
                                        Self.filter(source + tap.index * pitch, x0, x1, a0, a1, into: s0, width: g.resizedWidth)
                                        Self.filter(source + tap.next * pitch, x0, x1, a0, a1, into: s1, width: g.resizedWidth)
                                    }
                                    cached = (tap.index, tap.next)
                                    let b0 = Int32(tap.w0)
                                    let b1 = Int32(tap.w1)
                                    for x in 0..<g.resizedWidth {
                                        let i = 3 * x
                                        @inline(__always) func v(_ k: Int) -> Int {
                                            let upper: Int32 = (b0 &* (s0[i + k] >> 4)) >> 16
                                            let lower: Int32 = (b1 &* (s1[i + k] >> 4)) >> 16
                                            return Int((upper &+ lower &+ 2) >> 2)
                                        }
                                        bo[x] = lut[v(0)]
                                        go[x] = lut[v(1)]
                                        ro[x] = lut[v(2)]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func filter(
        _ row: UnsafePointer<UInt8>, _ x0: UnsafeBufferPointer<Int32>, _ x1: UnsafeBufferPointer<Int32>,
        _ a0: UnsafeBufferPointer<Int32>, _ a1: UnsafeBufferPointer<Int32>, into out: UnsafeMutablePointer<Int32>, width: Int
    ) {
        for x in 0..<width {
            let l = Int(x0[x])
            let r = Int(x1[x])
            let w0 = a0[x]
            let w1 = a1[x]
            out[3 * x] = Int32(row[l]) &* w0 &+ Int32(row[r]) &* w1
            out[3 * x + 1] = Int32(row[l + 1]) &* w0 &+ Int32(row[r + 1]) &* w1
            out[3 * x + 2] = Int32(row[l + 2]) &* w0 &+ Int32(row[r + 2]) &* w1
        }
    }
}
