import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A range of a POSIX shared-memory object (`shm_open` + `mmap`, read and write, shared), unmapped in `deinit`.
/// The descriptor stays open so that every access first checks that the object still covers the range: a client
/// that shrinks the object (`ftruncate`) gets an error instead of the server a SIGBUS.
package final class SystemSharedMemory: SharedMemoryBacking, @unchecked Sendable {
    package let key: String
    package let offset: Int
    package let byteSize: Int
    /// The mapping's start (page-aligned, at or before `offset`) and length.
    private let mapping: UnsafeMutableRawPointer
    private let mappedLength: Int
    /// The region's first byte inside the mapping.
    private let base: UnsafeMutableRawPointer
    private let descriptor: Int32

    /// Mappings alive in the process, for tests (a region unregistered while a request holds it stays mapped).
    package static let live = Atomic<Int>(0)

    /// Opens object `key` and maps `byteSize` bytes from `offset`; `name` is the region's, for messages.
    package init(name: String, key: String, offset: Int, byteSize: Int) throws(ServeError) {
        guard Self.validKey(key) else {
            throw ServeError(
                400,
                "Unable to open shared memory region: '\(key)' (a key is '/' and up to 254 characters, no other '/')")
        }
        guard offset >= 0, byteSize > 0 else {
            throw ServeError(
                400,
                "failed to register shared memory region '\(name)': invalid args (offset \(offset), byte_size \(byteSize): offset 0 or more, byte_size 1 or more)"
            )
        }
        let fd = shm_open(key, O_RDWR, 0)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ServeError(400, "Unable to open shared memory region: '\(key)' (\(reason))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw ServeError(400, "Invalid shared memory region: '\(key)'")
        }
        let objectSize = Int(info.st_size)
        let (end, overflow) = offset.addingReportingOverflow(byteSize)
        guard !overflow, end <= objectSize else {
            close(fd)
            throw ServeError(
                400,
                "failed to register shared memory region '\(name)': invalid args (offset \(offset) + byte_size \(byteSize) is past the end of '\(key)', \(objectSize) bytes)"
            )
        }
        // mmap takes a page-aligned offset: map from the page that holds `offset`.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let aligned = offset - offset % page
        let length = byteSize + (offset - aligned)
        let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(aligned))
        guard let pointer, pointer != MAP_FAILED else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServeError(400, "failed to register shared memory region '\(name)': mmap of '\(key)': \(reason)")
        }
        self.key = key
        self.offset = offset
        self.byteSize = byteSize
        self.mapping = pointer
        self.mappedLength = length
        self.base = pointer + (offset - aligned)
        self.descriptor = fd
        Self.live.add(1, ordering: .relaxed)
    }

    deinit {
        munmap(mapping, mappedLength)
        close(descriptor)
        Self.live.subtract(1, ordering: .relaxed)
    }

    /// Whether `key` is a name `shm_open` takes as one object under /dev/shm: an optional leading '/', then 1 to 254
    /// characters without '/' or NUL, and not "." or "..".
    static func validKey(_ key: String) -> Bool {
        var name = Substring(key)
        if name.first == "/" { name.removeFirst() }
        return !name.isEmpty && name.utf8.count <= 254 && name != "." && name != ".."
            && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    /// Throws unless the object still covers the mapped range.
    private func checkObject() throws(ServeError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int(info.st_size) >= offset + byteSize else {
            throw ServeError(
                400, "shared memory object '\(key)' no longer holds \(offset + byteSize) bytes (truncated by its owner)"
            )
        }
    }

    package func read(offset: Int, count: Int, into destination: UnsafeMutableRawBufferPointer) throws(ServeError) {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteSize && destination.count >= count)
        guard count > 0 else { return }
        try checkObject()
        destination.baseAddress!.copyMemory(from: base + offset, byteCount: count)
    }

    package func write(_ source: UnsafeRawBufferPointer, offset: Int) throws(ServeError) {
        precondition(offset >= 0 && offset + source.count <= byteSize)
        guard source.count > 0 else { return }
        try checkObject()
        (base + offset).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }
}
