import LookoutModel

/// A run-time tensor in the arena: where its runs are, plus its shape.
///
/// The arena holds 4-byte elements. Floating-point tensors are fp32; integer and boolean tensors (the indices and
/// class ids of YOLO26's end-to-end head) hold `Int32` bit patterns, so a copy or a view moves them unchanged and
/// only kernels that compute read them as integers. Such values stay far below 2^31 (an index into a tensor of at
/// most `TensorValue.maxElements` elements); larger ones saturate.
struct CPUTensor {
    let layout: TensorLayout
    let shape: [Int]
    /// The element type of the graph value.
    var dataType: DataType = .float

    var isInteger: Bool { !dataType.isFloatingPoint }

    var count: Int { layout.count }

    /// Pointer to batch item `n`'s elements, for kernels that process images one at a time.
    /// Valid when the tensor is contiguous or has one run per batch item.
    @inline(__always)
    func image(_ n: Int, batch: Int, in arena: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let perImage = layout.count / max(batch, 1)
        let stride = layout.blocks > 1 ? layout.blockStride : perImage
        return arena + layout.offset + n * stride
    }

    /// Whether `image(_:)` addresses this tensor correctly for `batch` items.
    func supportsImages(batch: Int) -> Bool { layout.isContiguous || layout.blocks == batch }

    /// Copies logical elements [start, start+count) to `destination` (contiguous).
    func read(
        from arena: UnsafeMutablePointer<Float>, start: Int, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        forEachRun(start: start, count: count) { offset, logical, length in
            (destination + (logical - start)).update(from: arena + offset, count: length)
        }
    }

    /// Writes `count` contiguous values from `source` to logical elements [start, start+count).
    func write(to arena: UnsafeMutablePointer<Float>, start: Int, count: Int, from source: UnsafePointer<Float>) {
        forEachRun(start: start, count: count) { offset, logical, length in
            (arena + offset).update(from: source + (logical - start), count: length)
        }
    }

    /// Visits the contiguous arena runs covering logical elements [start, start+count):
    /// (arena offset, logical index, length).
    func forEachRun(start: Int, count: Int, _ body: (Int, Int, Int) -> Void) {
        if layout.isContiguous {
            body(layout.offset + start, start, count)
            return
        }
        var logical = start
        let end = start + count
        while logical < end {
            let block = logical / layout.blockSize
            let within = logical % layout.blockSize
            let length = min(layout.blockSize - within, end - logical)
            body(layout.offset + block * layout.blockStride + within, logical, length)
            logical += length
        }
    }
}
