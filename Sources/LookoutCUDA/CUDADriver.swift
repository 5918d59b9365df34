import CLookoutCUDA

/// The loaded, initialised CUDA driver: the process-wide table of entry points and what it reports.
package final class CUDADriver: Sendable {
    /// The file `libcuda` was loaded from.
    package let path: String
    /// The driver's CUDA version as `1000 * major + 10 * minor` (e.g. 13000).
    package let version: Int
    package let deviceCount: Int
    /// How the entry points were resolved.
    package var resolution: String { api.resolution }
    let library: DynamicLibrary
    let api: DriverAPI

    init(library: DynamicLibrary, path: String, api: DriverAPI, version: Int32, deviceCount: Int) {
        self.library = library
        self.path = path
        self.api = api
        self.version = Int(version)
        self.deviceCount = deviceCount
    }

    /// "13.0".
    package var versionString: String { "\(version / 1000).\(version % 1000 / 10)" }

    /// The device at `ordinal` (0-based), with its name and capabilities.
    package func device(_ ordinal: Int) throws(CUDAError) -> CUDADevice {
        var handle: LookoutCUdevice = 0
        try api.check(api.cuDeviceGet(&handle, Int32(ordinal)), "cuDeviceGet")
        var name = [CChar](repeating: 0, count: 256)
        try api.check(api.cuDeviceGetName(&name, 255, handle), "cuDeviceGetName")
        var memory = 0
        try api.check(api.cuDeviceTotalMem(&memory, handle), "cuDeviceTotalMem")
        func attribute(_ attribute: CUDADevice.Attribute) throws(CUDAError) -> Int {
            var value: Int32 = 0
            try api.check(api.cuDeviceGetAttribute(&value, attribute.rawValue, handle), "cuDeviceGetAttribute")
            return Int(value)
        }
        return CUDADevice(
            ordinal: ordinal, handle: handle,
            name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            totalMemory: memory,
            computeCapability: (try attribute(.computeCapabilityMajor), try attribute(.computeCapabilityMinor)),
            multiprocessors: try attribute(.multiprocessorCount),
            canMapHostMemory: try attribute(.canMapHostMemory) != 0,
            managedMemory: try attribute(.managedMemory) != 0,
            concurrentManagedAccess: try attribute(.concurrentManagedAccess) != 0,
            asyncEngines: try attribute(.asyncEngineCount),
            unifiedAddressing: try attribute(.unifiedAddressing) != 0)
    }
}

/// One GPU as the driver describes it.
package struct CUDADevice: Sendable, CustomStringConvertible {
    /// Device attributes Lookout reads (`CUdevice_attribute` values).
    package struct Attribute: Sendable {
        package let rawValue: Int32
        package init(_ rawValue: Int32) { self.rawValue = rawValue }
        package static let multiprocessorCount = Attribute(16)
        package static let canMapHostMemory = Attribute(19)
        package static let asyncEngineCount = Attribute(40)
        package static let unifiedAddressing = Attribute(41)
        package static let computeCapabilityMajor = Attribute(75)
        package static let computeCapabilityMinor = Attribute(76)
        package static let managedMemory = Attribute(83)
        package static let concurrentManagedAccess = Attribute(89)
    }

    package let ordinal: Int
    let handle: LookoutCUdevice
    package let name: String
    package let totalMemory: Int
    package let computeCapability: (major: Int, minor: Int)
    package let multiprocessors: Int
    package let canMapHostMemory: Bool
    package let managedMemory: Bool
    package let concurrentManagedAccess: Bool
    package let asyncEngines: Int
    package let unifiedAddressing: Bool

    /// "sm_90".
    package var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    package var description: String {
        "\(name) (cuda:\(ordinal), \(architecture), \(totalMemory >> 20) MiB, \(multiprocessors) SMs)"
    }
}
