import CLookoutCUDA

/// A 2-D convolution as cuDNN's legacy API describes it: fp16 tensors with explicit (n, c, h, w) strides (so an
/// output may be a channel range of a wider channels-last buffer), fp16 filters dense in KRSC order
/// (`[k][r][s][c / groups]`, cuDNN's NHWC filter format), symmetric padding, fp32 accumulation.
package struct CUDNNConvolutionShape: Hashable, Sendable, CustomStringConvertible {
    /// (n, c, h, w) and their strides in elements.
    package var input: [Int], inputStrides: [Int]
    /// (k, c / groups, r, s).
    package var filter: [Int]
    package var output: [Int], outputStrides: [Int]
    package var padding: (h: Int, w: Int)
    package var stride: (h: Int, w: Int)
    package var dilation: (h: Int, w: Int)
    package var groups: Int

    package init(
        input: [Int], inputStrides: [Int], filter: [Int], output: [Int], outputStrides: [Int],
        padding: (h: Int, w: Int),
        stride: (h: Int, w: Int), dilation: (h: Int, w: Int), groups: Int
    ) {
        self.input = input
        self.inputStrides = inputStrides
        self.filter = filter
        self.output = output
        self.outputStrides = outputStrides
        self.padding = padding
        self.stride = stride
        self.dilation = dilation
        self.groups = groups
    }

    /// Why cuDNN cannot describe this convolution, or nil. cuDNN pads both sides alike and computes the output
    /// size itself: the output must be exactly `(in + 2 pad - dil (k - 1) - 1) / stride + 1`; sizes and strides
    /// must fit its `int` arguments.
    package var unsupportedReason: String? {
        guard input.count == 4, output.count == 4, filter.count == 4, inputStrides.count == 4, outputStrides.count == 4
        else {
            return "not 4-D"
        }
        guard groups >= 1, input[1] == filter[1] * groups, filter[0] % groups == 0, output[1] == filter[0] else {
            return "channels and groups disagree"
        }
        for (axis, size) in [(2, input[2]), (3, input[3])] {
            let pad = axis == 2 ? padding.h : padding.w
            let step = axis == 2 ? stride.h : stride.w
            let dil = axis == 2 ? dilation.h : dilation.w
            let k = filter[axis]
            let expected = (size + 2 * pad - dil * (k - 1) - 1) / step + 1
            if expected != output[axis] {
                return "asymmetric padding (output \(output[axis]), cuDNN would give \(expected))"
            }
        }
        let limit = Int(Int32.max)
        let extents = [input, output, inputStrides, outputStrides].flatMap { $0 }
        if extents.contains(where: { $0 > limit }) || input.reduce(1, *) > limit || output.reduce(1, *) > limit {
            return "larger than cuDNN's 32-bit sizes"
        }
        return nil
    }

    package var description: String {
        "x \(input) strides \(inputStrides), w \(filter), y \(output) strides \(outputStrides), pad \(padding.h),\(padding.w) "
            + "stride \(stride.h),\(stride.w) dilation \(dilation.h),\(dilation.w) groups \(groups)"
    }

    package static func == (a: Self, b: Self) -> Bool { a.description == b.description }
    package func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// One of cuDNN's forward algorithms for a convolution, with the math type it was proposed with and its workspace.
package struct CUDNNAlgorithm: Hashable, Sendable, CustomStringConvertible {
    /// `cudnnConvolutionFwdAlgo_t`.
    package let algorithm: Int32
    /// `cudnnMathType_t` (1: tensor cores).
    package let mathType: Int32
    package let workspaceBytes: Int

    package init(algorithm: Int32, mathType: Int32, workspaceBytes: Int) {
        self.algorithm = algorithm
        self.mathType = mathType
        self.workspaceBytes = workspaceBytes
    }

    /// cuDNN's names for `cudnnConvolutionFwdAlgo_t` 0…7.
    package static let names = [
        "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING", "WINOGRAD",
        "WINOGRAD_NONFUSED",
    ]

    package var name: String {
        Int(algorithm) < Self.names.count && algorithm >= 0 ? Self.names[Int(algorithm)] : "algo \(algorithm)"
    }

    package var description: String { "cudnn \(name)" + (mathType == 1 ? "" : " (math type \(mathType))") }
}

/// The descriptors of one convolution, made once (when a model instance is compiled) and destroyed with it: a
/// launch only sets the stream and calls `cudnnConvolutionForward`.
package final class CUDNNConvolution: @unchecked Sendable {
    /// cudnnDataType_t, cudnnTensorFormat_t, cudnnConvolutionMode_t and cudnnMathType_t values.
    static let dataHalf: Int32 = 2, dataFloat: Int32 = 0
    static let formatNHWC: Int32 = 1
    static let crossCorrelation: Int32 = 1
    static let tensorOpMath: Int32 = 1

    package let handle: CUDNNHandle
    package let shape: CUDNNConvolutionShape
    let x: LookoutCUDNNTensorDescriptor
    let y: LookoutCUDNNTensorDescriptor
    let w: LookoutCUDNNFilterDescriptor
    let convolution: LookoutCUDNNConvolutionDescriptor
    private var mathType: Int32
    var api: CUDNNAPI { handle.api }

    package init(handle: CUDNNHandle, shape: CUDNNConvolutionShape) throws(CUDNNError) {
        self.handle = handle
        self.shape = shape
        let api = handle.api
        var x: LookoutCUDNNTensorDescriptor? = nil
        var y: LookoutCUDNNTensorDescriptor? = nil
        var w: LookoutCUDNNFilterDescriptor? = nil
        var convolution: LookoutCUDNNConvolutionDescriptor? = nil
        // Created one by one so that a failure destroys exactly those made.
        func destroyAll() {
            if let x { _ = api.cudnnDestroyTensorDescriptor(x) }
            if let y { _ = api.cudnnDestroyTensorDescriptor(y) }
            if let w { _ = api.cudnnDestroyFilterDescriptor(w) }
            if let convolution { _ = api.cudnnDestroyConvolutionDescriptor(convolution) }
        }
        do {
            try api.check(api.cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor")
            try api.check(api.cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor")
            try api.check(api.cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor")
            try api.check(api.cudnnCreateConvolutionDescriptor(&convolution), "cudnnCreateConvolutionDescriptor")
            let i = shape.input.map { Int32($0) }
            let si = shape.inputStrides.map { Int32($0) }
            try api.check(
                api.cudnnSetTensor4dDescriptorEx(x, Self.dataHalf, i[0], i[1], i[2], i[3], si[0], si[1], si[2], si[3]),
                "cudnnSetTensor4dDescriptorEx")
            let o = shape.output.map { Int32($0) }
            let so = shape.outputStrides.map { Int32($0) }
            try api.check(
                api.cudnnSetTensor4dDescriptorEx(y, Self.dataHalf, o[0], o[1], o[2], o[3], so[0], so[1], so[2], so[3]),
                "cudnnSetTensor4dDescriptorEx")
            let f = shape.filter.map { Int32($0) }
            try api.check(
                api.cudnnSetFilter4dDescriptor(w, Self.dataHalf, Self.formatNHWC, f[0], f[1], f[2], f[3]),
                "cudnnSetFilter4dDescriptor")
            try api.check(
                api.cudnnSetConvolution2dDescriptor(
                    convolution, Int32(shape.padding.h), Int32(shape.padding.w), Int32(shape.stride.h),
                    Int32(shape.stride.w),
                    Int32(shape.dilation.h), Int32(shape.dilation.w), Self.crossCorrelation, Self.dataFloat),
                "cudnnSetConvolution2dDescriptor")
            try api.check(
                api.cudnnSetConvolutionGroupCount(convolution, Int32(shape.groups)), "cudnnSetConvolutionGroupCount")
            try api.check(
                api.cudnnSetConvolutionMathType(convolution, Self.tensorOpMath), "cudnnSetConvolutionMathType")
        } catch {
            destroyAll()
            throw error
        }
        self.x = x!
        self.y = y!
        self.w = w!
        self.convolution = convolution!
        self.mathType = Self.tensorOpMath
    }

    deinit {
        _ = api.cudnnDestroyTensorDescriptor(x)
        _ = api.cudnnDestroyTensorDescriptor(y)
        _ = api.cudnnDestroyFilterDescriptor(w)
        _ = api.cudnnDestroyConvolutionDescriptor(convolution)
    }

    /// Up to `limit` algorithms cuDNN's heuristics propose for this exact problem, fastest expected first, that
    /// report success, are deterministic and need at most `workspaceLimit` bytes of workspace.
    package func algorithms(limit: Int, workspaceLimit: Int) throws(CUDNNError) -> [CUDNNAlgorithm] {
        do { try handle.context.bind() } catch {
            throw CUDNNError(code: .init(error.code.rawValue), message: error.name, call: error.call)
        }
        var results = [LookoutCUDNNConvolutionFwdAlgoPerf](repeating: LookoutCUDNNConvolutionFwdAlgoPerf(), count: 16)
        var returned: Int32 = 0
        try api.check(
            api.cudnnGetConvolutionForwardAlgorithm_v7(
                handle.handle, x, w, convolution, y, Int32(results.count), &returned, &results),
            "cudnnGetConvolutionForwardAlgorithm_v7")
        var chosen: [CUDNNAlgorithm] = []
        // Deterministic algorithms only (cudnnDeterminism_t 1): graph replay must equal eager launches bit for bit.
        for result in results.prefix(Int(returned))
        where result.status == 0 && result.determinism == 1 && chosen.count < limit {
            try setMathType(Int32(result.mathType))
            var bytes = 0
            guard
                api.cudnnGetConvolutionForwardWorkspaceSize(handle.handle, x, w, convolution, y, result.algo, &bytes)
                    == 0,
                bytes <= workspaceLimit
            else { continue }
            let algorithm = CUDNNAlgorithm(
                algorithm: Int32(result.algo), mathType: Int32(result.mathType), workspaceBytes: bytes)
            if !chosen.contains(algorithm) { chosen.append(algorithm) }
        }
        return chosen
    }

    private func setMathType(_ type: Int32) throws(CUDNNError) {
        guard type != mathType else { return }
        try api.check(api.cudnnSetConvolutionMathType(convolution, type), "cudnnSetConvolutionMathType")
        mathType = type
    }

    /// Queues y = conv(x, w) on `stream` (also while the stream is being captured into a graph). No allocation:
    /// the workspace is the caller's. Failures come as `CUDAError`s carrying cuDNN's code and text.
    package func forward(
        _ algorithm: CUDNNAlgorithm, x xAddress: UInt64, w wAddress: UInt64, y yAddress: UInt64, workspace: UInt64,
        workspaceBytes: Int, on stream: CUDAStream
    ) throws(CUDAError) {
        precondition(
            algorithm.workspaceBytes <= workspaceBytes,
            "cuDNN workspace \(workspaceBytes) B < \(algorithm.workspaceBytes) B")
        do {
            try setMathType(algorithm.mathType)
            try api.check(api.cudnnSetStream(handle.handle, stream.handle), "cudnnSetStream")
            var alpha: Float = 1
            var beta: Float = 0
            try api.check(
                api.cudnnConvolutionForward(
                    handle.handle, &alpha, x, UnsafeRawPointer(bitPattern: UInt(xAddress)), w,
                    UnsafeRawPointer(bitPattern: UInt(wAddress)), convolution, algorithm.algorithm,
                    UnsafeMutableRawPointer(bitPattern: UInt(workspace)), workspaceBytes, &beta, y,
                    UnsafeMutableRawPointer(bitPattern: UInt(yAddress))),
                "cudnnConvolutionForward")
        } catch {
            throw error.asCUDAError
        }
    }
}
