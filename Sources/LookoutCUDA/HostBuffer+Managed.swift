import CLookoutCUDA
import Synchronization

/// Keeps the process's unified memory under what the card has free: asking for more managed memory than the
/// device can hold can hang the GPU, not only this process.
enum ManagedMemoryBudget {
    static let outstanding = Atomic<Int>(0)

    static func reserve(_ bytes: Int, free: Int) -> Bool {
        // Leave a tenth of the free memory (and at least 256 MiB) for everything else.
        let limit = free - max(free / 10, 256 << 20)
        let after = outstanding.add(bytes, ordering: .relaxed).newValue
        if after > limit {
            outstanding.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    static func release(_ bytes: Int) {
        outstanding.subtract(bytes, ordering: .relaxed)
    }
}

extension HostBuffer {
    /// Unified memory, attached globally: one address for CPU and GPU; prefetch it to where it is used next.
    /// Refused (as `CUDA_ERROR_OUT_OF_MEMORY`) when all managed memory would exceed 90% of the device's free memory.
    package static func managed(byteCount: Int, context: CUDAContext) throws(CUDAError) -> HostBuffer {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        let (free, _) = try context.memoryInfo()
        guard ManagedMemoryBudget.reserve(byteCount, free: free) else {
            throw CUDAError(
                code: .outOfMemory, name: "CUDA_ERROR_OUT_OF_MEMORY",
                message:
                    "\(byteCount) bytes of managed memory would exceed 90% of the \(free) bytes the device has free",
                call: "cuMemAllocManaged")
        }
        var address: LookoutCUdeviceptr = 0
        let status = context.api.cuMemAllocManaged(&address, byteCount, 0x1)  // CU_MEM_ATTACH_GLOBAL
        if status != 0 {
            ManagedMemoryBudget.release(byteCount)
            throw context.api.error(status, call: "cuMemAllocManaged")
        }
        CUDAAllocationCounter.increment()
        return HostBuffer(
            kind: .managed, byteCount: byteCount, base: UnsafeMutableRawPointer(bitPattern: UInt(address))!,
            context: context, devicePointer: DevicePointer(address: address))
    }
}
