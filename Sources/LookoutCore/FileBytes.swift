#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads and writes through the C library (small files: reports, labels, /proc), with errors that name
/// the file and the system's reason.
package enum FileBytes {
    /// The file's bytes, or nil when it cannot be opened or read.
    package static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(file) != 0 { return nil }
                break
            }
        }
        return bytes
    }

    /// The file as UTF-8 text, or nil when it cannot be read.
    package static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `bytes` to `path` (replacing it), creating missing parent folders.
    package static func write(_ bytes: some Collection<UInt8>, to path: String) throws(FileError) {
        try Paths.createDirectories(Paths.directory(of: path))
        guard let file = fopen(path, "wb") else { throw FileError(path: path, operation: "cannot write", errno: errno) }
        defer { fclose(file) }
        let written = Array(bytes).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if written != bytes.count || fflush(file) != 0 {
            throw FileError(path: path, operation: "cannot write", errno: errno)
        }
    }

    /// Writes `text` as UTF-8.
    package static func write(_ text: String, to path: String) throws(FileError) {
        try write(Array(text.utf8), to: path)
    }
}

/// A file that could not be read or written: its path, what was tried, and the system's reason.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    public init(path: String, operation: String, errno code: Int32) {
        self.init(path: path, operation: operation, reason: String(cString: strerror(code)))
    }

    public var description: String { "\(path): \(operation) (\(reason))" }
}

/// Path arithmetic on strings (POSIX paths), and the few file-system questions the libraries ask.
package enum Paths {
    /// The last component: "a/b/c.jpg" → "c.jpg".
    package static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The folder: "a/b/c.jpg" → "a/b", "c.jpg" → ".".
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component without its extension: "a/b/c.tar.jpg" → "c.tar".
    package static func stem(_ path: String) -> String {
        let last = lastComponent(path)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return last }
        return String(last[..<dot])
    }

    /// The extension without the dot, lowercased: "a/B.JPG" → "jpg"; "" when none.
    package static func pathExtension(_ path: String) -> String {
        let last = lastComponent(path)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return "" }
        return String(last[last.index(after: dot)...]).lowercased()
    }

    /// `base/component`, without a doubled slash.
    package static func join(_ base: String, _ component: String) -> String {
        if base.isEmpty { return component }
        return base.hasSuffix("/") ? base + component : base + "/" + component
    }

    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    package static func isReadableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR && access(path, R_OK) == 0
    }

    /// Creates `path` and its missing parents.
    package static func createDirectories(_ path: String) throws(FileError) {
        if path.isEmpty || path == "." || isDirectory(path) { return }
        let parent = directory(of: path)
        if parent != path { try createDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FileError(path: path, operation: "cannot create the folder", errno: errno)
        }
    }

    /// The names in a folder (without "." and ".."), sorted; nil when it cannot be read.
    package static func contents(ofDirectory path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a file, or a folder with everything in it; no error when nothing is there.
    package static func removeItem(_ path: String) {
        if isDirectory(path) {
            for name in contents(ofDirectory: path) ?? [] { removeItem(join(path, name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// The absolute form of a path relative to the working directory.
    package static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return join(cwd, path)
    }

    /// Where a symbolic link points (e.g. /proc/self/exe), nil when `path` is not one.
    package static func resolvedLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { raw in
            String(decoding: UnsafeRawBufferPointer(start: raw.baseAddress, count: n), as: UTF8.self)
        }
    }
}
