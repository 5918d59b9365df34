/// Memory a registered region lends: a mapped POSIX shared-memory object, or device memory opened from a CUDA IPC
/// handle. Offsets are relative to the region's start; the registry checks every range against `byteSize` before it
/// calls `read` or `write`. The memory is released when the last reference goes (`deinit`), so a request that holds
/// the region keeps it mapped after an unregister.
package protocol SharedMemoryBacking: AnyObject, Sendable {
    /// Bytes the region spans.
    var byteSize: Int { get }
    /// Copies `count` bytes from `offset` into `destination` (which holds at least `count` bytes).
    func read(offset: Int, count: Int, into destination: UnsafeMutableRawBufferPointer) throws(ServeError)
    /// Copies `source` to `offset`.
    func write(_ source: UnsafeRawBufferPointer, offset: Int) throws(ServeError)
}

/// A registered shared-memory region: its name, what the client registered it with, and the memory.
package struct SharedMemoryRegion: Sendable {
    /// How the region was registered.
    package enum Kind: Sendable, Equatable {
        /// A POSIX shared-memory object `key`, from `offset` in it.
        case system(key: String, offset: Int)
        /// Device memory of GPU `deviceID`, from a CUDA IPC handle.
        case cuda(deviceID: Int)

        /// "system" or "CUDA", for messages.
        package var label: String {
            switch self {
            case .system: "system"
            case .cuda: "CUDA"
            }
        }
    }

    package let name: String
    package let kind: Kind
    package let backing: any SharedMemoryBacking
    package var byteSize: Int { backing.byteSize }
}

/// The two kinds of region, as the protocol's endpoints name them.
package enum SharedMemoryKind: Sendable {
    case system
    case cuda

    func matches(_ kind: SharedMemoryRegion.Kind) -> Bool {
        switch (self, kind) {
        case (.system, .system), (.cuda, .cuda): true
        default: false
        }
    }

    /// "system" or "cuda", for messages (Triton's wording).
    var label: String {
        switch self {
        case .system: "system"
        case .cuda: "cuda"
        }
    }
}
