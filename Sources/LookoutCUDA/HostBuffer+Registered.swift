import CLookoutCUDA

#if canImport(Glibc)
import Glibc
#endif

extension HostBuffer {
    /// Ordinary page-aligned memory, then page-locked and mapped with `cuMemHostRegister`: the path for memory
    /// that something else allocates (a decoder's output, say). Unregistered, then freed, on release.
    public static func registered(byteCount: Int, context: CUDAContext) throws(CUDAError) -> HostBuffer {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        let rounded = roundedToPages(byteCount)
        var pointer: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&pointer, pageSize, rounded) == 0, let pointer else {
            fatalError("out of host memory allocating \(byteCount) bytes")
        }
        do {
            try context.bind()
            try context.api.check(
                context.api.cuMemHostRegister(pointer, rounded, HostAllocFlags.portable | HostAllocFlags.deviceMap),
                "cuMemHostRegister")
        } catch {
            free(pointer)
            throw error
        }
        CUDAAllocationCounter.increment()
        var device: LookoutCUdeviceptr = 0
        let status = context.api.cuMemHostGetDevicePointer(&device, pointer, 0)
        let devicePointer = status == 0 ? DevicePointer(address: device) : nil
        return HostBuffer(kind: .registered, byteCount: byteCount, base: pointer, context: context, devicePointer: devicePointer)
    }
}
