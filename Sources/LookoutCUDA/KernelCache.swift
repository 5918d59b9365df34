import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Compiles CUDA C++ with NVRTC for one device and keeps the result on disk, keyed by the source, the options,
/// the target architecture, the driver version and the NVRTC version: a second process (or a second call) loads
/// the image instead of compiling.
package final class KernelCompiler: @unchecked Sendable {
    package let context: CUDAContext
    package let nvrtc: NVRTC
    /// The cache folder, or nil when caching is off.
    package let cacheDirectory: String?

    /// `$XDG_CACHE_HOME/lookout/nvrtc`, else `~/.cache/lookout/nvrtc` (`/tmp/lookout/nvrtc` without a home).
    package static func defaultCacheDirectory(environment: [String: String] = SystemInfo.environmentVariables) -> String
    {
        if let dir = environment["XDG_CACHE_HOME"], !dir.isEmpty { return Paths.join(dir, "lookout/nvrtc") }
        guard let home = environment["HOME"], !home.isEmpty else { return "/tmp/lookout/nvrtc" }
        return Paths.join(home, ".cache/lookout/nvrtc")
    }

    /// A compiler for `context`'s device; `cacheDirectory` nil turns the disk cache off.
    package init(context: CUDAContext, nvrtc: NVRTC, cacheDirectory: String? = KernelCompiler.defaultCacheDirectory()) {
        self.context = context
        self.nvrtc = nvrtc
        self.cacheDirectory = cacheDirectory
    }

    /// Where a module came from.
    package enum Origin: String, Sendable { case cache, compiled }

    /// The options every compilation gets besides the caller's: the target, and standard C++17. `architecture`
    /// (e.g. `sm_90a`, for architecture-specific instructions such as `wgmma`) replaces the target derived from the
    /// device; it always gives a cubin.
    func fullOptions(_ options: [String], architecture: String? = nil) -> (options: [String], kind: NVRTC.Output.Kind) {
        if let architecture { return (["--gpu-architecture=\(architecture)", "--std=c++17"] + options, .cubin) }
        let (capMajor, capMinor) = context.device.computeCapability
        let target = nvrtc.target(forCapability: capMajor, capMinor)
        return ([target.option, "--std=c++17"] + options, target.kind)
    }

    /// The cache key: a 128-bit hash of everything that changes the image.
    package static func cacheKey(source: String, options: [String], driverVersion: Int, nvrtcVersion: (Int, Int))
        -> String
    {
        var text = source
        text += "\u{0}" + options.joined(separator: "\u{1}")
        text += "\u{0}driver=\(driverVersion)\u{0}nvrtc=\(nvrtcVersion.0).\(nvrtcVersion.1)"
        let bytes = Array(text.utf8)
        return hex(fnv1a64(bytes, basis: 0xcbf2_9ce4_8422_2325)) + hex(fnv1a64(bytes, basis: 0x84222325_cbf29ce4))
    }

    static func fnv1a64(_ bytes: [UInt8], basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Compiles (or loads from the cache) and loads the module into the context. `architecture` overrides the
    /// device's target (see `fullOptions`); it is part of the cache key like every option.
    package func module(source: String, name: String, options: [String] = [], architecture: String? = nil) throws -> (
        module: CUDAModule, origin: Origin
    ) {
        let (all, kind) = fullOptions(options, architecture: architecture)
        let key = KernelCompiler.cacheKey(
            source: source, options: all, driverVersion: context.driver.version, nvrtcVersion: nvrtc.version)
        let file = cacheDirectory.map { Paths.join($0, "\(name)-\(key).\(kind.rawValue)") }
        if let file, let data = FileBytes.read(file), !data.isEmpty {
            // A damaged cache entry is recompiled rather than trusted.
            if let module = try? CUDAModule(context: context, image: data, kind: kind) {
                return (module, .cache)
            }
        }
        let output = try nvrtc.compile(source: source, name: name, options: all, kind: kind)
        let module = try CUDAModule(context: context, image: output.image, kind: output.kind)
        if let file, let directory = cacheDirectory {
            // Written aside and renamed, so a concurrent reader never sees half a file.
            let temporary = Paths.join(directory, ".\(name)-\(key).\(getpid()).tmp")
            if (try? FileBytes.write(output.image, to: temporary)) != nil {
                _ = rename(temporary, file)
            }
        }
        return (module, .compiled)
    }
}
