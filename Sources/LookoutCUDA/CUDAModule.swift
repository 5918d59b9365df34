import CLookoutCUDA

/// A loaded module (cubin or PTX image) and the kernels in it.
package final class CUDAModule: @unchecked Sendable {
    package let context: CUDAContext
    let handle: LookoutCUmodule

    /// Loads an image; PTX must end with a NUL byte, which is added when missing.
    package init(context: CUDAContext, image: [UInt8], kind: NVRTC.Output.Kind) throws(CUDAError) {
        self.context = context
        try context.bind()
        var bytes = image
        if kind == .ptx, bytes.last != 0 { bytes.append(0) }
        var module: LookoutCUmodule? = nil
        let status = bytes.withUnsafeBytes { context.api.cuModuleLoadData(&module, $0.baseAddress) }
        try context.api.check(status, "cuModuleLoadData")
        self.handle = module!
    }

    deinit {
        try? context.bind()
        _ = context.api.cuModuleUnload(handle)
    }

    /// The `extern "C"` kernel called `name`.
    package func function(_ name: String) throws(CUDAError) -> CUDAFunction {
        var function: LookoutCUfunction? = nil
        let status = context.api.cuModuleGetFunction(&function, handle, name)
        if status != 0 { throw context.api.error(status, call: "cuModuleGetFunction(\(name))") }
        return CUDAFunction(module: self, handle: function!, name: name)
    }
}

/// Three launch dimensions.
package struct Dim3: Sendable, Equatable {
    package var x: Int
    package var y: Int
    package var z: Int
    package init(_ x: Int, _ y: Int = 1, _ z: Int = 1) {
        self.x = x
        self.y = y
        self.z = z
    }
    /// The grid that covers `extent` with blocks of `block`.
    package static func covering(_ extent: Dim3, with block: Dim3) -> Dim3 {
        Dim3((extent.x + block.x - 1) / block.x, (extent.y + block.y - 1) / block.y, (extent.z + block.z - 1) / block.z)
    }
}

/// A value that can be passed to a kernel by value: its bytes are the parameter. Conform only plain values
/// (integers, floats, device pointers, C structs of them): no references, nothing with a destructor.
package protocol KernelArgument {}
extension Int32: KernelArgument {}
extension UInt32: KernelArgument {}
extension Int64: KernelArgument {}
extension UInt64: KernelArgument {}
extension Float: KernelArgument {}
extension Double: KernelArgument {}
extension UInt8: KernelArgument {}
extension Int16: KernelArgument {}
extension UInt16: KernelArgument {}
extension DevicePointer: KernelArgument {}

/// Packs kernel arguments into the `void**` array `cuLaunchKernel` takes, on the stack: no heap allocation.
package enum KernelArguments {
    /// Each argument gets a 16-byte-aligned slot in one stack buffer; `body` receives the parameter pointer array.
    package static func withPacked<each A: KernelArgument, R>(
        _ arguments: repeat each A, body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) -> R
    ) -> R {
        var count = 0
        var bytes = 0
        for argument in repeat each arguments {
            bytes += slotSize(of: argument)
            count += 1
        }
        return withUnsafeTemporaryAllocation(byteCount: max(bytes, 16), alignment: 16) { storage in
            withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(count, 1)) { pointers in
                var index = 0
                var offset = 0
                for argument in repeat each arguments {
                    let slot = storage.baseAddress! + offset
                    withUnsafeBytes(of: argument) { value in
                        slot.copyMemory(from: value.baseAddress!, byteCount: value.count)
                    }
                    pointers[index] = slot
                    offset += slotSize(of: argument)
                    index += 1
                }
                return body(pointers.baseAddress!, count)
            }
        }
    }

    @inline(__always)
    static func slotSize<T: KernelArgument>(of _: T) -> Int {
        (max(MemoryLayout<T>.size, 1) + 15) & ~15
    }
}

/// A kernel in a loaded module. Launches are asynchronous; a bad launch configuration comes back as a
/// `CUDAError` from `launch`, a fault inside the kernel from the next synchronising call.
package struct CUDAFunction: @unchecked Sendable {
    package let module: CUDAModule
    let handle: LookoutCUfunction
    package let name: String

    /// Allows launches with up to `bytes` of dynamic shared memory (above 48 KiB needs this opt-in;
    /// `CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES`).
    package func allowDynamicSharedMemory(_ bytes: Int) throws(CUDAError) {
        let api = module.context.api
        let status = api.cuFuncSetAttribute(handle, 8, Int32(bytes))
        if status != 0 {
            throw api.error(status, call: "cuFuncSetAttribute(\(name), max dynamic shared memory \(bytes))")
        }
    }

    /// Launches with `arguments` in the kernel's parameter order.
    package func launch<each A: KernelArgument>(
        grid: Dim3, block: Dim3, sharedBytes: Int = 0, on stream: CUDAStream, _ arguments: repeat each A
    ) throws(CUDAError) {
        let api = module.context.api
        let status = KernelArguments.withPacked(repeat each arguments) { pointers, _ in
            api.cuLaunchKernel(
                handle, UInt32(grid.x), UInt32(grid.y), UInt32(grid.z), UInt32(block.x), UInt32(block.y),
                UInt32(block.z), UInt32(sharedBytes), stream.handle, pointers, nil)
        }
        if status != 0 { throw api.error(status, call: "cuLaunchKernel(\(name))") }
    }
}
