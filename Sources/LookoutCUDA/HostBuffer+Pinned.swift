import CLookoutCUDA

/// `cuMemHostAlloc` flags.
enum HostAllocFlags {
    static let portable: UInt32 = 0x1
    static let deviceMap: UInt32 = 0x2
    static let writeCombined: UInt32 = 0x4
}

extension HostBuffer {
    /// Page-locked host memory: the copy engine reads it directly at full PCIe speed, asynchronously.
    /// `writeCombined` memory bypasses the CPU caches: fast to write in order and faster for the copy engine to
    /// read (no snooping of dirty cache lines), very slow for the CPU to read back. For upload staging only.
    package static func pinned(byteCount: Int, context: CUDAContext, writeCombined: Bool = false) throws(CUDAError)
        -> HostBuffer
    {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        try context.bind()
        var pointer: UnsafeMutableRawPointer? = nil
        let flags = HostAllocFlags.portable | (writeCombined ? HostAllocFlags.writeCombined : 0)
        try context.api.check(context.api.cuMemHostAlloc(&pointer, byteCount, flags), "cuMemHostAlloc")
        CUDAAllocationCounter.increment()
        return HostBuffer(kind: .pinned, byteCount: byteCount, base: pointer!, context: context, devicePointer: nil)
    }

    /// Page-locked host memory mapped into the device's address space: a kernel given `devicePointer` reads and
    /// writes it in place over PCIe, with no copy call.
    package static func mapped(byteCount: Int, context: CUDAContext) throws(CUDAError) -> HostBuffer {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        try context.bind()
        var pointer: UnsafeMutableRawPointer? = nil
        try context.api.check(
            context.api.cuMemHostAlloc(&pointer, byteCount, HostAllocFlags.portable | HostAllocFlags.deviceMap),
            "cuMemHostAlloc")
        CUDAAllocationCounter.increment()
        var device: LookoutCUdeviceptr = 0
        let status = context.api.cuMemHostGetDevicePointer(&device, pointer, 0)
        if status != 0 {
            _ = context.api.cuMemFreeHost(pointer)
            throw context.api.error(status, call: "cuMemHostGetDevicePointer")
        }
        return HostBuffer(
            kind: .mapped, byteCount: byteCount, base: pointer!, context: context,
            devicePointer: DevicePointer(address: device))
    }
}
