#if canImport(Glibc)
    import Glibc

    private let posixRead = Glibc.read
    private let posixWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin

    private let posixRead = Darwin.read
    private let posixWrite = Darwin.write
#endif

/// Whole-file reads into a reusable buffer and whole-file writes, with errors that name the file.
package enum FileIO {
    /// Replaces `buffer`'s contents with the file's bytes, reusing its allocation when large enough.
    package static func read(path: String, into buffer: inout [UInt8]) throws(MediaError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unreadable(path, errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw unreadable(path, errno) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw MediaError(.unreadable, file: path, message: "is a directory, not an image file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            throw MediaError(.empty, file: path, message: "empty file (0 bytes); expected a JPEG or PNG image")
        }
        buffer.resize(to: size)
        let got: Int = buffer.withUnsafeMutableBytes { bytes in
            var done = 0
            while done < size {
                let n = posixRead(fd, bytes.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n < 0 ? -Int(errno) : done }
                done += n
            }
            return done
        }
        if got < 0 { throw unreadable(path, Int32(-got)) }
        // The file shrank while we read it: keep what is there.
        if got < size { buffer.removeLast(size - got) }
    }

    /// Writes `bytes` to `path`, replacing the file.
    package static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(MediaError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MediaError(.writeFailed, file: path, message: "cannot create file (\(describe(errno)))")
        }
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let code = errno
                close(fd)
                throw MediaError(.writeFailed, file: path, message: "cannot write file (\(describe(code)))")
            }
            done += n
        }
        if close(fd) != 0 {
            throw MediaError(.writeFailed, file: path, message: "cannot write file (\(describe(errno)))")
        }
    }

    private static func unreadable(_ path: String, _ code: Int32) -> MediaError {
        let hint = code == ENOENT ? "; check the path" : (code == EACCES ? "; check the file's permissions" : "")
        return MediaError(.unreadable, file: path, message: "cannot read file (\(describe(code)))\(hint)")
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
