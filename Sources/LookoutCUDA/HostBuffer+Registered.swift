import CLookoutCUDA

#if canImport(Glibc)
    import Glibc
#endif

extension HostBuffer {
    /// Ordinary page-aligned memory, then page-locked and mapped with `cuMemHostRegister`: the path for memory
    /// that something else allocates (a decoder's output, say). Unregistered, then freed, on release.
    /// `hugePages` asks the kernel for transparent 2 MiB pages (aligned and rounded to 2 MiB, `MADV_HUGEPAGE`,
    /// touched before registering); `processHugePageBytes()` before and after tells how much the kernel granted.
    package static func registered(byteCount: Int, context: CUDAContext, hugePages: Bool = false) throws(CUDAError)
        -> HostBuffer
    {
        precondition(byteCount > 0, "a host buffer holds at least one byte")
        let alignment = hugePages ? hugePageSize : pageSize
        let rounded = (byteCount + alignment - 1) / alignment * alignment
        var pointer: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&pointer, alignment, rounded) == 0, let pointer else {
            fatalError("out of host memory allocating \(byteCount) bytes")
        }
        if hugePages {
            #if os(Linux)
                _ = madvise(pointer, rounded, MADV_HUGEPAGE)
            #endif
            pointer.initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
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
        return HostBuffer(
            kind: .registered, byteCount: byteCount, base: pointer, context: context, devicePointer: devicePointer)
    }
}

extension HostBuffer {
    /// The transparent huge page size on x86-64 Linux.
    package static let hugePageSize = 2 << 20

    /// Bytes of this process's anonymous memory the kernel backs with transparent huge pages (`AnonHugePages` of
    /// /proc/self/smaps_rollup), nil where that file is missing: compared before and after an allocation, whether
    /// `hugePages` was granted.
    package static func processHugePageBytes() -> Int? {
        guard let file = fopen("/proc/self/smaps_rollup", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("AnonHugePages:") else { continue }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }
}
