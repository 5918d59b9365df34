import CLookoutCUDA
import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// The NVRTC entry points Lookout calls, resolved with `dlsym` from `libnvrtc`.
struct NVRTCAPI: @unchecked Sendable {
    let nvrtcGetErrorString: LookoutPFN_nvrtcGetErrorString
    let nvrtcVersion: LookoutPFN_nvrtcVersion
    let nvrtcGetNumSupportedArchs: LookoutPFN_nvrtcGetNumSupportedArchs?
    let nvrtcGetSupportedArchs: LookoutPFN_nvrtcGetSupportedArchs?
    let nvrtcCreateProgram: LookoutPFN_nvrtcCreateProgram
    let nvrtcDestroyProgram: LookoutPFN_nvrtcDestroyProgram
    let nvrtcCompileProgram: LookoutPFN_nvrtcCompileProgram
    let nvrtcGetProgramLogSize: LookoutPFN_nvrtcGetProgramLogSize
    let nvrtcGetProgramLog: LookoutPFN_nvrtcGetProgramLog
    let nvrtcGetCUBINSize: LookoutPFN_nvrtcGetCUBINSize?
    let nvrtcGetCUBIN: LookoutPFN_nvrtcGetCUBIN?
    let nvrtcGetPTXSize: LookoutPFN_nvrtcGetPTXSize
    let nvrtcGetPTX: LookoutPFN_nvrtcGetPTX

    static func load(from library: DynamicLibrary) -> Result<NVRTCAPI, DriverSymbolsMissing> {
        let symbols = SymbolResolver(library)
        let api = NVRTCAPI(
            nvrtcGetErrorString: symbols.required("nvrtcGetErrorString", LookoutPFN_nvrtcGetErrorString.self),
            nvrtcVersion: symbols.required("nvrtcVersion", LookoutPFN_nvrtcVersion.self),
            nvrtcGetNumSupportedArchs: symbols.optional(
                "nvrtcGetNumSupportedArchs", LookoutPFN_nvrtcGetNumSupportedArchs.self),
            nvrtcGetSupportedArchs: symbols.optional("nvrtcGetSupportedArchs", LookoutPFN_nvrtcGetSupportedArchs.self),
            nvrtcCreateProgram: symbols.required("nvrtcCreateProgram", LookoutPFN_nvrtcCreateProgram.self),
            nvrtcDestroyProgram: symbols.required("nvrtcDestroyProgram", LookoutPFN_nvrtcDestroyProgram.self),
            nvrtcCompileProgram: symbols.required("nvrtcCompileProgram", LookoutPFN_nvrtcCompileProgram.self),
            nvrtcGetProgramLogSize: symbols.required("nvrtcGetProgramLogSize", LookoutPFN_nvrtcGetProgramLogSize.self),
            nvrtcGetProgramLog: symbols.required("nvrtcGetProgramLog", LookoutPFN_nvrtcGetProgramLog.self),
            nvrtcGetCUBINSize: symbols.optional("nvrtcGetCUBINSize", LookoutPFN_nvrtcGetCUBINSize.self),
            nvrtcGetCUBIN: symbols.optional("nvrtcGetCUBIN", LookoutPFN_nvrtcGetCUBIN.self),
            nvrtcGetPTXSize: symbols.required("nvrtcGetPTXSize", LookoutPFN_nvrtcGetPTXSize.self),
            nvrtcGetPTX: symbols.required("nvrtcGetPTX", LookoutPFN_nvrtcGetPTX.self))
        return symbols.result(api)
    }
}

/// A failed NVRTC call, with NVRTC's text for the code and, for compilations, the compiler's log.
package struct NVRTCError: Error, CustomStringConvertible, Sendable {
    package let code: Int32
    package let message: String
    package let call: String
    /// The compile log (errors with line numbers), empty for other calls.
    package let log: String

    package var description: String {
        var text = "\(call): \(message) (\(code))"
        if !log.isEmpty { text += "\n" + log }
        return text
    }
}

/// The loaded NVRTC library.
package final class NVRTC: Sendable {
    /// The variable that names where libnvrtc is (a folder, a file, or a colon-separated list); the generic
    /// `LOOKOUT_CUDA_PATH` is searched too.
    package static let pathVariable = "LOOKOUT_NVRTC_PATH"

    package let path: String
    /// (major, minor), e.g. (13, 0).
    package let version: (major: Int, minor: Int)
    /// Real architectures NVRTC can emit a cubin for, e.g. [75, 80, 86, 89, 90, 100, 120].
    package let supportedArchitectures: [Int]
    let library: DynamicLibrary
    let api: NVRTCAPI

    init(library: DynamicLibrary, path: String, api: NVRTCAPI) {
        self.library = library
        self.path = path
        self.api = api
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = api.nvrtcVersion(&major, &minor)
        self.version = (Int(major), Int(minor))
        var archs: [Int] = []
        if let count = api.nvrtcGetNumSupportedArchs, let list = api.nvrtcGetSupportedArchs {
            var n: Int32 = 0
            if count(&n) == 0, n > 0 {
                var values = [Int32](repeating: 0, count: Int(n))
                if list(&values) == 0 { archs = values.map(Int.init) }
            }
        }
        self.supportedArchitectures = archs
    }

    /// Where libnvrtc is looked for: the override variables, the system linker path, the toolkit and the pip
    /// wheels (`nvidia/cu13/lib`, `nvidia/cuda_nvrtc/lib`).
    package static func search(environment: [String: String] = SystemInfo.environmentVariables) -> LibrarySearch {
        LibrarySearch.toolkitLibrary(
            "NVRTC (libnvrtc)", names: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
            namePatterns: ["libnvrtc.so.1[0-9]*"], variable: pathVariable, environment: environment)
    }

    /// Loads NVRTC; the error's description is one line listing what was searched.
    package static func load(search: LibrarySearch = NVRTC.search()) -> Result<NVRTC, CUDAUnavailable> {
        switch search.load() {
        case .failure(let notFound):
            return .failure(CUDAUnavailable(reason: .libraryNotFound(notFound)))
        case .success(let library):
            preloadBuiltins(besides: library.resolvedPath())
            switch NVRTCAPI.load(from: library) {
            case .failure(let missing): return .failure(CUDAUnavailable(reason: .symbolsMissing(missing)))
            case .success(let api):
                return .success(NVRTC(library: library, path: library.resolvedPath(), api: api))
            }
        }
    }

    /// libnvrtc opens `libnvrtc-builtins.so.<version>` by name at the first compilation, through the dynamic
    /// linker's search only: from a folder outside it (a pip wheel, a toolkit not in ld.so.conf) that fails with
    /// NVRTC_ERROR_BUILTIN_OPERATION_FAILURE. Loading the builtins from libnvrtc's own folder first makes the later
    /// by-name open find the library already loaded.
    static func preloadBuiltins(besides nvrtcPath: String) {
        guard let slash = nvrtcPath.lastIndex(of: "/") else { return }
        let folder = String(nvrtcPath[..<slash])
        for builtins in LibrarySearch.glob("\(folder)/libnvrtc-builtins.so.*") where !builtins.contains(".alt.") {
            _ = DynamicLibrary.open(builtins)
        }
    }

    /// What `compile` produced: a cubin for the exact architecture, or PTX for the driver to finish.
    package struct Output: Sendable {
        package enum Kind: String, Sendable { case cubin, ptx }
        package let kind: Kind
        package let image: [UInt8]
        package let log: String
    }

    /// The target for a device of compute capability `major.minor`: `sm_XY` when NVRTC can emit it, else the
    /// newest `compute_XY` it knows that is not newer than the device (PTX, finished by the driver).
    package func target(forCapability major: Int, _ minor: Int) -> (option: String, kind: Output.Kind) {
        let wanted = major * 10 + minor
        if supportedArchitectures.isEmpty || supportedArchitectures.contains(wanted) {
            return ("--gpu-architecture=sm_\(wanted)", .cubin)
        }
        let best = supportedArchitectures.filter { $0 <= wanted }.max() ?? supportedArchitectures.min()!
        return ("--gpu-architecture=compute_\(best)", .ptx)
    }

    /// Compiles CUDA C++ `source`; throws with the compiler log on failure.
    package func compile(source: String, name: String, options: [String], kind: Output.Kind) throws(NVRTCError)
        -> Output
    {
        var program: LookoutNVRTCProgram? = nil
        try check(api.nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram")
        defer { _ = api.nvrtcDestroyProgram(&program) }
        let cStrings = options.map { strdup($0) }
        defer { for pointer in cStrings { free(pointer) } }
        let status = cStrings.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { options in
                api.nvrtcCompileProgram(program, Int32(options.count), options.baseAddress)
            }
        }
        var logSize = 0
        _ = api.nvrtcGetProgramLogSize(program, &logSize)
        var logBytes = [CChar](repeating: 0, count: max(logSize, 1))
        _ = api.nvrtcGetProgramLog(program, &logBytes)
        let log = String(decoding: logBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if status != 0 {
            throw NVRTCError(code: status, message: message(status), call: "nvrtcCompileProgram(\(name))", log: log)
        }
        var size = 0
        var image: [UInt8]
        if kind == .cubin, let getSize = api.nvrtcGetCUBINSize, let get = api.nvrtcGetCUBIN {
            try check(getSize(program, &size), "nvrtcGetCUBINSize")
            image = [UInt8](repeating: 0, count: size)
            try check(
                image.withUnsafeMutableBytes { get(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self)) },
                "nvrtcGetCUBIN")
            return Output(kind: .cubin, image: image, log: log)
        }
        try check(api.nvrtcGetPTXSize(program, &size), "nvrtcGetPTXSize")
        image = [UInt8](repeating: 0, count: size)
        try check(
            image.withUnsafeMutableBytes {
                api.nvrtcGetPTX(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self))
            }, "nvrtcGetPTX")
        return Output(kind: .ptx, image: image, log: log)
    }

    func message(_ status: Int32) -> String {
        api.nvrtcGetErrorString(status).map { String(cString: $0) } ?? "NVRTC error"
    }

    func check(_ status: Int32, _ call: String) throws(NVRTCError) {
        if status != 0 { throw NVRTCError(code: status, message: message(status), call: call, log: "") }
    }
}
