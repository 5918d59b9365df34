import Testing

@testable import LookoutServer

#if canImport(Glibc)
    import Glibc
#endif

/// A POSIX shared-memory object of `size` bytes filled with 0, 1, 2, …, unlinked when the value goes.
final class TestSharedMemoryObject {
    let key: String
    let size: Int

    init(size: Int) {
        key = "/lookout-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        self.size = size
        let fd = shm_open(key, O_CREAT | O_EXCL | O_RDWR, 0o600)
        precondition(fd >= 0, "shm_open \(key)")
        precondition(ftruncate(fd, off_t(size)) == 0)
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, size, 0) }
        close(fd)
    }

    /// The object's bytes as another process would see them.
    func contents() -> [UInt8] {
        let fd = shm_open(key, O_RDONLY, 0)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        _ = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        return bytes
    }

    func truncate(to size: Int) {
        let fd = shm_open(key, O_RDWR, 0)
        precondition(ftruncate(fd, off_t(size)) == 0)
        close(fd)
    }

    deinit { shm_unlink(key) }
}

@Suite(.serialized) struct SharedMemoryRegistryTests {
    static func status(_ body: () throws -> Void) -> Int? {
        do {
            try body()
            return nil
        } catch { return (error as? ServeError)?.status ?? -1 }
    }

    @Test func readsAndWritesInsideTheRegisteredRange() throws {
        let object = TestSharedMemoryObject(size: 10_000)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "in", key: object.key, offset: 4_100, byteSize: 1_000)
        #expect(try registry.read("in", offset: 0, size: 4) == [4, 5, 6, 7])  // 4100 % 256 = 4
        #expect(try registry.read("in", offset: 996, size: 4) == [232, 233, 234, 235])
        try registry.write([9, 9, 9], to: "in", offset: 10, capacity: 3)
        #expect(Array(object.contents()[4_110..<4_114]) == [9, 9, 9, 17])
        let listed = try registry.status(nil, kind: .system)
        #expect(listed.map(\.name) == ["in"])
        #expect(listed[0].kind == .system(key: object.key, offset: 4_100))
        #expect(listed[0].byteSize == 1_000)
    }

    @Test(arguments: [(0, 1_001), (1, 1_000), (-1, 2), (5, -1), (Int.max, 1), (1_000, 1)])
    func refusesRangesPastTheRegion(offset: Int, size: Int) throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "r", key: object.key, offset: 0, byteSize: 1_000)
        #expect(Self.status { _ = try registry.read("r", offset: offset, size: size) } == 400)
        #expect(
            Self.status {
                try registry.write([1], to: "r", offset: offset, capacity: size)
            } == 400)
        #expect(try registry.read("r", offset: 1_000, size: 0) == [])
    }

    @Test func refusesAnOutputLargerThanItsCapacity() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "out", key: object.key, offset: 0, byteSize: 100)
        #expect(
            Self.status { try registry.write([1, 2, 3], to: "out", offset: 0, capacity: 2) }
                == 400)
    }

    @Test(arguments: [(0, 4_097), (4_000, 97), (4_096, 1), (-1, 10), (0, 0), (Int.max, Int.max)])
    func refusesARegionPastTheObject(offset: Int, byteSize: Int) throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        #expect(
            Self.status {
                try registry.registerSystem(name: "r", key: object.key, offset: offset, byteSize: byteSize)
            } == 400)
        #expect(try registry.status(nil, kind: .system).isEmpty)
    }

    @Test(arguments: ["", "/", "/a/b", "../x", "/..", "/lookout-no-such-object-\(getpid())"])
    func refusesBadKeys(key: String) {
        let registry = SharedMemoryRegistry(allowed: true)
        #expect(
            Self.status {
                try registry.registerSystem(name: "r", key: key, offset: 0, byteSize: 1)
            }
                == 400)
    }

    @Test func namesAreUniqueAcrossBothKinds() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "a", key: object.key, offset: 0, byteSize: 10)
        #expect(
            Self.status {
                try registry.registerSystem(name: "a", key: object.key, offset: 0, byteSize: 10)
            }
                == 400)
        // The same object under another name and range is fine.
        try registry.registerSystem(name: "b", key: object.key, offset: 10, byteSize: 10)
        #expect(try registry.status(nil, kind: .system).map(\.name) == ["a", "b"])
    }

    @Test func disabledRefusesEveryRegistration() {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: false)
        do {
            try registry.registerSystem(name: "a", key: object.key, offset: 0, byteSize: 10)
            Issue.record("registered while disabled")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("--allow-client-shm=true"))
        }
    }

    @Test func cudaWithoutAGPUSaysSo() {
        let registry = SharedMemoryRegistry(allowed: true)
        do {
            try registry.registerCUDA(name: "g", handle: [UInt8](repeating: 0, count: 64), deviceID: 0, byteSize: 16)
            Issue.record("registered CUDA memory without a GPU")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("--device cuda"))
        }
    }

    @Test func unknownRegionsAndKindsAreErrors() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        #expect(Self.status { _ = try registry.read("none", offset: 0, size: 1) } == 400)
        #expect(Self.status { _ = try registry.status("none", kind: .system) } == 400)
        try registry.unregister("none", kind: .system)  // as in Triton: not an error
        try registry.registerSystem(name: "a", key: object.key, offset: 0, byteSize: 10)
        #expect(Self.status { _ = try registry.status("a", kind: .cuda) } == 400)
        #expect(Self.status { try registry.unregister("a", kind: .cuda) } == 400)
        #expect(try registry.status(nil, kind: .cuda).isEmpty)
    }

    @Test func unregisterUnmapsUnlessARequestHoldsTheRegion() throws {
        let object = TestSharedMemoryObject(size: 8_192)
        let registry = SharedMemoryRegistry(allowed: true)
        let before = SystemSharedMemory.live.load(ordering: .relaxed)
        try registry.registerSystem(name: "a", key: object.key, offset: 0, byteSize: 100)
        try registry.registerSystem(name: "b", key: object.key, offset: 100, byteSize: 100)
        #expect(SystemSharedMemory.live.load(ordering: .relaxed) == before + 2)
        do {
            let held = try registry.region("a")
            try registry.unregister("a", kind: .system)
            #expect(Self.status { _ = try registry.read("a", offset: 0, size: 1) } == 400)
            // Still mapped for the request that holds it.
            #expect(SystemSharedMemory.live.load(ordering: .relaxed) == before + 2)
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 1)
            defer { raw.deallocate() }
            try held.backing.read(offset: 1, count: 3, into: raw)
            #expect(Array(raw) == [1, 2, 3])
        }
        #expect(SystemSharedMemory.live.load(ordering: .relaxed) == before + 1)
        try registry.unregister(nil, kind: .system)
        #expect(SystemSharedMemory.live.load(ordering: .relaxed) == before)
        #expect(try registry.status(nil, kind: .system).isEmpty)
    }

    @Test func aTruncatedObjectIsAnErrorNotACrash() throws {
        let object = TestSharedMemoryObject(size: 8_192)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "a", key: object.key, offset: 4_096, byteSize: 4_096)
        object.truncate(to: 100)
        #expect(Self.status { _ = try registry.read("a", offset: 0, size: 16) } == 400)
        #expect(
            Self.status { try registry.write([1], to: "a", offset: 0, capacity: 1) } == 400)
    }
}
