import CLookoutCUDA
import LookoutCUDA
import LookoutYOLO

/// A raw frame in device-reachable memory: device memory, or the device alias of mapped/managed host memory.
package struct DeviceFrame: Sendable {
    package var pointer: DevicePointer
    package var format: PixelFormat
    package var width: Int
    package var height: Int
    /// Bytes per row (of the Y plane for NV12).
    package var pitch: Int
    /// NV12: the interleaved UV plane and its pitch (default: right after the Y plane, same pitch).
    package var uvPointer: DevicePointer?
    package var uvPitch: Int?

    package init(
        pointer: DevicePointer, format: PixelFormat, width: Int, height: Int, pitch: Int? = nil,
        uvPointer: DevicePointer? = nil, uvPitch: Int? = nil
    ) {
        self.pointer = pointer
        self.format = format
        self.width = width
        self.height = height
        self.pitch = pitch ?? width * format.bytesPerPixel
        self.uvPointer = uvPointer
        self.uvPitch = uvPitch
    }
}

/// Where the letterboxed frame goes: a slot of a batch tensor.
package struct TensorSlot: Sendable {
    package var tensor: DevicePointer
    package var batchIndex: Int
    package var width: Int
    package var height: Int
    package var element: TensorElement
    package var layout: TensorMemoryLayout
    package var channels: ChannelOrder

    package init(
        tensor: DevicePointer, batchIndex: Int = 0, width: Int = 640, height: Int = 640,
        element: TensorElement = .float32,
        layout: TensorMemoryLayout = .nchw, channels: ChannelOrder = .rgb
    ) {
        self.tensor = tensor
        self.batchIndex = batchIndex
        self.width = width
        self.height = height
        self.element = element
        self.layout = layout
        self.channels = channels
    }

    /// Bytes of one image in the tensor.
    package var imageBytes: Int { width * height * 3 * element.byteCount }
}

/// The GPU letterbox: raw uint8 frames in, normalised tensors out, Ultralytics/OpenCV-exact. Compiled once
/// (NVRTC, cached on disk), launched with one kernel per frame.
package final class GPULetterbox: @unchecked Sendable {
    package let origin: KernelCompiler.Origin
    package let module: CUDAModule
    /// Indexed by `GPULetterbox.index`: no string is built per launch (that would allocate).
    private let functions: [CUDAFunction]

    package init(compiler: KernelCompiler) throws {
        let (module, origin) = try compiler.module(source: LetterboxKernelSource.source, name: "lookout_letterbox")
        self.module = module
        self.origin = origin
        var functions: [CUDAFunction] = []
        for format in PixelFormat.allCases {
            for element in TensorElement.allCases {
                for layout in TensorMemoryLayout.allCases {
                    precondition(functions.count == GPULetterbox.index(format, element, layout))
                    functions.append(
                        try module.function(
                            LetterboxKernelSource.entryPoint(format: format, element: element, layout: layout)))
                }
            }
        }
        self.functions = functions
    }

    static func index(_ format: PixelFormat, _ element: TensorElement, _ layout: TensorMemoryLayout) -> Int {
        let e = element == .float32 ? 0 : 1
        let l = layout == .nchw ? 0 : 1
        return format.kernelCode * 4 + e * 2 + l
    }

    /// The parameter block for one frame: `geometry` (LookoutYOLO's, Ultralytics' `LetterBox`) says where the
    /// resized image lands in the `geometry.outputWidth` × `geometry.outputHeight` slot.
    package static func parameters(frame: DeviceFrame, slot: TensorSlot, geometry: LetterboxGeometry)
        -> LookoutLetterboxParams
    {
        precondition(
            frame.width == geometry.sourceWidth && frame.height == geometry.sourceHeight,
            "geometry of another frame size")
        precondition(
            slot.width == geometry.outputWidth && slot.height == geometry.outputHeight, "slot and geometry sizes differ"
        )
        let order = frame.format.decodedOrder
        let channels: (Int32, Int32, Int32) =
            slot.channels == .rgb ? (order.r, order.g, order.b) : (order.b, order.g, order.r)
        let uv = frame.uvPointer ?? frame.pointer.advanced(by: frame.pitch * frame.height)
        return LookoutLetterboxParams(
            source: frame.pointer.address, sourceUV: uv.address, destination: slot.tensor.address,
            scaleX: geometry.openCVScaleX, scaleY: geometry.openCVScaleY,
            sourceWidth: Int32(frame.width), sourceHeight: Int32(frame.height), sourcePitch: Int32(frame.pitch),
            sourceUVPitch: Int32(frame.uvPitch ?? frame.pitch),
            resizedWidth: Int32(geometry.resizedWidth), resizedHeight: Int32(geometry.resizedHeight),
            padLeft: Int32(geometry.left), padTop: Int32(geometry.top),
            outputWidth: Int32(slot.width), outputHeight: Int32(slot.height), batchIndex: Int32(slot.batchIndex),
            resizeMode: geometry.kernelResizeMode, channel0: channels.0, channel1: channels.1, channel2: channels.2,
            padValue: Int32(LetterboxTensorWriter.padValue))
    }

    package static let block = Dim3(32, 8)

    /// Queues the letterbox of `frame` into `slot` on `stream`: Ultralytics' predict letterbox (centred, scale-up)
    /// to the slot's size.
    package func launch(frame: DeviceFrame, into slot: TensorSlot, on stream: CUDAStream) throws(CUDAError) {
        let geometry = LetterboxGeometry(
            sourceWidth: frame.width, sourceHeight: frame.height, targetWidth: slot.width, targetHeight: slot.height)
        try launch(frame: frame, geometry: geometry, into: slot, on: stream)
    }

    /// Queues the letterbox of `frame` with an explicit geometry (rect/auto shapes, no scale-up, …) into `slot`,
    /// whose size must be the geometry's output size.
    package func launch(frame: DeviceFrame, geometry: LetterboxGeometry, into slot: TensorSlot, on stream: CUDAStream)
        throws(CUDAError)
    {
        let function = functions[GPULetterbox.index(frame.format, slot.element, slot.layout)]
        let parameters = GPULetterbox.parameters(frame: frame, slot: slot, geometry: geometry)
        try function.launch(
            grid: .covering(Dim3(slot.width, slot.height), with: GPULetterbox.block), block: GPULetterbox.block,
            on: stream, parameters)
    }
}

extension LetterboxGeometry {
    /// OpenCV's per-axis source step, `1 / ((double)dst / src)`, as the kernel's coordinate maths takes it.
    package var openCVScaleX: Double { 1.0 / (Double(resizedWidth) / Double(sourceWidth)) }
    package var openCVScaleY: Double { 1.0 / (Double(resizedHeight) / Double(sourceHeight)) }

    /// The kernel's resize mode, OpenCV's choice (as `LinearResizePlan` makes it): 2 copy when the size is unchanged,
    /// 1 its INTER_AREA path for an exact 2x reduction, 0 fixed-point bilinear.
    package var kernelResizeMode: Int32 {
        if !needsResize { return 2 }
        if sourceWidth == 2 * resizedWidth && sourceHeight == 2 * resizedHeight { return 1 }
        return 0
    }
}

extension LookoutLetterboxParams: KernelArgument {}
