#if canImport(Glibc)
    import Glibc
#endif

/// Whether a TCP port can be bound on an IPv4 address, checked before a run starts so that a port in use fails
/// the command at once (with its own words) rather than after the pipeline has begun.
enum PortProbe {
    /// nil when `host:port` can be bound (or `host` is not an IPv4 address, left to the server to report), else the
    /// system's reason.
    static func problem(host: String, port: Int) -> String? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var reuse: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0 ? nil : String(cString: strerror(errno))
    }
}
