/// Deterministic BGR test frames: gradients plus hashed noise, distinct per frame index. The PyTorch baseline
/// (bench/baselines/transfer_pytorch.py) computes the same formula, so both sides letterbox the same pixels.
package enum SyntheticFrames {
    /// The byte of channel `c` (0 B, 1 G, 2 R) at (`x`, `y`) of frame `index`.
    @inline(__always)
    package static func value(x: Int, y: Int, c: Int, index: Int) -> UInt8 {
        let noise = ((x &* 7919) ^ (y &* 104_729) ^ (index &* 15_485_863)) & 63
        return UInt8(truncatingIfNeeded: x + 2 * y + 64 * c + 37 * index + noise)
    }

    /// Fills `buffer` with frame `index` as packed BGR rows `pitch` bytes apart.
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer, width: Int, height: Int, pitch: Int, index: Int) {
        precondition(buffer.count >= (height - 1) * pitch + width * 3)
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for y in 0..<height {
            let row = base + y * pitch
            for x in 0..<width {
                row[3 * x] = value(x: x, y: y, c: 0, index: index)
                row[3 * x + 1] = value(x: x, y: y, c: 1, index: index)
                row[3 * x + 2] = value(x: x, y: y, c: 2, index: index)
            }
        }
    }
}
