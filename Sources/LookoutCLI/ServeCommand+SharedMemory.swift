import LookoutCUDA
import LookoutServer
import Synchronization

extension ServeCommand {
    /// The registry of client shared memory (`--allow-client-shm`): system regions always, CUDA regions when the
    /// device resolves to a GPU.
    static func sharedMemoryRegistry(allowed: Bool, device: DeviceRequest) -> SharedMemoryRegistry {
        guard allowed, case .success(.cuda(let driver, _)) = device.resolve() else {
            return SharedMemoryRegistry(allowed: allowed)
        }
        let contexts = IPCContexts(driver: driver)
        return SharedMemoryRegistry(allowed: true) { name, handle, deviceID, byteSize throws(ServeError) in
            try contexts.open(name: name, handle: handle, deviceID: deviceID, byteSize: byteSize)
        }
    }
}

/// The primary context of each GPU a CUDA region was registered on, retained for the life of the server.
private final class IPCContexts: Sendable {
    let driver: CUDADriver
    let contexts = Mutex<[Int: CUDAContext]>([:])

    init(driver: CUDADriver) { self.driver = driver }

    func open(name: String, handle: [UInt8], deviceID: Int, byteSize: Int) throws(ServeError)
        -> any SharedMemoryBacking
    {
        guard deviceID < driver.deviceCount else {
            throw ServeError(
                400,
                "failed to register CUDA shared memory region '\(name)': device_id \(deviceID), the host has \(driver.deviceCount) GPUs"
            )
        }
        do throws(CUDAError) {
            let context = try contexts.withLock { (contexts) throws(CUDAError) in
                if let context = contexts[deviceID] { return context }
                let context = try CUDAContext(driver: driver, ordinal: deviceID)
                contexts[deviceID] = context
                return context
            }
            return CUDASharedMemory(try IPCMemory(context: context, handle: handle, byteCount: byteSize))
        } catch {
            throw ServeError(
                400, "failed to register CUDA shared memory region '\(name)': failed to open CUDA IPC handle: \(error)")
        }
    }
}

/// A CUDA region: device memory of another process, read and written with synchronous copies (an input is copied
/// to host memory before the model runs; the detector's letterbox does not read device memory in place yet).
private final class CUDASharedMemory: SharedMemoryBacking, Sendable {
    let memory: IPCMemory
    var byteSize: Int { memory.byteCount }

    init(_ memory: IPCMemory) { self.memory = memory }

    func read(offset: Int, count: Int, into destination: UnsafeMutableRawBufferPointer) throws(ServeError) {
        do {
            try memory.read(offset: offset, into: UnsafeMutableRawBufferPointer(rebasing: destination[0..<count]))
        } catch { throw ServeError(400, "CUDA shared memory: \(error)") }
    }

    func write(_ source: UnsafeRawBufferPointer, offset: Int) throws(ServeError) {
        do { try memory.write(source, offset: offset) } catch { throw ServeError(400, "CUDA shared memory: \(error)") }
    }
}
