import LookoutCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A shared library opened with `dlopen`, kept open for the life of the process (the function tables that
/// point into it are global and `Sendable`).
package final class DynamicLibrary: Sendable {
    /// The path or soname that loaded.
    package let path: String
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    init(path: String, handle: UnsafeMutableRawPointer) {
        self.path = path
        self.handle = handle
    }

    /// Opens `path` (a file, or a bare soname for the dynamic linker's own search); the `dlerror` text on failure.
    static func open(_ path: String) -> Result<DynamicLibrary, LibraryAttempt.Failure> {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            return .failure(.init(reason: reason))
        }
        return .success(DynamicLibrary(path: path, handle: handle))
    }

    /// The address of `symbol`, or nil.
    func symbol(_ symbol: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, symbol)
    }

    /// The file the library was really loaded from: the first mapping in /proc/self/maps whose file name starts
    /// with the soname's stem (`libcuda.so`), or the path it was opened by.
    func resolvedPath() -> String {
        guard path.first != "/" else { return path }
        let stem = path.split(separator: ".so").first.map { String($0) + ".so" } ?? path
        guard let maps = FileBytes.readText("/proc/self/maps") else { return path }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let file = String(line[slash...])
            if file.split(separator: "/").last?.hasPrefix(stem) == true { return file }
        }
        return path
    }
}

/// Resolves a library's entry points into a function table: a missing required one is recorded and stands in as a
/// non-null placeholder that is never called, since `result` then fails the table as a whole.
final class SymbolResolver {
    let library: DynamicLibrary
    private(set) var missing: [String] = []

    init(_ library: DynamicLibrary) { self.library = library }

    func required<T>(_ name: String, _ type: T.Type) -> T {
        guard let pointer = library.symbol(name) else {
            missing.append(name)
            return unsafeBitCast(UnsafeMutableRawPointer(bitPattern: 0x1)!, to: type)
        }
        return unsafeBitCast(pointer, to: type)
    }

    func optional<T>(_ name: String, _ type: T.Type) -> T? {
        library.symbol(name).map { unsafeBitCast($0, to: type) }
    }

    /// The table, or the names of the required entry points the library lacks.
    func result<API>(_ api: API) -> Result<API, DriverSymbolsMissing> {
        missing.isEmpty ? .success(api) : .failure(DriverSymbolsMissing(library: library.path, symbols: missing))
    }
}
