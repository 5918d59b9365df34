import CLookoutKernels
import LookoutModel

/// 2-D max pooling, one image at a time.
struct MaxPoolKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let attributes: PoolAttributes
    let batch: Int

    init?(attributes: PoolAttributes, input: CPUOperand?, output: CPUTensor, batch: Int) {
        guard case .tensor(let x)? = input, x.shape.count == 4, x.supportsImages(batch: batch),
            output.supportsImages(batch: batch)
        else { return nil }
        self.input = x
        self.output = output
        self.attributes = attributes
        self.batch = batch
    }

    func execute(_ context: CPUContext) {
        let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (output.shape[2], output.shape[3])
        let pads = attributes.resolvedPads(inputH: h, inputW: w)
        for n in 0..<batch {
            let x = input.image(n, batch: batch, in: context.arena)
            let y = output.image(n, batch: batch, in: context.arena)
            CPUParallel.forEachRange(c, minimumChunk: max(1, 16384 / max(oh * ow, 1))) { range in
                lk_maxpool(
                    x + range.lowerBound * h * w, y + range.lowerBound * oh * ow, range.count, Int32(h), Int32(w),
                    Int32(oh), Int32(ow), Int32(attributes.kernel.h), Int32(attributes.kernel.w),
                    Int32(attributes.strides.h),
                    Int32(attributes.strides.w), Int32(pads.top), Int32(pads.left), Int32(attributes.dilations.h),
                    Int32(attributes.dilations.w))
            }
        }
    }
}

/// Nearest-neighbour Resize over the two spatial axes with precomputed source row/column tables.
struct NearestResizeKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let rows: [Int32]
    let cols: [Int32]
    let batch: Int
    let doubles: Bool

    init?(attributes: ResizeAttributes, inputs: [CPUOperand?], output: CPUTensor, batch: Int) {
        guard attributes.mode == .nearest, case .tensor(let x)? = inputs[0], x.shape.count == 4,
            output.shape[0] == x.shape[0], output.shape[1] == x.shape[1], x.supportsImages(batch: batch),
            output.supportsImages(batch: batch)
        else { return nil }
        var scales: [Float]?
        if inputs.count > 2, case .constant(let s)? = inputs[2], !s.floats.isEmpty { scales = s.floats }
        var sizes: [Int64]?
        if inputs.count > 3, case .constant(let s)? = inputs[3], !s.ints.isEmpty { sizes = s.ints }
        guard let resolved = try? ShapeRules.resize(x.shape, scales: scales, sizes: sizes, axes: attributes.axes, ""),
            resolved.shape == output.shape
        else { return nil }
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], output.shape[2], output.shape[3])
        self.rows = (0..<oh).map {
            Int32(
                Reference.nearestIndex(
                    $0, scale: resolved.scales[2], inputSize: h, outputSize: oh, attributes: attributes))
        }
        self.cols = (0..<ow).map {
            Int32(
                Reference.nearestIndex(
                    $0, scale: resolved.scales[3], inputSize: w, outputSize: ow, attributes: attributes))
        }
        self.input = x
        self.output = output
        self.batch = batch
        // YOLO's upsampling: every source pixel repeated 2×2 (checked on the tables, whatever the coordinate mode).
        doubles =
            oh == 2 * h && ow == 2 * w && rows.enumerated().allSatisfy { $0.element == Int32($0.offset / 2) }
            && cols.enumerated().allSatisfy { $0.element == Int32($0.offset / 2) }
    }

    func execute(_ context: CPUContext) {
        let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (output.shape[2], output.shape[3])
        let doubles = self.doubles
        rows.withUnsafeBufferPointer { r in
            cols.withUnsafeBufferPointer { q in
                for n in 0..<batch {
                    let x = input.image(n, batch: batch, in: context.arena)
                    let y = output.image(n, batch: batch, in: context.arena)
                    CPUParallel.forEachRange(c, minimumChunk: max(1, 16384 / max(oh * ow, 1))) { range in
                        if doubles {
                            lk_upsample2x(
                                x + range.lowerBound * h * w, h * w, Int32(h), Int32(w), y + range.lowerBound * oh * ow,
                                oh * ow, range.count)
                            return
                        }
                        lk_gather2d(
                            x + range.lowerBound * h * w, h * w, Int32(w), y + range.lowerBound * oh * ow, oh * ow,
                            range.count,
                            r.baseAddress, Int32(oh), q.baseAddress, Int32(ow))
                    }
                }
            }
        }
    }
}
