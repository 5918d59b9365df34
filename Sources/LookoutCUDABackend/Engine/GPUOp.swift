import CLookoutCUDA
import LookoutCUDA

/// A device address known only relative to a region until the engine allocates: the activation arena, the
/// constant pool (weights, biases, tables), or nothing.
enum GPUAddress: Equatable {
    case none
    case arena(Int)
    case constant(Int)
    /// A device address outside both (a staging buffer).
    case absolute(UInt64)

    /// Bytes from the start of its region (whose base is 256-byte aligned): nil for none and absolute addresses.
    var byteOffset: Int? {
        switch self {
        case .arena(let b), .constant(let b): b
        case .absolute(let a): Int(a % 256)
        case .none: nil
        }
    }

    func resolve(arena: UInt64, constants: UInt64) -> UInt64 {
        switch self {
        case .none: 0
        case .absolute(let address): address
        case .arena(let bytes): arena &+ UInt64(bytes)
        case .constant(let bytes): constants &+ UInt64(bytes)
        }
    }
}

/// Which convolution kernel runs a convolution.
enum ConvKernel: Hashable, CustomStringConvertible {
    case mma(EngineKernelSource.ConvTile)
    /// The tensor-core kernel with K split over grid z, then the split-K epilogue.
    case mmaSplit(EngineKernelSource.ConvTile, Int)
    /// The Hopper kernel (sm_90a, `LOOKOUT_WGMMA=1`); a candidate everywhere, launched only where it was loaded.
    case wgmma(EngineKernelSource.WGMMATile)
    /// The halo kernel (3x3, the input window through shared memory).
    case halo(EngineKernelSource.HaloTile)
    /// The first-layer kernel (3x3, at most 8 input channels, tensor cores).
    case first(EngineKernelSource.FirstTile)
    /// The pointwise kernel (1x1, whole K rows a tile, blocks resident over several tiles).
    case pointwise(EngineKernelSource.PointwiseTile)
    case small(Int)
    case direct
    /// cuDNN's forward convolution into the output (fp16), then the engine's epilogue in place over it.
    case cudnn(CUDNNAlgorithm)

    var description: String {
        switch self {
        case .mma(let tile):
            "mma \(tile.bm)x\(tile.bn)x\(tile.bk)" + (tile.l1 ? " l1" : "") + (tile.prefetch ? " pf" : "")
        case .mmaSplit(let tile, let splits): "mma \(tile.bm)x\(tile.bn)x\(tile.bk) split-k \(splits)"
        case .wgmma(let tile): "wgmma \(tile.bm)x\(tile.bn)x\(tile.bk) s\(tile.stages)"
        case .halo(let tile): tile.description
        case .first(let tile): tile.description
        case .pointwise(let tile): tile.description
        case .small(let width): "small\(width)"
        case .direct: "direct"
        case .cudnn(let algorithm): algorithm.description
        }
    }

    /// A stable name for the tuning cache.
    var key: String {
        switch self {
        case .mma(let tile): tile.entryPoint
        case .mmaSplit(let tile, let splits): "\(tile.entryPoint)_splitk\(splits)"
        case .wgmma(let tile): tile.entryPoint
        case .halo(let tile): tile.entryPoint
        case .first(let tile): tile.entryPoint
        case .pointwise(let tile): tile.key
        case .small(let width): "lookout_conv_small_\(width)"
        case .direct: "lookout_conv_direct"
        case .cudnn(let algorithm): "cudnn_algo\(algorithm.algorithm)_math\(algorithm.mathType)"
        }
    }

    var isCUDNN: Bool {
        if case .cudnn = self { return true }
        return false
    }

    var isSplit: Bool {
        if case .mmaSplit = self { return true }
        return false
    }
}

/// The device memory launches refer to: the arena, the constant pool, the split-K workspace.
struct LaunchMemory {
    var arena: UInt64
    var constants: UInt64
    var workspace: UInt64 = 0
    /// cuDNN's workspace (0 and 0 when no layer runs cuDNN).
    var cudnnWorkspace: UInt64 = 0
    var cudnnWorkspaceBytes = 0
}

struct ConvOp {
    var params: LookoutConvParams
    var x: GPUAddress, w16: GPUAddress, w32: GPUAddress, bias: GPUAddress, residual: GPUAddress, y: GPUAddress
    var kernel: ConvKernel
    /// Every kernel that can run this convolution, for the tuner (the direct kernel last: it is the reference).
    var candidates: [ConvKernel]
    /// The output as a view, for checking candidates against the reference.
    var output: GPUView
    var outputAddress: GPUAddress
    /// Identifies the layer's shape and strides (the tuning cache key).
    var signature: String
    /// The first-layer kernel's fp16 weights (`[rows][88]`, k = tap * 8 + c); it reads them as `p.w16`, which
    /// otherwise holds the tensor-core weights (`[coutPad][kPad]`).
    var firstWeights: GPUAddress = .none
    /// cuDNN's view of the layer when it may run it (fp16 channels-last input and output), and the fp16 weights
    /// dense in KRSC order it reads (made only when cuDNN is loaded).
    var cudnnShape: CUDNNConvolutionShape? = nil
    var denseWeights: GPUAddress = .none
    /// The layer's cuDNN descriptors, made when the instance is compiled; they live as long as its launches.
    var cudnn: CUDNNConvolution? = nil
    /// The fastest of the engine's own kernels, kept when cuDNN won (the fallback if its work cannot be captured).
    var nvrtcKernel: ConvKernel? = nil

    /// The parameter block with absolute addresses, its `w16` the weights `kernel` reads.
    func resolved(arena: UInt64, constants: UInt64, for kernel: ConvKernel? = nil) -> LookoutConvParams {
        var p = params
        p.x = x.resolve(arena: arena, constants: constants)
        if case .first = kernel ?? self.kernel {
            p.w16 = firstWeights.resolve(arena: arena, constants: constants)
        } else {
            p.w16 = w16.resolve(arena: arena, constants: constants)
        }
        p.w32 = w32.resolve(arena: arena, constants: constants)
        p.bias = bias.resolve(arena: arena, constants: constants)
        p.residual = residual.resolve(arena: arena, constants: constants)
        p.y = y.resolve(arena: arena, constants: constants)
        return p
    }
}

struct ElementwiseOp {
    /// `gatherElements`: `lookout_gather_elements` (the axis in `kH`, its length in `kW`).
    enum Kernel { case elementwise, spatial, gatherElements }
    var params: LookoutElementwiseParams
    var a: GPUAddress, b: GPUAddress, c: GPUAddress, y: GPUAddress
    var kernel: Kernel

    func resolved(arena: UInt64, constants: UInt64) -> LookoutElementwiseParams {
        var p = params
        p.a = a.resolve(arena: arena, constants: constants)
        p.b = b.resolve(arena: arena, constants: constants)
        p.c = c.resolve(arena: arena, constants: constants)
        p.y = y.resolve(arena: arena, constants: constants)
        return p
    }
}

struct SoftmaxOp {
    var params: LookoutSoftmaxParams
    var x: GPUAddress, y: GPUAddress
    /// The 1x1 convolution to one channel fused after it (then `y` is not written).
    var dot: SoftmaxDot? = nil

    func resolved(arena: UInt64, constants: UInt64) -> LookoutSoftmaxParams {
        var p = params
        p.x = x.resolve(arena: arena, constants: constants)
        p.y = y.resolve(arena: arena, constants: constants)
        return p
    }
}

/// A matrix product (`lookout_matmul`), or the fused attention (`lookout_attention`) that replaces
/// MatMul → Softmax → Transpose → MatMul.
struct MatMulOp {
    var params: LookoutMatMulParams
    var a: GPUAddress, b: GPUAddress, c: GPUAddress, y: GPUAddress
    var fused: Bool

    func resolved(arena: UInt64, constants: UInt64) -> LookoutMatMulParams {
        var p = params
        p.a = a.resolve(arena: arena, constants: constants)
        p.b = b.resolve(arena: arena, constants: constants)
        p.c = c.resolve(arena: arena, constants: constants)
        p.y = y.resolve(arena: arena, constants: constants)
        return p
    }
}

struct TopKOp {
    var params: LookoutTopKParams
    var x: GPUAddress, values: GPUAddress, indices: GPUAddress

    func resolved(arena: UInt64, constants: UInt64) -> LookoutTopKParams {
        var p = params
        p.x = x.resolve(arena: arena, constants: constants)
        p.values = values.resolve(arena: arena, constants: constants)
        p.indices = indices.resolve(arena: arena, constants: constants)
        return p
    }
}

/// One launch of the engine.
enum GPUOp {
    case conv(ConvOp)
    case elementwise(ElementwiseOp)
    case softmax(SoftmaxOp)
    /// ReduceMax over one axis (the softmax descriptor: outer, length, inner).
    case reduceMax(SoftmaxOp)
    case matMul(MatMulOp)
    case topK(TopKOp)

    var name: String {
        switch self {
        case .conv(let op): "conv \(op.kernel)"
        case .elementwise(let op):
            switch op.kernel {
            case .elementwise: "elementwise"
            case .spatial: "spatial"
            case .gatherElements: "gather-elements"
            }
        case .softmax(let op): op.dot == nil ? "softmax" : "softmax-dot"
        case .reduceMax: "reduce-max"
        case .matMul(let op): op.fused ? "attention" : "matmul"
        case .topK: "topk"
        }
    }
}

/// Weights, biases, broadcast constants and index tables, packed into one device allocation (256-byte aligned
/// entries), uploaded once per engine and shared by every input shape. Entries are deduplicated by key, and those
/// whose values are given also by value: a constant folded for one input shape (a dynamic export's anchor grid)
/// has the same name and size for a 640 × 384 and a 384 × 640 input but other values, and must not be shared.
struct ConstantPool {
    private(set) var bytes: [UInt8] = []
    private var entries: [String: (offset: Int, count: Int)] = [:]

    /// The entry for `key`, its bytes made by `fill` only when the key is new (repacked weights, computed once).
    mutating func add(key: String, _ fill: () -> [UInt8]) -> GPUAddress {
        if let entry = entries[key] { return .constant(entry.offset) }
        return append(key: key, fill())
    }

    /// The entry holding `data` under `key`: an entry of that key with other bytes gets a sibling key.
    mutating func add(key: String, data: [UInt8]) -> GPUAddress {
        var slot = key
        var sibling = 0
        while let entry = entries[slot] {
            if entry.count == data.count && bytes[entry.offset..<entry.offset + entry.count].elementsEqual(data) {
                return .constant(entry.offset)
            }
            sibling += 1
            slot = key + " #\(sibling)"
        }
        return append(key: slot, data)
    }

    private mutating func append(key: String, _ data: [UInt8]) -> GPUAddress {
        let offset = (bytes.count + 255) / 256 * 256
        bytes.append(contentsOf: repeatElement(0, count: offset - bytes.count))
        bytes.append(contentsOf: data)
        entries[key] = (offset, data.count)
        return .constant(offset)
    }

    mutating func floats(key: String, _ values: [Float]) -> GPUAddress {
        add(key: key + ":f32", data: values.withUnsafeBytes { Array($0) })
    }

    /// fp16 values, made only when the key is new (repacked weights are computed once per engine).
    mutating func halves(key: String, _ values: () -> [Float]) -> GPUAddress {
        add(key: key + ":f16") { values().map { Float16($0).bitPattern }.withUnsafeBytes { Array($0) } }
    }

    mutating func ints(key: String, _ values: [Int32]) -> GPUAddress {
        add(key: key + ":i32", data: values.withUnsafeBytes { Array($0) })
    }
}
