import LookoutCore

/// Where a tensor of an infer request lives in shared memory: the parameters `shared_memory_region`,
/// `shared_memory_byte_size` and `shared_memory_offset` (default 0) of an input or a requested output.
package struct SharedMemoryTensor: Sendable, Equatable {
    package var region: String
    package var offset: Int
    package var byteSize: Int

    package init(region: String, offset: Int, byteSize: Int) {
        self.region = region
        self.offset = offset
        self.byteSize = byteSize
    }

    /// The location in `parameters`, nil when they name no region; `what` names the tensor ("input 'images'").
    /// The region and the byte size go together, as in Triton.
    package init?(parameters: JSONValue?, what: String) throws(ServeError) {
        let region = parameters?["shared_memory_region"]
        let size = parameters?["shared_memory_byte_size"]
        let offset = parameters?["shared_memory_offset"]
        if region == nil && size == nil && offset == nil { return nil }
        guard let region, let size else {
            throw ServeError(
                400,
                "\(what): shared_memory_region and shared_memory_byte_size must be given together (shared_memory_offset is optional)"
            )
        }
        guard let name = region.stringValue else {
            throw ServeError(400, "\(what): shared_memory_region must be a string")
        }
        guard case .int(let byteSize) = size, byteSize >= 0 else {
            throw ServeError(400, "\(what): shared_memory_byte_size must be an integer, 0 or more")
        }
        var start = 0
        if let offset {
            guard case .int(let n) = offset, n >= 0 else {
                throw ServeError(400, "\(what): shared_memory_offset must be an integer, 0 or more")
            }
            start = n
        }
        self.init(region: name, offset: start, byteSize: byteSize)
    }

    /// The registry that holds the region, or why there is none.
    static func registry(_ registry: SharedMemoryRegistry?, what: String) throws(ServeError) -> SharedMemoryRegistry {
        guard let registry, registry.allowed else {
            throw ServeError(400, "\(what): client shared memory is disabled: \(SharedMemoryRegistry.enableHint)")
        }
        return registry
    }

    /// The tensor's bytes, read from its region.
    func read(_ registry: SharedMemoryRegistry?, what: String) throws(ServeError) -> [UInt8] {
        try Self.registry(registry, what: what).read(region, offset: offset, size: byteSize, for: what)
    }

    /// Throws unless the region exists and holds the range (before the model runs, so that a bad output location
    /// costs no inference).
    func check(_ registry: SharedMemoryRegistry?, what: String) throws(ServeError) {
        let found = try Self.registry(registry, what: what).region(region)
        try SharedMemoryRegistry.checkRange(found, offset: offset, size: byteSize, for: what)
    }

    /// Writes `bytes` into the region (at most `byteSize` of them).
    func write(_ bytes: [UInt8], _ registry: SharedMemoryRegistry?, what: String) throws(ServeError) {
        try Self.registry(registry, what: what).write(bytes, to: region, offset: offset, capacity: byteSize, for: what)
    }

}
