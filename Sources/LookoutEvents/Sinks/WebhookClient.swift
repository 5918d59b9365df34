import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Why a delivery failed, in one line (`connection refused`, `timed out after 5 s`, `HTTP 503`).
public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One HTTP/1.1 POST over SwiftNIO (a fresh connection per request; webhooks are few and the receiver may restart).
enum WebhookClient {
    /// Posts `body` and returns the response status; throws on connection failure or when `timeout` seconds pass
    /// before the whole response has arrived.
    static func post(url: HTTPURL, headers: [(String, String)], body: [UInt8], timeout: Double)
        async throws(DeliveryError) -> Int
    {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeout * 1000)))
                .connect(host: url.host, port: url.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw DeliveryError(message: Self.describe(error))
        }
        let underlying = channel.channel
        do {
            return try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: url.target)
                        head.headers.add(name: "Host", value: url.port == 80 ? url.host : "\(url.host):\(url.port)")
                        head.headers.add(name: "Content-Type", value: "application/json")
                        head.headers.add(name: "Content-Length", value: String(body.count))
                        head.headers.add(name: "Connection", value: "close")
                        for (name, value) in headers { head.headers.add(name: name, value: value) }
                        try await outbound.write(.head(head))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                        try await outbound.write(.end(nil))
                        var status = 0
                        for try await part in inbound {
                            switch part {
                            case .head(let response): status = Int(response.status.code)
                            case .body: break
                            case .end: return status
                            }
                        }
                        guard status > 0 else { throw DeliveryError(message: "connection closed before a response") }
                        return status
                    }
                }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                    throw DeliveryError(message: "no response within \(TextFormat.fixed(timeout, digits: 1)) s")
                }
                defer {
                    group.cancelAll()
                    underlying.close(promise: nil)
                }
                return try await group.next()!
            }
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw DeliveryError(message: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        // Each address tried, with why (a host name may resolve to several); the first one's reason is enough.
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return describe(first.error) }
            return "cannot resolve host '\(connection.host)'"
        }
        if let io = error as? IOError {
            // errno's own words (ECONNREFUSED: "Connection refused").
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
        if error is ChannelError {
            switch error as! ChannelError {
            case .connectTimeout: return "connect timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

#if canImport(Glibc)
    import Glibc
#endif
