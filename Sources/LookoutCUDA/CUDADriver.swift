import CLookoutCUDA

/// The loaded, initialised CUDA driver: the process-wide table of entry points and what it reports.
public final class CUDADriver: Sendable {
    /// The file `libcuda` was loaded from.
    public let path: String
    /// The driver's CUDA version as `1000 * major + 10 * minor` (e.g. 13000).
    public let version: Int
    public let deviceCount: Int
    /// How the entry points were resolved.
    public var resolution: String { api.resolution }
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
    public var versionString: String { "\(version / 1000).\(version % 1000 / 10)" }

    /// The device at `ordinal` (0-based), with its name and capabilities.
    public func device(_ ordinal: Int) throws(CUDAError) -> CUDADevice {
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
            ordinal: ordinal, handle: handle, name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
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
public struct CUDADevice: Sendable, CustomStringConvertible {
    /// Device attributes Lookout reads (`CUdevice_attribute` values).
    public struct Attribute: Sendable {
        public let rawValue: Int32
        public init(_ rawValue: Int32) { self.rawValue = rawValue }
        public static let multiprocessorCount = Attribute(16)
        public static let canMapHostMemory = Attribute(19)
        public static let asyncEngineCount = Attribute(40)
        public static let unifiedAddressing = Attribute(41)
        public static let computeCapabilityMajor = Attribute(75)
        public static let computeCapabilityMinor = Attribute(76)
        public static let managedMemory = Attribute(83)
        public static let concurrentManagedAccess = Attribute(89)
    }

    public let ordinal: Int
    let handle: LookoutCUdevice
    public let name: String
    public let totalMemory: Int
    public let computeCapability: (major: Int, minor: Int)
    public let multiprocessors: Int
    public let canMapHostMemory: Bool
    public let managedMemory: Bool
    public let concurrentManagedAccess: Bool
    public let asyncEngines: Int
    public let unifiedAddressing: Bool

    /// "sm_90".
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    public var description: String {
        "\(name) (cuda:\(ordinal), \(architecture), \(totalMemory >> 20) MiB, \(multiprocessors) SMs)"
    }
}
