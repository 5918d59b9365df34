import CLookoutCUDA

/// A device address as a kernel argument or copy endpoint. It is only a number: it keeps nothing alive.
package struct DevicePointer: Hashable, Sendable, BitwiseCopyable {
    package let address: UInt64
    package init(address: UInt64) { self.address = address }
    /// The address `bytes` further on.
    package func advanced(by bytes: Int) -> DevicePointer { DevicePointer(address: address &+ UInt64(bytes)) }
}

/// Device memory with a single owner, freed exactly once when the owner goes away.
package struct DeviceBuffer: ~Copyable, @unchecked Sendable {
    package let context: CUDAContext
    package let byteCount: Int
    let address: UInt64

    package init(context: CUDAContext, byteCount: Int) throws(CUDAError) {
        precondition(byteCount > 0, "a device buffer holds at least one byte")
        try context.bind()
        var address: LookoutCUdeviceptr = 0
        try context.api.check(context.api.cuMemAlloc(&address, byteCount), "cuMemAlloc")
        CUDAAllocationCounter.increment()
        self.context = context
        self.byteCount = byteCount
        self.address = address
    }

    deinit {
        try? context.bind()
        _ = context.api.cuMemFree(address)
    }

    /// The buffer's device address (or `offset` bytes into it), for kernel arguments.
    package func pointer(offset: Int = 0) -> DevicePointer {
        precondition(offset >= 0 && offset <= byteCount, "offset \(offset) outside a \(byteCount)-byte buffer")
        return DevicePointer(address: address &+ UInt64(offset))
    }
}
