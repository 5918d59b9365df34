import CLookoutCUDA

#if canImport(Glibc)
    import Glibc
#endif

/// Where a host buffer's memory comes from, which decides how the GPU can reach it.
package enum HostMemoryKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Ordinary `malloc`'d memory: copies are staged by the driver through its own pinned buffer.
    case pageable
    /// Page-locked (`cuMemHostAlloc`): the copy engine reads it directly, copies can be asynchronous.
    case pinned
    /// Page-locked and mapped into the device's address space: kernels read it in place over PCIe.
    case mapped
    /// Existing memory page-locked afterwards with `cuMemHostRegister` (mapped too).
    case registered
    /// Unified memory (`cuMemAllocManaged`): one address, pages migrate on demand or by prefetch.
    case managed

    package var description: String { rawValue }
    /// Whether this kind needs the CUDA driver.
    package var needsDriver: Bool { self != .pageable }
}

/// Host memory with a single owner, freed exactly once (by the means that match its kind) when the owner goes
/// away. Reach the bytes through `withUnsafeMutableBytes`.
package struct HostBuffer: ~Copyable, @unchecked Sendable {
    package let kind: HostMemoryKind
    package let byteCount: Int
    /// The device-side address of mapped, registered and managed memory (nil for pageable and pinned).
    package let devicePointer: DevicePointer?
    let base: UnsafeMutableRawPointer
    let context: CUDAContext?

    init(
        kind: HostMemoryKind, byteCount: Int, base: UnsafeMutableRawPointer, context: CUDAContext?,
        devicePointer: DevicePointer?
    ) {
        self.kind = kind
        self.byteCount = byteCount
        self.base = base
        self.context = context
        self.devicePointer = devicePointer
    }

    deinit {
        switch kind {
        case .pageable:
            free(base)
        case .pinned, .mapped:
            if let context {
                try? context.bind()
                _ = context.api.cuMemFreeHost(base)
            }
        case .registered:
            if let context {
                try? context.bind()
                _ = context.api.cuMemHostUnregister(base)
            }
            free(base)
        case .managed:
            if let context {
                try? context.bind()
                _ = context.api.cuMemFree(UInt64(UInt(bitPattern: base)))
                ManagedMemoryBudget.release(byteCount)
            }
        }
    }

    /// Any kind of buffer: `context` may be nil only for `.pageable`.
    package init(kind: HostMemoryKind, byteCount: Int, context: CUDAContext?) throws(CUDAError) {
        switch kind {
        case .pageable: self = HostBuffer.pageable(byteCount: byteCount)
        case .pinned: self = try HostBuffer.pinned(byteCount: byteCount, context: HostBuffer.require(context, kind))
        case .mapped: self = try HostBuffer.mapped(byteCount: byteCount, context: HostBuffer.require(context, kind))
        case .registered:
            self = try HostBuffer.registered(byteCount: byteCount, context: HostBuffer.require(context, kind))
        case .managed: self = try HostBuffer.managed(byteCount: byteCount, context: HostBuffer.require(context, kind))
        }
    }

    private static func require(_ context: CUDAContext?, _ kind: HostMemoryKind) -> CUDAContext {
        guard let context else { preconditionFailure("\(kind) host memory needs a CUDA context") }
        return context
    }

    @discardableResult
    package func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E)
        -> R
    {
        try body(UnsafeMutableRawBufferPointer(start: base, count: byteCount))
    }

    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: byteCount))
    }

    /// Host memory is page-aligned for every kind so that registration and DMA never split a page.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func roundedToPages(_ byteCount: Int) -> Int {
        (byteCount + pageSize - 1) / pageSize * pageSize
    }
}

extension HostBuffer {
    /// Ordinary page-aligned memory; no driver needed.
    package static func pageable(byteCount: Int) -> HostBuffer {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        var pointer: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&pointer, pageSize, roundedToPages(byteCount)) == 0, let pointer else {
            fatalError("out of host memory allocating \(byteCount) bytes")
        }
        return HostBuffer(kind: .pageable, byteCount: byteCount, base: pointer, context: nil, devicePointer: nil)
    }
}
