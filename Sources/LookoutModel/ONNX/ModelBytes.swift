#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bytes of a model file: memory-mapped read-only from disk, or an owned copy of in-memory data.
/// Initializer payloads are slices of these bytes until a backend converts them (the one copy of the weights).
package final class ModelBytes: @unchecked Sendable {
    // Immutable after init; the memory is never written, so sharing across threads is safe.
    let base: UnsafeRawPointer
    package let count: Int
    private let mapped: Bool

    /// Maps `path` read-only. Errors name the path and the system's reason.
    package init(mappingFile path: String) throws(ModelError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelError(.unreadable, "cannot open: \(ModelBytes.errnoText())", file: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ModelError(.unreadable, "cannot stat: \(ModelBytes.errnoText())", file: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelError(.unreadable, "not a regular file", file: path)
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw ModelError(.malformed, "not a valid ONNX model: the file is empty", file: path) }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw ModelError(.unreadable, "cannot map: \(ModelBytes.errnoText())", file: path)
        }
        self.base = UnsafeRawPointer(pointer)
        self.count = size
        self.mapped = true
    }

    /// Copies `bytes` into memory owned by this object.
    package init(copying bytes: some Collection<UInt8>) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        // One memcpy for arrays and Data; byte by byte only for collections without contiguous storage.
        let copied: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            if let base = buffer.baseAddress { storage.copyMemory(from: base, byteCount: buffer.count) }
        }
        if copied == nil {
            var i = 0
            for byte in bytes {
                storage.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
                i += 1
            }
        }
        self.base = UnsafeRawPointer(storage)
        self.count = bytes.count
        self.mapped = false
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// Lends the bytes for the duration of `body`.
    package func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
