import LookoutCore

/// An `http://host[:port]/path` URL, all a webhook needs. HTTPS is not built in (no TLS library in the binary): put a
/// TLS-terminating proxy on the receiving side, or on this host.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The path and query, starting with `/`.
    public var target: String

    public init(parsing text: String) throws(LookoutError) {
        guard text.hasPrefix("http://") else {
            let reason =
                text.hasPrefix("https://")
                ? "https is not supported (no TLS in the binary): use http:// to a local TLS-terminating proxy"
                : "must start with http://"
            throw LookoutError(.invalidArgument, "\(text): \(reason)", parameter: "url")
        }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        target = slash == rest.endIndex ? "/" : String(rest[slash...])
        var hostPart = Substring(authority)
        port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw LookoutError(.invalidArgument, "\(text): unclosed [ in the host", parameter: "url")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw LookoutError(.invalidArgument, "\(text): bad port", parameter: "url")
                }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw LookoutError(.invalidArgument, "\(text): bad port", parameter: "url")
            }
            port = p
            hostPart = authority[..<colon]
        }
        guard !hostPart.isEmpty, !hostPart.contains("@") else {
            throw LookoutError(.invalidArgument, "\(text): no host", parameter: "url")
        }
        host = String(hostPart)
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h)\(port == 80 ? "" : ":\(port)")\(target)"
    }
}
