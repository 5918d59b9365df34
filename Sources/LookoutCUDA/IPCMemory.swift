import CLookoutCUDA

/// Device memory another process exported with `cudaIpcGetMemHandle` (`cuIpcOpenMemHandle` on this side), closed in
/// `deinit`. Reads and writes are synchronous copies between it and host memory.
package final class IPCMemory: @unchecked Sendable {
    package let context: CUDAContext
    package let address: UInt64
    package let byteCount: Int

    /// `CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS`: lets a handle of another GPU of the host open here.
    static let lazyEnablePeerAccess: UInt32 = 1

    /// Opens `handle` (64 bytes) in `context`; `byteCount` is what the exporter says the allocation holds (the
    /// driver does not tell).
    package init(context: CUDAContext, handle: [UInt8], byteCount: Int) throws(CUDAError) {
        precondition(handle.count == 64 && byteCount > 0)
        var raw = LookoutCUipcMemHandle()
        withUnsafeMutableBytes(of: &raw.reserved) { $0.copyBytes(from: handle) }
        try context.bind()
        var pointer: LookoutCUdeviceptr = 0
        try context.api.check(
            context.api.cuIpcOpenMemHandle(&pointer, raw, Self.lazyEnablePeerAccess), "cuIpcOpenMemHandle")
        self.context = context
        self.address = pointer
        self.byteCount = byteCount
    }

    deinit {
        try? context.bind()
        _ = context.api.cuIpcCloseMemHandle(address)
    }

    /// Copies `destination.count` bytes from `offset` to host memory.
    package func read(offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(CUDAError) {
        precondition(offset >= 0 && offset + destination.count <= byteCount)
        guard let base = destination.baseAddress, destination.count > 0 else { return }
        try context.bind()
        try context.api.check(
            context.api.cuMemcpyDtoH(base, address &+ UInt64(offset), destination.count), "cuMemcpyDtoH")
    }

    /// Copies `source` to `offset`.
    package func write(_ source: UnsafeRawBufferPointer, offset: Int) throws(CUDAError) {
        precondition(offset >= 0 && offset + source.count <= byteCount)
        guard let base = source.baseAddress, source.count > 0 else { return }
        try context.bind()
        try context.api.check(
            context.api.cuMemcpyHtoD(address &+ UInt64(offset), base, source.count), "cuMemcpyHtoD")
    }
}
