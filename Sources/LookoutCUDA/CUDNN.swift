import CLookoutCUDA
import LookoutCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// cuDNN, loaded at run time: a convolution candidate the engine's tuner may choose per layer. Missing, it is
/// simply not used.
package final class CUDNN: Sendable {
    /// The variable that names where libcudnn is (a folder, a file, or a colon-separated list); the generic
    /// `LOOKOUT_CUDA_PATH` is searched too.
    package static let pathVariable = "LOOKOUT_CUDNN_PATH"

    package let path: String
    /// `cudnnGetVersion()`: 91400 for 9.14.0.
    package let version: Int
    let library: DynamicLibrary
    let api: CUDNNAPI

    init(library: DynamicLibrary, path: String, api: CUDNNAPI) {
        self.library = library
        self.path = path
        self.api = api
        self.version = Int(api.cudnnGetVersion())
    }

    /// "9.14.0" (cuDNN 9 numbers versions major · 10000 + minor · 100 + patch; cuDNN 8 used major · 1000).
    package var versionString: String { Self.versionString(version) }

    package static func versionString(_ version: Int) -> String {
        if version >= 90000 { return "\(version / 10000).\(version % 10000 / 100).\(version % 100)" }
        return "\(version / 1000).\(version % 1000 / 100).\(version % 100)"
    }

    /// Where libcudnn.so.9 is looked for: the override variables, the system linker path (the ld.so cache), the
    /// toolkit folders and the pip wheels (`nvidia/cudnn/lib`).
    package static func search(environment: [String: String] = SystemInfo.environmentVariables) -> LibrarySearch {
        LibrarySearch.toolkitLibrary(
            "cuDNN (libcudnn)", names: ["libcudnn.so.9"], variable: pathVariable, environment: environment)
    }

    private static let cached = Mutex<Result<CUDNN, CUDNNUnavailable>?>(nil)

    /// Loads cuDNN once per process; later calls return the same result.
    package static func load() -> Result<CUDNN, CUDNNUnavailable> {
        cached.withLock { state in
            if let state { return state }
            let result = load(search: search())
            state = result
            return result
        }
    }

    /// Loads cuDNN from an explicit search (no caching): for tests.
    package static func load(search: LibrarySearch) -> Result<CUDNN, CUDNNUnavailable> {
        switch search.load() {
        case .failure(let notFound): return .failure(CUDNNUnavailable(reason: .libraryNotFound(notFound)))
        case .success(let library):
            switch CUDNNAPI.load(from: library) {
            case .failure(let missing): return .failure(CUDNNUnavailable(reason: .symbolsMissing(missing)))
            case .success(let api):
                let cudnn = CUDNN(library: library, path: library.resolvedPath(), api: api)
                guard cudnn.version >= 90000 else {
                    return .failure(CUDNNUnavailable(reason: .tooOld(path: cudnn.path, version: cudnn.versionString)))
                }
                return .success(cudnn)
            }
        }
    }
}

/// cuDNN cannot be used; the description is one line saying what was tried.
package struct CUDNNUnavailable: Error, CustomStringConvertible, Sendable {
    package enum Reason: Sendable {
        case libraryNotFound(LibraryNotFound)
        case symbolsMissing(DriverSymbolsMissing)
        case tooOld(path: String, version: String)
        case handleFailed(CUDNNError)
    }
    package let reason: Reason

    package init(reason: Reason) { self.reason = reason }

    package var description: String {
        switch reason {
        case .libraryNotFound(let notFound): return notFound.description
        case .symbolsMissing(let missing):
            return "\(missing.library) lacks \(missing.symbols.joined(separator: ", ")): Lookout needs cuDNN 9"
        case .tooOld(let path, let version): return "\(path) is cuDNN \(version): Lookout needs cuDNN 9"
        case .handleFailed(let error): return "cudnnCreate failed: \(error)"
        }
    }
}
