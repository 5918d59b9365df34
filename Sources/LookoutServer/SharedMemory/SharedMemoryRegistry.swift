import Synchronization

/// The shared-memory regions clients registered (Triton's system and CUDA shared-memory extensions), for every
/// protocol front end: HTTP and gRPC call the same methods and turn a `ServeError`'s status into their own.
///
/// System and CUDA regions share one namespace of names, as in Triton. A region is a reference-counted object: a
/// request takes it with `region(_:)` and keeps it for as long as it reads or writes, so unregistering it (or
/// shutting down) while a request runs removes the name at once but unmaps the memory only when that request lets go.
/// Off unless `allowed` (Triton's `--allow-client-shm`, off by default): then every register is refused.
package final class SharedMemoryRegistry: Sendable {
    /// Opens device memory from a 64-byte CUDA IPC handle on GPU `deviceID`, `byteSize` bytes.
    package typealias CUDAOpener =
        @Sendable (_ name: String, _ handle: [UInt8], _ deviceID: Int, _ byteSize: Int) throws(ServeError) ->
        any SharedMemoryBacking

    /// Whether clients may register regions at all.
    package let allowed: Bool
    /// How CUDA regions are opened; nil when the server runs without a GPU.
    private let cudaOpener: CUDAOpener?
    private let regions = Mutex<[String: SharedMemoryRegion]>([:])

    /// The flag that enables client shared memory, for messages.
    package static let enableHint = "start lookout serve with --allow-client-shm=true"

    package init(allowed: Bool, cudaOpener: CUDAOpener? = nil) {
        self.allowed = allowed
        self.cudaOpener = cudaOpener
    }

    /// Whether CUDA regions can be registered (allowed and a GPU is in use).
    package var cudaAvailable: Bool { allowed && cudaOpener != nil }

    // MARK: Registration

    /// Registers `byteSize` bytes of the POSIX shared-memory object `key` from `offset` as region `name`.
    package func registerSystem(name: String, key: String, offset: Int, byteSize: Int) throws(ServeError) {
        try checkAllowed()
        try checkFree(name)
        let memory = try SystemSharedMemory(name: name, key: key, offset: offset, byteSize: byteSize)
        try insert(SharedMemoryRegion(name: name, kind: .system(key: key, offset: offset), backing: memory))
    }

    /// Registers device memory from a CUDA IPC handle (`cudaIpcGetMemHandle`'s 64 bytes) of GPU `deviceID`.
    package func registerCUDA(name: String, handle: [UInt8], deviceID: Int, byteSize: Int) throws(ServeError) {
        try checkAllowed()
        guard let cudaOpener else {
            throw ServeError(400, "CUDA shared memory needs a GPU: start lookout serve with --device cuda")
        }
        try checkFree(name)
        guard handle.count == 64 else {
            throw ServeError(
                400,
                "failed to register CUDA shared memory region '\(name)': raw_handle is \(handle.count) bytes, a CUDA IPC handle is 64"
            )
        }
        guard deviceID >= 0, byteSize > 0 else {
            throw ServeError(
                400,
                "failed to register CUDA shared memory region '\(name)': invalid args (device_id \(deviceID), byte_size \(byteSize))"
            )
        }
        let memory = try cudaOpener(name, handle, deviceID, byteSize)
        try insert(SharedMemoryRegion(name: name, kind: .cuda(deviceID: deviceID), backing: memory))
    }

    /// Removes region `name` of `kind`, or every region of `kind` when `name` is nil. An unknown name is not an
    /// error (as in Triton); a name of the other kind is. Memory in use by a request is released when it finishes.
    package func unregister(_ name: String?, kind: SharedMemoryKind) throws(ServeError) {
        let removed: [SharedMemoryRegion] = try regions.withLock { (regions) throws(ServeError) in
            guard let name else {
                let matching = regions.values.filter { kind.matches($0.kind) }
                for region in matching { regions[region.name] = nil }
                return matching
            }
            guard let region = regions[name] else { return [] }
            guard kind.matches(region.kind) else { throw Self.otherKind(region, asked: kind) }
            regions[name] = nil
            return [region]
        }
        // The mappings go (unless a request holds them) outside the lock, once `removed` is released.
        _ = removed
    }

    /// Removes every region of both kinds (at shutdown).
    package func unregisterAll() {
        let removed = regions.withLock { regions in
            defer { regions.removeAll() }
            return Array(regions.values)
        }
        _ = removed
    }

    // MARK: Status

    /// The regions of `kind`, sorted by name; only `name` when given (unknown: an error).
    package func status(_ name: String?, kind: SharedMemoryKind) throws(ServeError) -> [SharedMemoryRegion] {
        try regions.withLock { (regions) throws(ServeError) in
            guard let name else { return regions.values.filter { kind.matches($0.kind) }.sorted { $0.name < $1.name } }
            guard let region = regions[name] else {
                throw ServeError(400, "Unable to find \(kind.label) shared memory region: '\(name)'")
            }
            guard kind.matches(region.kind) else { throw Self.otherKind(region, asked: kind) }
            return [region]
        }
    }

    // MARK: Data

    /// Region `name`, held by the caller for as long as it keeps the value (its memory stays mapped meanwhile).
    package func region(_ name: String) throws(ServeError) -> SharedMemoryRegion {
        guard let region = regions.withLock({ $0[name] }) else {
            throw ServeError(400, "Unable to find shared memory region: '\(name)'")
        }
        return region
    }

    /// `size` bytes of region `name` from `offset`; `what` names the tensor in messages ("input 'images'").
    package func read(_ name: String, offset: Int, size: Int, for what: String = "data") throws(ServeError) -> [UInt8] {
        let region = try region(name)
        try Self.checkRange(region, offset: offset, size: size, for: what)
        var failure: ServeError? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            do throws(ServeError) {
                try region.backing.read(offset: offset, count: size, into: UnsafeMutableRawBufferPointer(buffer))
                count = size
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Writes `bytes` into region `name` at `offset`; `capacity` is the size the client gave for them
    /// (`shared_memory_byte_size`), which must hold them.
    package func write(_ bytes: [UInt8], to name: String, offset: Int, capacity: Int, for what: String = "data")
        throws(ServeError)
    {
        let region = try region(name)
        try Self.checkRange(region, offset: offset, size: capacity, for: what)
        guard bytes.count <= capacity else {
            throw ServeError(
                400,
                "shared memory size specified with the request for \(what) (\(capacity) bytes) should be at least \(bytes.count) bytes to hold the results"
            )
        }
        let failure: ServeError? = bytes.withUnsafeBytes { raw in
            do throws(ServeError) {
                try region.backing.write(raw, offset: offset)
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Throws unless `offset ..< offset + size` lies in the region (both 0 or more, no overflow).
    package static func checkRange(_ region: SharedMemoryRegion, offset: Int, size: Int, for what: String)
        throws(ServeError)
    {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard offset >= 0, size >= 0, !overflow, end <= region.byteSize else {
            throw ServeError(
                400,
                "\(what): shared memory offset \(offset) and byte size \(size) are out of bounds of region '\(region.name)' (\(region.byteSize) bytes)"
            )
        }
    }

    // MARK: Helpers

    private func checkAllowed() throws(ServeError) {
        guard allowed else { throw ServeError(400, "client shared memory is disabled: \(Self.enableHint)") }
    }

    private func checkFree(_ name: String) throws(ServeError) {
        guard !name.isEmpty, name.utf8.count <= 1024 else {
            throw ServeError(400, "a shared memory region's name must be 1 to 1024 bytes")
        }
        if regions.withLock({ $0[name] != nil }) {
            throw ServeError(400, "shared memory region '\(name)' already in manager")
        }
    }

    /// Adds `region` unless another request registered the same name meanwhile (then `region` is released).
    private func insert(_ region: SharedMemoryRegion) throws(ServeError) {
        let added = regions.withLock { regions in
            guard regions[region.name] == nil else { return false }
            regions[region.name] = region
            return true
        }
        guard added else { throw ServeError(400, "shared memory region '\(region.name)' already in manager") }
    }

    private static func otherKind(_ region: SharedMemoryRegion, asked: SharedMemoryKind) -> ServeError {
        ServeError(
            400,
            "the region named '\(region.name)' is registered as \(region.kind.label) shared memory, not \(asked.label) shared memory"
        )
    }
}
