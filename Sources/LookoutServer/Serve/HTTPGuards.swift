import Hummingbird
import LookoutCore
import NIOCore
import NIOHTTPTypes

/// Every error as JSON `{"error": "..."}` with the status that fits: the service's own `ServeError`s, Hummingbird's
/// (404 for an unknown path, 405, 413 for a body over the limit), and 500 for anything else.
struct JSONErrors<Context: RequestContext>: RouterMiddleware {
    /// The methods a path has (for 405 and `Allow` instead of 404 when only the method is wrong).
    let methods: @Sendable (String) -> [HTTPRequest.Method]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ServeError {
            return Self.response(status: .init(code: error.status), message: error.message)
        } catch let error as HTTPResponseError {
            let message: String
            switch error.status {
            case .notFound:
                let allowed = methods(request.uri.path)
                if !allowed.isEmpty {
                    return Self.response(
                        status: .methodNotAllowed,
                        message: "method \(request.method) not allowed on \(request.uri.path)",
                        headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
                }
                message = "no such path: \(request.method) \(request.uri.path)"
            case .contentTooLarge: message = "request body too large"
            case .methodNotAllowed: message = "method \(request.method) not allowed on \(request.uri.path)"
            default: message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            }
            var response = Self.response(status: error.status, message: message)
            if let http = error as? HTTPError {
                for field in http.headers where field.name != .contentType { response.headers.append(field) }
            }
            return response
        } catch {
            return Self.response(status: .internalServerError, message: "internal error: \(error)")
        }
    }

    static func response(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = JSONValue.object([("error", .string(message))]).render(pretty: false)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The bearer token on every path but the public ones: `Authorization: Bearer TOKEN`, or `access_token=TOKEN` in
/// the query for what cannot set a header (an `<img>`, an EventSource). Compared in constant time.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    let isPublic: @Sendable (String) -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if isPublic(request.uri.path) { return try await next(request, context) }
        var offered: Substring?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { offered = parts[1] }
        } else if let query = request.uri.queryParameters["access_token"] {
            offered = query
        }
        guard let offered, Self.equal(Array(offered.utf8), token) else {
            return JSONErrors<Context>.response(
                status: .unauthorized, message: "missing or wrong bearer token",
                headers: [.wwwAuthenticate: "Bearer realm=\"lookout\""])
        }
        return try await next(request, context)
    }

    /// Equal bytes, in a time that depends on the lengths only.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}

/// Cuts off a client that does not send a whole request within `seconds` of connecting or of the end of its
/// previous response (slow-loris): an idle timeout alone does not, since such a client sends a byte now and then.
final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    // Touched on the channel's event loop only.
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let seconds: Double
    private var timer: Scheduled<Void>?

    init(seconds: Double) { self.seconds = seconds }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            channel.close(promise: nil)
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
