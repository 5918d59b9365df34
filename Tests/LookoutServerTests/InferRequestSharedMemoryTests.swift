import LookoutCore
import Testing

@testable import LookoutServer

@Suite(.serialized) struct InferRequestSharedMemoryTests {
    static func status(_ body: () throws -> Void) -> Int? {
        do {
            try body()
            return nil
        } catch { return (error as? ServeError)?.status ?? -1 }
    }

    static func request(_ json: String, _ registry: SharedMemoryRegistry?) throws -> InferRequest {
        try InferRequest(body: Array(json.utf8), headerLength: nil, sharedMemory: registry)
    }

    static let input =
        #"{"inputs":[{"name":"x","datatype":"INT16","shape":[2],"parameters":{"shared_memory_region":"r","shared_memory_byte_size":4,"shared_memory_offset":OFFSET}}]}"#

    @Test func anInputIsReadFromItsRegion() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "r", key: object.key, offset: 100, byteSize: 50)
        let request = try Self.request(Self.input.replacingOffset(6), registry)
        #expect(request.inputs[0].raw == [106, 107, 108, 109])
    }

    @Test(arguments: [-1, 47, 1 << 62])
    func anInputPastItsRegionIsRefused(offset: Int) throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "r", key: object.key, offset: 0, byteSize: 50)
        #expect(Self.status { _ = try Self.request(Self.input.replacingOffset(offset), registry) } == 400)
    }

    @Test func sizeShapeAndDisabledAreChecked() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "r", key: object.key, offset: 0, byteSize: 50)
        let wrongSize = Self.input.replacingOffset(0).replacing(
            #""shared_memory_byte_size":4"#, with: #""shared_memory_byte_size":6"#)
        #expect(Self.status { _ = try Self.request(wrongSize, registry) } == 400)
        let halfGiven = Self.input.replacingOffset(0).replacing(#""shared_memory_byte_size":4,"#, with: "")
        #expect(Self.status { _ = try Self.request(halfGiven, registry) } == 400)
        let withData = Self.input.replacingOffset(0).replacing(#""shape":[2],"#, with: #""shape":[2],"data":[1,2],"#)
        #expect(Self.status { _ = try Self.request(withData, registry) } == 400)
        #expect(Self.status { _ = try Self.request(Self.input.replacingOffset(0), nil) } == 400)
        #expect(
            Self.status { _ = try Self.request(Self.input.replacingOffset(0), SharedMemoryRegistry(allowed: false)) }
                == 400)
    }

    @Test func anOutputLocationIsCheckedBeforeTheModelRuns() throws {
        let object = TestSharedMemoryObject(size: 4_096)
        let registry = SharedMemoryRegistry(allowed: true)
        try registry.registerSystem(name: "o", key: object.key, offset: 0, byteSize: 16)
        func json(_ parameters: String) -> String {
            #"{"inputs":[{"name":"x","datatype":"UINT8","shape":[1],"data":[1]}],"outputs":[{"name":"count","parameters":{"#
                + parameters + "}}]}"
        }
        let ok = try Self.request(
            json(#""shared_memory_region":"o","shared_memory_byte_size":8,"shared_memory_offset":8"#), registry)
        #expect(ok.outputs?[0].sharedMemory == SharedMemoryTensor(region: "o", offset: 8, byteSize: 8))
        #expect(
            Self.status {
                _ = try Self.request(
                    json(#""shared_memory_region":"o","shared_memory_byte_size":9,"shared_memory_offset":8"#), registry)
            } == 400)
        #expect(
            Self.status {
                _ = try Self.request(json(#""shared_memory_region":"p","shared_memory_byte_size":4"#), registry)
            } == 400)
    }
}

extension String {
    fileprivate func replacingOffset(_ offset: Int) -> String { replacing("OFFSET", with: String(offset)) }
}
