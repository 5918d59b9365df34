import CLookoutCUDA

/// A device address as a kernel argument or copy endpoint. It is only a number: it keeps nothing alive.
public struct DevicePointer: Hashable, Sendable, BitwiseCopyable {
    public let address: UInt64
    public init(address: UInt64) { self.address = address }
    /// The address `bytes` further on.
    public func advanced(by bytes: Int) -> DevicePointer { DevicePointer(address: address &+ UInt64(bytes)) }
}

/// Device memory with a single owner, freed exactly once when the owner goes away.
public struct DeviceBuffer: ~Copyable, @unchecked Sendable {
    public let context: CUDAContext
    public let byteCount: Int
    let address: UInt64

    public init(context: CUDAContext, byteCount: Int) throws(CUDAError) {
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
    public func pointer(offset: Int = 0) -> DevicePointer {
        precondition(offset >= 0 && offset <= byteCount, "offset \(offset) outside a \(byteCount)-byte buffer")
        return DevicePointer(address: address &+ UInt64(offset))
    }
}
