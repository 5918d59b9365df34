extension ExifOrientation {
    /// Writes `source` (stored pixels, `width` x `height` BGR8) turned upright into `destination`, which holds
    /// `width * height * 3` bytes and gets the upright size (width and height swapped when `swapsAxes`).
    ///
    /// The mapping is OpenCV's `ApplyExifOrientation`: 2 flips columns, 3 flips both, 4 flips rows, 5 transposes,
    /// 6 transposes then flips columns, 7 transposes then flips both, 8 transposes then flips rows.
    public func apply(
        source: UnsafeRawBufferPointer, width: Int, height: Int, destination: UnsafeMutableRawBufferPointer
    ) {
        let count = width * height * 3
        precondition(source.count >= count && destination.count >= count, "buffers smaller than the image")
        guard count > 0, let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self),
            let dst = destination.baseAddress?.assumingMemoryBound(to: UInt8.self)
        else { return }
        if self == .topLeft {
            dst.update(from: src, count: count)
            return
        }
        let outWidth = swapsAxes ? height : width
        let outHeight = swapsAxes ? width : height
        // For output pixel (x, y), the source pixel is start(y) + x * step, in source pixel units.
        let sourceRow = width
        for y in 0..<outHeight {
            let start: Int
            let step: Int
            switch self {
            case .topLeft:
                start = y * sourceRow
                step = 1
            case .topRight:
                start = y * sourceRow + (width - 1)
                step = -1
            case .bottomRight:
                start = (height - 1 - y) * sourceRow + (width - 1)
                step = -1
            case .bottomLeft:
                start = (height - 1 - y) * sourceRow
                step = 1
            case .leftTop:
                start = y
                step = sourceRow  // dst(x, y) = src(y, x)
            case .rightTop:
                start = (height - 1) * sourceRow + y
                step = -sourceRow  // src(y, h-1-x)
            case .rightBottom:
                start = (height - 1) * sourceRow + (width - 1 - y)
                step = -sourceRow
            case .leftBottom:
                start = width - 1 - y
                step = sourceRow  // src(w-1-y, x)
            }
            var s = start * 3
            let step3 = step * 3
            var d = y * outWidth * 3
            for _ in 0..<outWidth {
                dst[d] = src[s]
                dst[d + 1] = src[s + 1]
                dst[d + 2] = src[s + 2]
                s += step3
                d += 3
            }
        }
    }
}
