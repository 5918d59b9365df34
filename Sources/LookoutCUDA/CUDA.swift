import CLookoutCUDA
import LookoutCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The entry point: finds and loads the CUDA driver at run time.
package enum CUDA {
    /// The variable that names a folder, a file, or a colon-separated list of them, searched first for every
    /// NVIDIA library Lookout loads.
    package static let pathVariable = "LOOKOUT_CUDA_PATH"

    /// Where `libcuda` is looked for, given an environment (tests pass a fake one).
    package static func driverSearch(environment: [String: String] = SystemInfo.environmentVariables) -> LibrarySearch {
        LibrarySearch(
            library: "CUDA driver (libcuda)", names: ["libcuda.so.1", "libcuda.so"], overrideVariable: pathVariable,
            folderPatterns: LibrarySearch.standardFolders(environment: environment), environment: environment)
    }

    private static let cached = Mutex<Result<CUDADriver, CUDAUnavailable>?>(nil)

    /// Loads and initialises the driver once per process; later calls return the same result.
    package static func load() -> Result<CUDADriver, CUDAUnavailable> {
        cached.withLock { state in
            if let state { return state }
            let result = load(search: driverSearch())
            state = result
            return result
        }
    }

    /// Loads the driver from an explicit search (no caching): for tests and for `--device cuda` diagnostics.
    package static func load(search: LibrarySearch) -> Result<CUDADriver, CUDAUnavailable> {
        let library: DynamicLibrary
        switch search.load() {
        case .success(let loaded): library = loaded
        case .failure(let notFound): return .failure(CUDAUnavailable(reason: .libraryNotFound(notFound)))
        }
        let api: DriverAPI
        switch DriverAPI.load(from: library) {
        case .success(let loaded): api = loaded
        case .failure(let missing): return .failure(CUDAUnavailable(reason: .symbolsMissing(missing)))
        }
        let status = api.cuInit(0)
        if status != 0 {
            return .failure(
                CUDAUnavailable(reason: .initFailed(path: library.path, error: api.error(status, call: "cuInit"))))
        }
        var version: Int32 = 0
        _ = api.cuDriverGetVersion(&version)
        var count: Int32 = 0
        _ = api.cuDeviceGetCount(&count)
        if count == 0 {
            return .failure(CUDAUnavailable(reason: .noDevice(path: library.path)))
        }
        let path = library.resolvedPath()
        return .success(CUDADriver(library: library, path: path, api: api, version: version, deviceCount: Int(count)))
    }
}

/// CUDA cannot be used on this machine; the description is one line saying what was tried.
package struct CUDAUnavailable: Error, CustomStringConvertible, Sendable {
    package enum Reason: Sendable {
        case libraryNotFound(LibraryNotFound)
        case symbolsMissing(DriverSymbolsMissing)
        case initFailed(path: String, error: CUDAError)
        case noDevice(path: String)
        case badOrdinal(path: String, ordinal: Int, count: Int)
    }
    package let reason: Reason

    package var description: String {
        switch reason {
        case .libraryNotFound(let notFound): return notFound.description
        case .symbolsMissing(let missing): return missing.description
        case .initFailed(let path, let error):
            return "CUDA driver \(path) loaded but cuInit failed: \(error.name): \(error.message)"
        case .noDevice(let path): return "CUDA driver \(path) loaded but reports no GPU"
        case .badOrdinal(let path, let ordinal, let count):
            return
                "cuda:\(ordinal) does not exist: CUDA driver \(path) reports \(count) GPU\(count == 1 ? "" : "s") (cuda:0…cuda:\(count - 1))"
        }
    }
}

/// Counts of CUDA memory allocations (device, pinned, mapped, registered, managed) made by this process through
/// Lookout, for the benchmarks' "allocations per frame".
package enum CUDAAllocationCounter {
    static let counter = Atomic<Int>(0)
    /// Every allocation or registration since the process started.
    package static var count: Int { counter.load(ordering: .relaxed) }
    @inline(__always) static func increment() { counter.add(1, ordering: .relaxed) }
}
